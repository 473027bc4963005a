"""Fixtures of the Dagster wiring tests: settings on a temp home, an ephemeral Dagster instance
and a seeded archive with a trained model (helpers live in :mod:`.support`).

The domain database comes from the ``engine`` fixture one level up, so every test using it runs
on SQLite and, when ``WEATHER_TRADER_TEST_POSTGRES_URL`` is set, on Postgres too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from weather_trader.core.cities import CITIES
from weather_trader.defs.forecasting import models
from weather_trader.defs.partitions import add_city_partitions
from weather_trader.demo import record_market_history
from weather_trader.settings import Settings
from weather_trader.sim.world import build_sim
from weather_trader_tests.defs.standin_models import standin_suite
from weather_trader_tests.defs.support import (
    CITY,
    DAY,
    HISTORY_DAYS,
    Pipeline,
    seed_history,
    seed_registry,
    verified_entries,
)


@pytest.fixture(autouse=True)
def light_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wiring tests fit the suite with light stand-in components (see standin_models)."""
    monkeypatch.setattr(models, "production_suite", standin_suite)


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """Sim-mode settings: a temp home (model store) and the parametrised domain database."""
    return Settings.from_env(
        {
            "WEATHER_TRADER_HOME": str(tmp_path / "home"),
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        }
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An in-memory Dagster instance with a city partition for every city, as discovering the
    sim exchange's series leaves it."""
    with dg.DagsterInstance.ephemeral() as inst:
        add_city_partitions(inst, CITIES)
        yield inst


@pytest.fixture
def pipeline(settings: Settings, engine: Engine, instance: dg.DagsterInstance) -> Pipeline:
    """NYC's archive for the ``HISTORY_DAYS`` before ``DAY`` (forecasts, reports, and the sim
    market recorded at the default instants), the models trained on it, and a registry with
    every series verified.

    Training stops two days before ``DAY``: the latest final report out when ``DAY`` is decided.
    """
    seed_history(engine, [CITY], DAY - timedelta(days=HISTORY_DAYS), DAY - timedelta(days=1))
    record_market_history(
        engine,
        build_sim(settings.sim_seed)[1],
        [CITY],
        DAY - timedelta(days=HISTORY_DAYS),
        DAY - timedelta(days=1),
        models.DEFAULT_INSTANTS,
    )
    seed_registry(engine, verified_entries())
    p = Pipeline(settings=settings, engine=engine, instance=instance)
    p.train(DAY - timedelta(days=2))
    return p

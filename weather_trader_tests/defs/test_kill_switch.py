"""The dashboard's kill switch and enabled cities reach the trading sensor and the orders asset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd
from sqlalchemy import Engine

from weather_trader.core.operator_settings import OperatorSettings, SettingsPatch, apply_patch
from weather_trader.defs.automation import trading_sensor
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    PaperBrokerResource,
    TradingConfigResource,
)
from weather_trader.defs.trading.assets import orders
from weather_trader.settings import Settings
from weather_trader.store import repo, repo_settings
from weather_trader.store.db import session_scope
from weather_trader.store.schemas import DistributionRecord
from weather_trader_tests.defs.support import key

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


def store_settings(engine: Engine, **changes: object) -> None:
    """Store operator settings as the dashboard does."""
    defaults = OperatorSettings.defaults_from(Settings.from_env({}))
    with session_scope(engine) as session:
        current = repo_settings.stored_settings(session, defaults)
        _, changed = apply_patch(current, SettingsPatch(**changes))
        repo_settings.save_settings(session, changed, "ops", NOW)


def store_distribution(engine: Engine, city: str, day: date) -> None:
    with session_scope(engine) as session:
        for kind in ("high", "low"):
            repo.replace_distribution(
                session,
                DistributionRecord(
                    city=city, climate_date=day, kind=kind, as_of=NOW - timedelta(hours=1),
                    method="test", model_version="test", mu=60.0, sigma=3.0, n_forecasts=5,
                ),
            )  # fmt: skip


def tick(settings: Settings, instance: dg.DagsterInstance) -> dg.SensorResult:
    resources = {
        "database": DatabaseResource(url=settings.resolved_database_url),
        "clock": ClockResource(fixed_now=NOW.isoformat()),
    }
    context = dg.build_sensor_context(resources=resources, instance=instance)
    result: dg.SensorResult = trading_sensor(context)
    return result


def test_the_sensor_stops_requesting_trades_within_one_tick(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    store_distribution(engine, "NYC", TODAY)
    store_distribution(engine, "LAX", TODAY)
    assert {r.partition_key for r in tick(settings, instance).run_requests} == {
        key("NYC", TODAY),
        key("LAX", TODAY),
    }

    store_settings(engine, kill_switch=True)
    halted = tick(settings, instance)
    assert not halted.run_requests
    assert halted.skip_reason is not None and "kill switch" in str(halted.skip_reason)

    store_settings(engine, kill_switch=False, cities_enabled=("LAX",))
    assert {r.partition_key for r in tick(settings, instance).run_requests} == {key("LAX", TODAY)}


def test_orders_sends_nothing_while_the_kill_switch_is_on(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    day = date(2026, 1, 15)
    taken = {
        "kind": "high", "event_ticker": "KXHIGHNY-26JAN15", "ticker": "KXHIGHNY-26JAN15-B45.5",
        "side": "yes", "count": 10, "ev_per_contract": "0.05", "cost": "4.00", "fee": "0.17",
        "as_of": datetime(2026, 1, 14, 15, 0, tzinfo=UTC), "p_model": 0.47, "price": "0.40",
        "edge": 0.07, "taken": True, "reason": "taken",
    }  # fmt: skip
    with session_scope(engine) as session:
        repo.replace_decisions(session, "NYC", day, pd.DataFrame([taken]))
    store_settings(engine, kill_switch=True)

    run = dg.materialize(
        [orders],
        partition_key=key("NYC", day),
        resources={
            "database": DatabaseResource(url=settings.resolved_database_url),
            "broker": PaperBrokerResource(),
            "clock": ClockResource(fixed_now=NOW.isoformat()),
            "trading": TradingConfigResource(),
        },
        instance=instance,
    )

    metadata = run.asset_materializations_for_node("orders")[0].metadata
    assert metadata["orders_held_by_kill_switch"].value == 1
    assert metadata["orders_sent"].value == 0
    with session_scope(engine) as session:
        assert repo.orders_for(session, city="NYC", day=day).empty


def test_trading_instants_give_one_run_per_instant(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    store_distribution(engine, "NYC", TODAY)
    # NOW is 15:00 EST (UTC-5) on the day: "D 08:00" has passed, "D 16:00" has not.
    store_settings(engine, cities_enabled=("NYC",), trading_instants=("D 08:00", "D 16:00"))
    first = tick(settings, instance)
    assert [(r.partition_key, r.tags["trigger"]) for r in first.run_requests] == [
        (key("NYC", TODAY), "instant")
    ]
    resources = {
        "database": DatabaseResource(url=settings.resolved_database_url),
        "clock": ClockResource(fixed_now=NOW.isoformat()),
    }
    again = trading_sensor(
        dg.build_sensor_context(resources=resources, instance=instance, cursor=first.cursor)
    )
    assert again.run_requests == []  # the same instant: no second run, whatever moves
    later = ClockResource(fixed_now=(NOW + timedelta(hours=2)).isoformat())
    after_16 = trading_sensor(
        dg.build_sensor_context(
            resources={**resources, "clock": later}, instance=instance, cursor=first.cursor
        )
    )
    assert len(after_16.run_requests) == 1
    assert after_16.run_requests[0].run_key != first.run_requests[0].run_key

"""Helpers of the Dagster wiring tests: a seeded archive, a trained model and partition runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from sqlalchemy import Engine, select

from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.gating import MeasuredEdge
from weather_trader.core.model_choice import training_known_at
from weather_trader.core.records import ClimateReport
from weather_trader.core.series_registry import VERIFIED_REASON, RegistryEntry
from weather_trader.definitions import build_definitions
from weather_trader.defs.forecasting.models import EVALUATION, WEATHER_ASSET, forecast_models
from weather_trader.defs.partitions import city_day_key
from weather_trader.defs.resources import build_resources
from weather_trader.settings import Settings
from weather_trader.sim.sources import history_frames
from weather_trader.sim.world import build_sim
from weather_trader.store import repo, repo_registry
from weather_trader.store.db import session_scope
from weather_trader.store.models import SettlementRow
from weather_trader.store.schemas import ModelVersionRecord

DAY = date(2026, 3, 10)
"""A settled climate day, far enough in the past that every report about it is out."""
HISTORY_DAYS = 60
"""Days of archive seeded before ``DAY`` (enough for the predictor's bias and spread)."""
CITY = "NYC"


def key(city: str, day: date) -> str:
    """The partition key string of ``city``'s climate day ``day``."""
    return str(city_day_key(city, day))


def seed_history(
    engine: Engine, cities: list[str], start: date, end: date, reports: bool = True
) -> None:
    """Append the sim's point-in-time forecast archive (deterministic models, leads 0-2) for
    the climate days ``start..end`` and, unless ``reports`` is False, their climate reports."""
    weather, _ = build_sim(Settings.from_env({}).sim_seed)
    forecasts, report_frame = history_frames(weather.world, cities, start, end, members=False)
    with session_scope(engine) as session:
        repo.append_forecast_frame(session, forecasts)
        if reports:
            repo.upsert_climate_reports(
                session, (ClimateReport(**row) for row in report_frame.to_dict("records"))
            )


def verified_entries(cities: list[str] | None = None) -> list[RegistryEntry]:
    """A registry whose every series of ``cities`` (default: all) is verified, as discovery
    finds the sim exchange's."""
    return [
        RegistryEntry(
            series_ticker=CITIES[code].series(kind),
            city=code,
            kind=kind,
            station=CITIES[code].station,
            cli_product=CITIES[code].cli_product,
            utc_offset=CITIES[code].std_utc_offset_hours,
            verified=True,
            reason=VERIFIED_REASON,
        )
        for code in sorted(cities or CITIES)
        for kind in KINDS
    ]


def seed_registry(engine: Engine, entries: list[RegistryEntry]) -> None:
    """Store ``entries`` as the discovered series registry."""
    with session_scope(engine) as session:
        repo_registry.save_registry(session, entries, datetime(2026, 1, 1, tzinfo=UTC))


def settlement_rows(engine: Engine, city: str, day: date) -> list[SettlementRow]:
    """The stored settlements of a city-day, by ticker and side."""
    with session_scope(engine) as session:
        stmt = (
            select(SettlementRow)
            .where(SettlementRow.city == city, SettlementRow.climate_date == day)
            .order_by(SettlementRow.ticker, SettlementRow.outcome_side)
        )
        return list(session.scalars(stmt))


@dataclass
class Pipeline:
    """A seeded archive with a trained model, and helpers to run partitions against it."""

    settings: Settings
    engine: Engine
    instance: dg.DagsterInstance
    model_version: str = ""
    resources: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resources = build_resources(self.settings)

    @property
    def definitions(self) -> dg.Definitions:
        """The code location bound to these settings."""
        return build_definitions(self.settings)

    def partitioned_assets(self) -> list[dg.AssetsDefinition]:
        """The partitioned assets ``pipeline_job`` runs (all but the archive backfill)."""
        return [
            a
            for a in self.definitions.assets
            if a.partitions_def is not None and a.key != dg.AssetKey("weather_archive")
        ]

    def train(self, train_end: date) -> dg.ExecuteInProcessResult:
        """Materialise the forecast models on the archive up to ``train_end``, and record an
        evaluation known from the same instant that measured an edge in every city (tests of
        the gate itself record their own: :meth:`record_evaluation`)."""
        result = dg.materialize(
            [forecast_models],
            resources=self.resources,
            instance=self.instance,
            run_config={"ops": {"forecast_models": {"config": {"train_end": str(train_end)}}}},
        )
        assert result.success
        materialized = {
            m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()
        }
        metadata = materialized[WEATHER_ASSET].materialization.metadata
        self.model_version = metadata["version"].value
        self.record_evaluation(train_end, brier_ours=0.40, brier_market=0.50)
        return result

    def record_evaluation(
        self,
        train_end: date,
        brier_ours: float,
        brier_market: float,
        events: int = 100,
        instants: tuple[str, ...] = ("D-1 16:00", "D 08:00"),
        diff_se: float = 0.01,
    ) -> str:
        """Store a forecast_evaluation version (as the asset would) with the same measured
        Briers for every city and instant; returns its version id."""
        version = f"evaluation-{train_end}-{brier_ours}-{brier_market}-{events}"
        edges = [
            MeasuredEdge(city, label, events, brier_ours, brier_market, diff_se).__dict__
            for city in CITIES
            for label in instants
        ]
        with session_scope(self.engine) as session:
            repo.save_model_version(
                session,
                ModelVersionRecord(
                    name=EVALUATION,
                    version=version,
                    created_at=training_known_at(train_end),
                    params={
                        "known_at": training_known_at(train_end).isoformat(),
                        "train_end": str(train_end),
                        "instants": list(instants),
                    },
                    metrics={"edges": edges, "min_events": 30},
                ),
            )
        return version

    def run(
        self, partition_key: str, raise_on_error: bool = True, **overrides: Any
    ) -> dg.ExecuteInProcessResult:
        """Materialise every partitioned asset for one partition; ``overrides`` replace
        resources by name."""
        return dg.materialize(
            self.partitioned_assets(),
            partition_key=partition_key,
            resources={**self.resources, **overrides},
            instance=self.instance,
            raise_on_error=raise_on_error,
        )

"""Each city-day's predictive distribution, from the newest forecast suite known at its instant.

The models themselves (``forecast_models``) and their walk-forward evaluation
(``forecast_evaluation``) live in :mod:`.models`; they are imported here so the code location
loads them with this module.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    AutomationCondition,
    MaterializeResult,
    asset,
)

from weather_trader.core.cities import KINDS
from weather_trader.core.climate_day import pipeline_as_of
from weather_trader.core.distribution import observed_bounds
from weather_trader.core.forecasting.cases import REPORT_COLUMNS, build_cases
from weather_trader.core.forecasting.suite import WEATHER, FittedSuite
from weather_trader.core.quality import SANE_MU_F, SANE_SIGMA_F, distribution_is_sane
from weather_trader.core.skill import pmf_summary
from weather_trader.defs.common import (
    KINDS_TAG,
    PARTITIONED,
    city_days,
    metadata_table,
    per_partition_results,
)
from weather_trader.defs.forecasting.models import (
    WEATHER_ASSET,
    WEEKLY_RETRAIN,
    forecast_evaluation,
    forecast_models,
    suite_chooser,
)
from weather_trader.defs.resources import ClockResource, DatabaseResource, ModelStoreResource
from weather_trader.store import repo
from weather_trader.store.schemas import DistributionRecord

__all__ = [
    "WEEKLY_RETRAIN",
    "forecast_evaluation",
    "forecast_models",
    "predict_weather",
    "temperature_distribution",
]

METHOD = "weather-suite"
"""The stored distribution's method: the weather stack's integer pmf."""
DISTRIBUTION_COLUMNS = {
    "kind": "string",
    "mu": "float",
    "sigma": "float",
    "floor": "float",
    "cap": "float",
    "n_forecasts": "int",
}
_NO_REPORTS = pd.DataFrame({c: [] for c in REPORT_COLUMNS})


def predict_weather(
    suite: FittedSuite, forecasts: pd.DataFrame, city: str, day: date, as_of: datetime
) -> dict[str, np.ndarray]:
    """The weather pmf of ``city``'s ``day`` for each kind, from the forecasts known at
    ``as_of`` (``repo.forecasts_as_of``); a NaN row when the suite has no inputs."""
    targets = pd.DataFrame(
        {"city": city, "kind": list(KINDS), "climate_date": day, "decided_at": as_of}
    )
    cases = build_cases(targets, forecasts, _NO_REPORTS)
    pmfs = suite.predict_pmfs(cases)[WEATHER]
    return {kind: pmfs[i] for i, kind in enumerate(KINDS)}


@asset(
    **PARTITIONED,
    deps=["forecast_snapshots", WEATHER_ASSET],
    group_name="forecasting",
    kinds=KINDS_TAG,
    automation_condition=AutomationCondition.eager(),
    description=(
        "The predictive distribution of the city-day's high and low: the weather stack's "
        "integer pmf (stored with its mean and standard deviation), from the newest suite "
        "known at the pipeline instant; bounded by the running max/min observed so far "
        "when priced."
    ),
    check_specs=[
        AssetCheckSpec(
            "distribution_is_sane",
            asset="temperature_distribution",
            blocking=True,
            description=(
                f"Every kind has a distribution; its mean within {SANE_MU_F} F and its "
                f"standard deviation within {SANE_SIGMA_F} F."
            ),
        )
    ],
)
def temperature_distribution(
    context: AssetExecutionContext,
    database: DatabaseResource,
    model_store: ModelStoreResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Predict each partition's high and low from what was known at its pipeline instant.

    The observations so far are stored as bounds (``floor``/``cap``), applied when brackets
    are priced. A kind the suite has no inputs for gets no distribution and fails the check.
    """
    suites = suite_chooser(database, model_store)
    now = clock.now()
    insane: list[str] = []
    made = 0
    own: dict[str, dict[str, Any]] = {}
    versions: set[str] = set()
    for city, day, key in city_days(context):
        as_of = pipeline_as_of(city, day, now)
        version, suite = suites.at(as_of)
        versions.add(version)
        rows: list[dict[str, Any]] = []
        figures: dict[str, Any] = {"model_version": version, "as_of": as_of.isoformat()}
        with database.session() as session:
            forecasts = repo.forecasts_as_of(session, city, day, as_of)
            seen = [
                o.temp_f
                for o in repo.observations_for(session, city, day)
                if o.observed_at <= as_of
            ]
            pmfs = predict_weather(suite, forecasts, city, day, as_of)
            for kind in KINDS:
                if not np.isfinite(pmfs[kind]).all():
                    insane.append(f"{key}/{kind}: no inputs")
                    continue
                bounds = observed_bounds(kind, seen)
                mu, sigma, extra = pmf_summary(pmfs[kind])
                n_forecasts = int((forecasts["kind"] == kind).sum())
                repo.replace_distribution(
                    session,
                    DistributionRecord(
                        city=city,
                        climate_date=day,
                        kind=kind,
                        as_of=as_of,
                        method=METHOD,
                        model_version=version,
                        mu=mu,
                        sigma=sigma,
                        n_forecasts=n_forecasts,
                        floor=bounds.floor,
                        cap=bounds.cap,
                        extra=extra,
                    ),
                )
                repo.append_event(
                    session,
                    "distribution",
                    {"kind": kind, "mu": round(mu, 2), "sigma": round(sigma, 2)},
                    city=city,
                    climate_date=day,
                    key=(kind, as_of, version),
                )
                made += 1
                figures[f"{kind}_mu"], figures[f"{kind}_sigma"] = mu, sigma
                rows.append(
                    {
                        "kind": kind,
                        "mu": round(mu, 2),
                        "sigma": round(sigma, 2),
                        "floor": bounds.floor,
                        "cap": bounds.cap,
                        "n_forecasts": n_forecasts,
                    }
                )
                if not distribution_is_sane(mu, sigma):
                    insane.append(f"{key}/{kind}")
        own[key] = {**figures, "distribution": metadata_table(rows, DISTRIBUTION_COLUMNS)}
    yield from per_partition_results(
        context,
        {"model_versions": ", ".join(sorted(versions)), "distributions": made},
        own,
        [
            AssetCheckResult(
                check_name="distribution_is_sane",
                passed=not insane,
                metadata={"insane": ", ".join(insane[:20]) or "none"},
            )
        ],
    )

"""The trained temperature model and each city-day's predictive distribution."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    AutomationCondition,
    Config,
    MaterializeResult,
    asset,
)

from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.climate_day import pipeline_as_of
from weather_trader.core.distribution import observed_bounds
from weather_trader.core.model_choice import (
    ModelCandidate,
    ModelChooser,
    model_version_id,
    training_known_at,
)
from weather_trader.core.predictor import PredictorParams, fit_predictor, predict_details
from weather_trader.core.quality import SANE_MU_F, SANE_SIGMA_F, distribution_is_sane
from weather_trader.defs.common import (
    KINDS_TAG,
    PARTITIONED,
    city_days,
    metadata_table,
    per_partition_results,
)
from weather_trader.defs.resources import ClockResource, DatabaseResource, ModelStoreResource
from weather_trader.store import repo
from weather_trader.store.schemas import DistributionRecord, ModelVersionRecord

MODEL_NAME = "temperature_model"


class TrainingConfig(Config):
    """Which history the model learns from.

    Attributes:
        train_end: Last climate day of the training window (ISO date); default yesterday.
            A backtest sets it before its first traded day so nothing leaks.
        lookback_days: Length of the training window in days.
    """

    train_end: str | None = None
    lookback_days: int = 365


DISTRIBUTION_COLUMNS = {
    "kind": "string",
    "mu": "float",
    "sigma": "float",
    "floor": "float",
    "cap": "float",
    "n_forecasts": "int",
}

# Weekly, whether or not `weather_archive` was backfilled since: the live pipeline keeps adding
# forecasts and final reports to the tables the model trains on (`on_cron` would wait for the
# archive asset, which nothing materialises under `make dev`).
WEEKLY_RETRAIN = (
    AutomationCondition.cron_tick_passed("0 6 * * 1", "UTC").since_last_handled()
    & ~AutomationCondition.in_progress()
).with_label("weekly_retrain(0 6 * * 1, UTC)")


@asset(
    deps=["weather_archive"],
    group_name="forecasting",
    kinds={"python", "pandas"},
    description=(
        "Predictor v1: per-model bias by city, kind and lead, and the spread of past errors of "
        "the bias-corrected multi-model mean. Trained on the point-in-time archive against final "
        "climate reports; retrained weekly."
    ),
    automation_condition=WEEKLY_RETRAIN,
    check_specs=[
        AssetCheckSpec(
            "beats_raw_mean",
            asset="temperature_model",
            blocking=True,
            description="The corrected mean's RMSE is no worse than the raw multi-model mean's.",
        )
    ],
)
def temperature_model(
    context: AssetExecutionContext,
    config: TrainingConfig,
    database: DatabaseResource,
    model_store: ModelStoreResource,
    clock: ClockResource,
) -> MaterializeResult:
    """Fit the predictor on the archive and store it as a new model version."""
    end = (
        date.fromisoformat(config.train_end)
        if config.train_end
        else clock.now().date() - timedelta(days=1)
    )
    start = end - timedelta(days=config.lookback_days - 1)
    with database.session() as session:
        history = repo.training_history(session, sorted(CITIES), start, end)
    params = fit_predictor(history)
    text = params.to_json()
    version = model_version_id(params.version, end, text)
    path = model_store.save(MODEL_NAME, version, text)
    summary = params.summary()
    metrics = params.metrics
    beats_baseline = metrics.beats_baseline
    known_at = training_known_at(end)
    with database.session() as session:
        repo.save_model_version(
            session,
            ModelVersionRecord(
                name=MODEL_NAME,
                version=version,
                created_at=clock.now(),
                params={
                    "artifact": str(path),
                    "train_start": start,
                    "train_end": end,
                    "known_at": known_at,
                },
                metrics={**summary, "beats_baseline": beats_baseline},
            ),
        )
        # The summary's own "version" is the predictor family; the stored version wins.
        repo.append_event(session, "model", {**summary, "version": version}, key=version)
    return MaterializeResult(
        metadata={
            **summary,
            "version": version,
            "artifact": str(path),
            "train_start": str(start),
            "train_end": str(end),
        },
        check_results=[
            AssetCheckResult(
                check_name="beats_raw_mean",
                passed=beats_baseline,
                metadata={"rmse_raw": metrics.rmse_raw, "rmse_corrected": metrics.rmse_corrected},
            )
        ],
    )


def model_chooser(database: DatabaseResource, model_store: ModelStoreResource) -> ModelChooser:
    """A chooser over the stored versions of the temperature model, newest first."""
    with database.session() as session:
        versions = repo.model_versions(session, MODEL_NAME)
    candidates = [
        ModelCandidate(
            version=v.version,
            known_at=datetime.fromisoformat(v.params["known_at"]),
            beats_baseline=bool(v.metrics.get("beats_baseline")),
        )
        for v in versions
    ]

    def load(version: str) -> PredictorParams:
        return PredictorParams.from_json(model_store.load(MODEL_NAME, version))

    return ModelChooser(candidates, load)


@asset(
    **PARTITIONED,
    deps=["forecast_snapshots", "temperature_model"],
    group_name="forecasting",
    kinds=KINDS_TAG,
    automation_condition=AutomationCondition.eager(),
    description=(
        "The predictive distribution of the city-day's high and low: normal in F, bounded by "
        "the running max/min observed so far once the climate day has begun."
    ),
    check_specs=[
        AssetCheckSpec(
            "distribution_is_sane",
            asset="temperature_distribution",
            blocking=True,
            description=f"mu within {SANE_MU_F} F and sigma within {SANE_SIGMA_F} F.",
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

    Once the climate day has begun, the running max (min) observed so far bounds the high (low).
    """
    models = model_chooser(database, model_store)
    now = clock.now()
    insane: list[str] = []
    made = 0
    own: dict[str, dict[str, Any]] = {}
    versions: set[str] = set()
    for city, day, key in city_days(context):
        as_of = pipeline_as_of(city, day, now)
        version, params = models.at(as_of)
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
            for kind in KINDS:
                bounds = observed_bounds(kind, seen)
                details = predict_details(params, forecasts, kind=kind)
                dist = details.distribution
                repo.replace_distribution(
                    session,
                    DistributionRecord(
                        city=city,
                        climate_date=day,
                        kind=kind,
                        as_of=as_of,
                        method="bias-corrected-mean",
                        model_version=version,
                        mu=dist.mu,
                        sigma=dist.sigma,
                        n_forecasts=int((forecasts["kind"] == kind).sum()),
                        floor=bounds.floor,
                        cap=bounds.cap,
                        extra={
                            "raw_mean": details.raw_mean,
                            "model_spread": details.model_spread,
                            "lead_days": details.lead_days,
                        },
                    ),
                )
                repo.append_event(
                    session,
                    "distribution",
                    {"kind": kind, "mu": round(dist.mu, 2), "sigma": round(dist.sigma, 2)},
                    city=city,
                    climate_date=day,
                    key=(kind, as_of, version),
                )
                made += 1
                figures[f"{kind}_mu"], figures[f"{kind}_sigma"] = dist.mu, dist.sigma
                rows.append(
                    {
                        "kind": kind,
                        "mu": round(dist.mu, 2),
                        "sigma": round(dist.sigma, 2),
                        "floor": bounds.floor,
                        "cap": bounds.cap,
                        "n_forecasts": int((forecasts["kind"] == kind).sum()),
                    }
                )
                if not distribution_is_sane(dist.mu, dist.sigma):
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

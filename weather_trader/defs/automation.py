"""Jobs, schedules and sensors: what runs when.

- Forecasts are pulled on a schedule for the live partitions (today and tomorrow per city),
  and by ``live_refresh_sensor`` as soon as a live partition's distribution is missing or older
  than the schedule's period (at start-up, or after a missed tick).
- ``automation_sensor`` (running by default) evaluates the assets' automation conditions: the
  weekly retrain of the forecast models (``forecast_models``), the evaluation after it and the
  eager ``temperature_distribution``.
- Trading runs are sensor-triggered, one city-day per run: a new distribution or a price move.
- A new final climate report is noticed by a sensor that triggers settlement.
- ``pipeline_job`` materialises the whole partitioned graph; backfills and the demo run it over
  ranges of city-days (``BackfillPolicy.single_run``; ``partitions.city_day_ranges``).
- ``registry_job`` discovers the exchange's temperature series (``series_registry``): daily by
  ``registry_schedule``, and at once by ``registry_startup_sensor`` in an instance that has
  never run it. Its verified cities are the city partitions every schedule and sensor here
  iterates, read from the instance on each tick, so a new city is picked up with no code change.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from dagster import (
    MAX_RUNTIME_SECONDS_TAG,
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    schedule,
    sensor,
)

from weather_trader.core.cities import KINDS
from weather_trader.core.climate_day import climate_date_of
from weather_trader.core.operator_settings import latest_instant
from weather_trader.core.quality import distributions_stale
from weather_trader.core.retrading import moved_markets
from weather_trader.defs.forecasting.models import EVALUATION, MODEL_ASSETS
from weather_trader.defs.partitions import city_day_key, registered_cities
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    WeatherSourceResource,
)
from weather_trader.store import repo, repo_proposals

# Dagster tags every single-partition run with its key (PARTITION_TAG), whatever launched it (a
# sensor, the launchpad, the asset graph's Materialize, a backfill). dagster.yaml limits runs with
# the same value of this tag to one at a time, so two trading runs of one city-day never decide
# from the same positions concurrently (and none trades on a half-written forecast run of its day).
TRADING_RUN_MAX_SECONDS = 900
LIVE_REFRESH_AGE = timedelta(hours=3, minutes=30)
"""A live distribution older than this is refreshed (the forecast schedule runs every 3 h)."""

forecast_job = define_asset_job(
    "forecast_job",
    selection=AssetSelection.assets(
        "forecast_snapshots", "intraday_observations", "temperature_distribution"
    ),
    description="Pull forecasts and observations and update the predictive distribution.",
)
trading_job = define_asset_job(
    "trading_job",
    selection=AssetSelection.assets(
        "kalshi_markets", "bracket_probabilities", "trade_decisions", "orders"
    ),
    description="Snapshot markets, price brackets, decide and execute.",
    # Run monitoring fails a trading run still going after this long (a killed worker included),
    # which frees its kalshi_api slot for the next one; a healthy run takes seconds.
    tags={MAX_RUNTIME_SECONDS_TAG: TRADING_RUN_MAX_SECONDS},
)
settlement_job = define_asset_job(
    "settlement_job",
    selection=AssetSelection.assets("climate_reports", "settlements", "forecast_scores"),
    description="Store the climate report, settle positions and score the forecasts.",
)
archive_backfill_job = define_asset_job(
    "archive_backfill_job",
    selection=AssetSelection.assets("weather_archive"),
    description="Backfill the archive (forecasts as published, climate reports) for past days.",
)
MODEL_SELECTION = AssetSelection.assets(*MODEL_ASSETS, EVALUATION)
pipeline_job = define_asset_job(
    "pipeline_job",
    selection=AssetSelection.all()
    - MODEL_SELECTION
    - AssetSelection.assets("weather_archive", "backtest_report", "series_registry"),
    description="The whole partitioned graph, for backfills and replays over ranges.",
)
model_job = define_asset_job(
    "model_job",
    selection=MODEL_SELECTION,
    description="Retrain the forecast models and measure them against the market.",
)
registry_job = define_asset_job(
    "registry_job",
    selection=AssetSelection.assets("series_registry"),
    description="Discover the exchange's temperature series, verify their stations, and add "
    "a city partition for every city with a verified series.",
)
JOBS = [
    forecast_job,
    trading_job,
    settlement_job,
    pipeline_job,
    model_job,
    archive_backfill_job,
    registry_job,
]


def live_partitions(cities: Iterable[str], now: datetime) -> Iterator[tuple[str, str]]:
    """``(city, partition_key)`` of each of ``cities``' current and next climate day."""
    for code in sorted(cities):
        today = climate_date_of(code, now)
        for day in (today, today + timedelta(days=1)):
            yield code, city_day_key(code, day)


@schedule(
    cron_schedule="20 */3 * * *",
    job=forecast_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every 3 hours: forecasts for each city's today and tomorrow.",
)
def forecast_schedule(context: ScheduleEvaluationContext) -> list[RunRequest]:
    """One run per live partition, keyed by the tick so a retried tick does not duplicate."""
    stamp = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    return [
        RunRequest(run_key=f"forecast:{key}:{stamp}", partition_key=key)
        for _, key in live_partitions(
            registered_cities(context.instance), context.scheduled_execution_time
        )
    ]


automation_sensor = AutomationConditionSensorDefinition(
    "automation_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Evaluates the automation conditions: weekly retrain and evaluation, eager distribution."
    ),
)


@sensor(
    job=forecast_job,
    minimum_interval_seconds=120,
    default_status=DefaultSensorStatus.RUNNING,
    description="Pulls forecasts for a live city-day whose distribution is missing or stale.",
)
def live_refresh_sensor(
    context: SensorEvaluationContext,
    database: DatabaseResource,
    clock: ClockResource,
) -> SensorResult:
    """One forecast run per live partition without a fresh distribution of both kinds.

    Keyed by the hour, so a partition whose run fails is retried hourly, not every tick.
    """
    now = clock.now()
    requests = []
    for city, key in live_partitions(registered_cities(context.instance), now):
        day = date.fromisoformat(key.keys_by_dimension["date"])
        with database.session() as session:
            dists = [repo.distribution_for(session, city, day, k) for k in KINDS]
        if distributions_stale((d.as_of if d else None for d in dists), now, LIVE_REFRESH_AGE):
            requests.append(
                RunRequest(
                    run_key=f"refresh:{key}:{now:%Y%m%dT%H}",
                    partition_key=key,
                    tags={"trigger": "missing_or_stale"},
                )
            )
    return SensorResult(run_requests=requests)


@sensor(
    job=trading_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Trades a live city-day when its distribution is new or a market's mid moved.",
)
def trading_sensor(
    context: SensorEvaluationContext,
    database: DatabaseResource,
    clock: ClockResource,
) -> SensorResult:
    """Compare each live partition's distribution and recorded books with the last run's.

    Books come from the database, where the feed (``weather-trader feed``) records them as
    they change; the sensor itself never calls the exchange.
    """
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    now = clock.now()
    operator = database.operator_settings()  # the dashboard's kill switch and cities
    if operator.kill_switch:
        return SensorResult(skip_reason="the kill switch is on", cursor=context.cursor)
    requests = []
    # Only live partitions are remembered: past days drop out instead of growing the cursor.
    live: dict[str, str] = {}
    for city, key in live_partitions(registered_cities(context.instance), now):
        if city not in operator.cities_enabled:
            continue
        day = date.fromisoformat(key.keys_by_dimension["date"])
        with database.session() as session:
            dists = [repo.distribution_for(session, city, day, k) for k in KINDS]
            priced = repo.bracket_probabilities_for(session, city, day)
            latest = {
                s.ticker: s for k in KINDS for s in repo.market_snapshots(session, city, day, k)
            }
        if any(d is None for d in dists):
            continue  # nothing to trade on until the forecast run has produced a distribution
        if operator.trading_instants:  # the dashboard's instants: one run at each, no other
            due = latest_instant(operator.trading_instants, city, day, now)
            if due is None:
                continue  # before the day's first instant
            at = f"at:{due.isoformat()}"
            if seen.get(str(key)) != at:
                requests.append(
                    RunRequest(
                        run_key=f"trade:{key}:{at}", partition_key=key, tags={"trigger": "instant"}
                    )
                )
            live[str(key)] = at
            continue
        stamp = max(d.as_of for d in dists).isoformat()
        moved = moved_markets(priced.itertuples(index=False), latest)
        if seen.get(str(key)) != stamp or moved:
            reason = "price_move" if seen.get(str(key)) == stamp else "new_distribution"
            requests.append(
                RunRequest(
                    run_key=f"trade:{key}:{stamp}:{now:%Y%m%dT%H%M}",
                    partition_key=key,
                    tags={"trigger": reason},
                )
            )
        live[str(key)] = stamp
    return SensorResult(run_requests=requests, cursor=json.dumps(live, sort_keys=True))


@sensor(
    job=settlement_job,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Notices a new final climate report and settles that city-day.",
)
def climate_report_sensor(
    context: SensorEvaluationContext,
    database: DatabaseResource,
    weather: WeatherSourceResource,
    clock: ClockResource,
) -> SensorResult:
    """One settlement run per final report not yet stored (keyed by its issue time)."""
    now, source = clock.now(), weather.client()
    requests = []
    for city in registered_cities(context.instance):
        today = climate_date_of(city, now)
        for day in (today - timedelta(days=2), today - timedelta(days=1)):
            finals = [r for r in source.climate_reports(city, day, now) if r.final]
            if not finals:
                continue
            newest = max(finals, key=lambda r: r.issued_at)
            with database.session() as session:
                stored = repo.final_report(session, city, day)
            if stored is None or stored.issued_at < newest.issued_at:
                key = city_day_key(city, day)
                requests.append(
                    RunRequest(
                        run_key=f"cli:{key}:{newest.issued_at.isoformat()}", partition_key=key
                    )
                )
    return SensorResult(run_requests=requests)


@sensor(
    job=trading_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Places approved proposals (manual-approval mode): an orders run per city-day.",
)
def approval_sensor(
    context: SensorEvaluationContext,
    database: DatabaseResource,
    clock: ClockResource,
) -> SensorResult:
    """One ``orders``-only run per city-day with approved, unexpired proposals not yet placed.

    Only ``orders`` runs: re-deciding would give new decision instants, hence new client order
    ids, and the approved ones would no longer match. Keyed by the latest approval, so each
    approval triggers one run.
    """
    with database.session() as session:
        awaiting = repo_proposals.approved_awaiting_order(session, clock.now())
    latest: dict[str, datetime] = {}
    for p in awaiting:
        key = str(city_day_key(p.city, p.climate_date))
        decided = p.decided_at or p.created_at
        latest[key] = max(latest.get(key, decided), decided)
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"approved:{key}:{at.isoformat()}",
                partition_key=key,
                asset_selection=[AssetKey("orders")],
                tags={"trigger": "approved_proposal"},
            )
            for key, at in sorted(latest.items())
        ]
    )


REGISTRY_ASSET = AssetKey("series_registry")


@schedule(
    cron_schedule="30 9 * * *",
    execution_timezone="America/New_York",
    job=registry_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Daily, before Kalshi lists the next day's markets (10:00 ET): rediscover the "
    "temperature series; a new verified city becomes partitions the other automation picks up.",
)
def registry_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """One discovery run a day, keyed by the tick."""
    return RunRequest(run_key=f"registry:{context.scheduled_execution_time:%Y%m%d}")


@sensor(
    job=registry_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Discovers the series at once in an instance that never has: without the "
    "registry there are no city partitions, so nothing else would be scheduled until the "
    "daily tick.",
)
def registry_startup_sensor(context: SensorEvaluationContext, clock: ClockResource) -> SensorResult:
    """A discovery run while ``series_registry`` was never materialised in this instance.

    Keyed by the hour, so a failed discovery (exchange unreachable) is retried hourly.
    """
    if context.instance.get_latest_materialization_event(REGISTRY_ASSET) is not None:
        return SensorResult(skip_reason="the registry has been discovered")
    now = clock.now()
    return SensorResult(
        run_requests=[
            RunRequest(run_key=f"registry:startup:{now:%Y%m%dT%H}", tags={"trigger": "startup"})
        ]
    )

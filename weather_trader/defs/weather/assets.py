"""Forecast snapshots, intraday observations and climate reports: the weather inputs."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    FreshnessPolicy,
    MaterializeResult,
    asset,
)
from sqlalchemy.orm import Session

from weather_trader.core.cities import KINDS, outside_records
from weather_trader.core.climate_day import climate_day_window, pipeline_as_of
from weather_trader.core.ports import WeatherSource
from weather_trader.core.quality import (
    REPORT_OBSERVATION_TOLERANCE_F,
    forecasts_stale,
    report_disagrees,
)
from weather_trader.defs.common import KINDS_TAG, PARTITIONED, city_days, per_partition_results
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    TradingConfigResource,
    WeatherSourceResource,
)
from weather_trader.store import repo


@asset(
    **PARTITIONED,
    group_name="weather",
    kinds=KINDS_TAG,
    pool="weather_api",
    freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=12)),
    description=(
        "Point-in-time forecast archive: every pull of every source/model/member for the "
        "city's climate day, appended with issue and retrieval time; history is never overwritten."
    ),
    check_specs=[
        AssetCheckSpec(
            "forecasts_fresh",
            asset="forecast_snapshots",
            blocking=True,
            description="Each city-day has high and low forecasts recent enough to trade on.",
        ),
        AssetCheckSpec(
            "forecasts_plausible",
            asset="forecast_snapshots",
            blocking=True,
            description="No forecast lies beyond the city's all-time records by the margin.",
        ),
        AssetCheckSpec(
            "all_sources_present",
            asset="forecast_snapshots",
            description="Every provider of the weather source answered for every city-day.",
        ),
    ],
)
def forecast_snapshots(
    context: AssetExecutionContext,
    database: DatabaseResource,
    weather: WeatherSourceResource,
    clock: ClockResource,
    trading: TradingConfigResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Pull the latest forecasts for each partition as of its pipeline instant and archive them."""
    source, now = weather.client(), clock.now()
    max_age = timedelta(hours=trading.max_forecast_age_hours)
    new_rows = total = payloads = 0
    stale: list[str] = []
    impossible: list[str] = []
    missing: list[str] = []
    models: set[str] = set()
    own: dict[str, dict[str, int]] = {}
    for city, day, key in city_days(context):
        as_of = pipeline_as_of(city, day, now)
        points = source.forecasts(city, day, as_of)
        with database.session() as session:
            added = repo.append_forecasts(session, points)
            payloads += keep_payloads(session, source, city)
        new_rows += added
        total += len(points)
        models |= {p.model for p in points}
        own[key] = {
            "points_pulled": len(points),
            "points_new": added,
            "models": len({p.model for p in points}),
        }
        impossible += [f"{key} {v:g}" for v in outside_records(city, (p.value_f for p in points))]
        absent = set(source.sources) - {p.source for p in points}
        missing += [f"{key}/{name}" for name in sorted(absent)]
        for kind in KINDS:
            if forecasts_stale((p.issued_at for p in points if p.kind == kind), as_of, max_age):
                stale.append(f"{key}/{kind}")
    run_totals = {
        "partitions": len(context.partition_keys),
        "points_pulled": total,
        "points_new": new_rows,
        "models": len(models),
        "raw_payloads_new": payloads,
    }
    checks = [
        AssetCheckResult(
            check_name="forecasts_fresh",
            passed=not stale,
            severity=AssetCheckSeverity.ERROR,
            metadata={"stale": ", ".join(stale[:20]) or "none", "stale_count": len(stale)},
        ),
        _listing_check("forecasts_plausible", impossible, AssetCheckSeverity.ERROR),
        _listing_check("all_sources_present", missing, AssetCheckSeverity.WARN),
    ]
    yield from per_partition_results(context, run_totals, own, checks)


def keep_payloads(session: Session, source: WeatherSource, city: str) -> int:
    """Store the source's raw responses since the last call, in the caller's transaction."""
    return sum(
        repo.store_raw_payload(
            session,
            source=p.source,
            url=p.url,
            retrieved_at=p.retrieved_at,
            status=p.status,
            content_type=p.content_type,
            body=p.body,
            city=city,
        )
        for p in source.drain_payloads()
    )


def _listing_check(
    name: str, problems: list[str], severity: AssetCheckSeverity
) -> AssetCheckResult:
    """A check that passes when ``problems`` is empty and lists the first of them otherwise."""
    return AssetCheckResult(
        check_name=name,
        passed=not problems,
        severity=severity,
        metadata={"problems": ", ".join(problems[:20]) or "none", "count": len(problems)},
    )


@asset(
    **PARTITIONED,
    group_name="weather",
    kinds=KINDS_TAG,
    pool="weather_api",
    description="Station observations inside the climate-day window, with the running max/min.",
    check_specs=[
        AssetCheckSpec(
            "observations_plausible",
            asset="intraday_observations",
            blocking=True,
            description="No observation lies beyond the city's all-time records by the margin.",
        )
    ],
)
def intraday_observations(
    context: AssetExecutionContext,
    database: DatabaseResource,
    weather: WeatherSourceResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Store each day's observations known so far (the whole window once the day is over)."""
    source, now = weather.client(), clock.now()
    stored = 0
    own: dict[str, dict[str, float | int]] = {}
    impossible: list[str] = []
    for city, day, key in city_days(context):
        start, end = climate_day_window(city, day)
        if now <= start:
            continue
        obs = source.observations(city, start, min(end, now))
        impossible += [f"{key} {v:g}" for v in outside_records(city, (o.temp_f for o in obs))]
        with database.session() as session:
            count = repo.replace_observations(session, city, day, obs)
            keep_payloads(session, source, city)
        stored += count
        own[key] = {"observations": count}
        if obs:
            own[key] |= {"max": max(o.temp_f for o in obs), "min": min(o.temp_f for o in obs)}
    check = _listing_check("observations_plausible", impossible, AssetCheckSeverity.ERROR)
    yield from per_partition_results(context, {"observations": stored}, own, [check])


@asset(
    **PARTITIONED,
    # The check compares the final report with the stored observations: in a run with both,
    # they must be stored first (without this edge Dagster ran climate_reports first).
    deps=["intraday_observations"],
    group_name="weather",
    kinds=KINDS_TAG,
    pool="weather_api",
    description=(
        "Daily Climate Reports (preliminary and final) for the climate day: the truth label. "
        "A correction replaces the report it corrects."
    ),
    check_specs=[
        AssetCheckSpec(
            "report_matches_observations",
            asset="climate_reports",
            description=(
                f"The final report's max/min is within {REPORT_OBSERVATION_TOLERANCE_F:g} F of "
                "the observed running max/min."
            ),
        ),
        AssetCheckSpec(
            "reports_plausible",
            asset="climate_reports",
            blocking=True,
            description="No reported max/min lies beyond the city's records by the margin.",
        ),
    ],
)
def climate_reports(
    context: AssetExecutionContext,
    database: DatabaseResource,
    weather: WeatherSourceResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Store every report issued so far; check finals against the observations."""
    source, now = weather.client(), clock.now()
    finals = changed = 0
    disagreements: list[str] = []
    impossible: list[str] = []
    own: dict[str, dict[str, Any]] = {}
    for city, day, key in city_days(context):
        reports = source.climate_reports(city, day, now)
        values = [v for r in reports for v in (r.max_f, r.min_f) if v is not None]
        impossible += [f"{key} {v}" for v in outside_records(city, values)]
        with database.session() as session:
            day_changed = repo.upsert_climate_reports(session, reports)
            keep_payloads(session, source, city)
            final = repo.final_report(session, city, day)
            obs = repo.observations_for(session, city, day)
        changed += day_changed
        own[key] = {"reports_changed": day_changed, "final_report": final is not None}
        if final is None:
            continue
        finals += 1
        own[key] |= {"final_max_f": final.max_f, "final_min_f": final.min_f}
        if report_disagrees(final, [o.temp_f for o in obs]):
            disagreements.append(key)
    checks = [
        AssetCheckResult(
            check_name="report_matches_observations",
            passed=not disagreements,
            severity=AssetCheckSeverity.WARN,
            metadata={"disagreements": ", ".join(disagreements[:20]) or "none"},
        ),
        _listing_check("reports_plausible", impossible, AssetCheckSeverity.ERROR),
    ]
    run_totals = {"reports_changed": changed, "final_reports": finals}
    yield from per_partition_results(context, run_totals, own, checks)


@asset(
    **PARTITIONED,
    group_name="weather",
    kinds=KINDS_TAG,
    pool="weather_api",
    description=(
        "Historical backfill of the point-in-time archive: forecasts as they were published "
        "(issue and availability times kept, so training has no look-ahead) and the final "
        "climate reports of past days. Idempotent and resumable: re-running adds nothing."
    ),
)
def weather_archive(
    context: AssetExecutionContext,
    database: DatabaseResource,
    weather: WeatherSourceResource,
    clock: ClockResource,
) -> MaterializeResult:
    """Fetch each run of consecutive days of a city from the source's history in one call.

    Only what was published by now is kept: the archive never holds a future.
    """
    source, now = weather.client(), clock.now()
    new_forecasts = reports = 0
    for city, start, end in consecutive_ranges(city_days(context)):
        forecasts, history_reports = source.history(city, start, end)
        forecasts = forecasts[forecasts["retrieved_at"] <= now]
        extra = [
            p
            for h in weather.history_providers()
            for p in h.history(city, start, end, now=clock.now)
        ]
        with database.session() as session:
            new_forecasts += repo.append_forecast_frame(session, forecasts)
            new_forecasts += repo.append_forecasts(session, extra)
            reports += repo.upsert_climate_reports(
                session, [r for r in history_reports if r.issued_at <= now]
            )
            keep_payloads(session, source, city)
        context.log.info("archived %s %s..%s", city, start, end)
    return MaterializeResult(
        metadata={
            "partitions": len(context.partition_keys),
            "forecast_rows_new": new_forecasts,
            "climate_reports_changed": reports,
        }
    )


def consecutive_ranges(partitions: list[tuple[str, date, str]]) -> list[tuple[str, date, date]]:
    """``(city, first_day, last_day)`` for each run of consecutive days of one city."""
    ranges: list[tuple[str, date, date]] = []
    for city, day, _ in sorted(partitions):
        if ranges and ranges[-1][0] == city and ranges[-1][2] == day - timedelta(days=1):
            ranges[-1] = (city, ranges[-1][1], day)
        else:
            ranges.append((city, day, day))
    return ranges

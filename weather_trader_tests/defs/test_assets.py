"""Single assets invoked directly, for behaviour a whole-graph run cannot isolate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import func, select

from weather_trader.core.records import ForecastPoint, RawPayload
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    SimWeatherResource,
    TradingConfigResource,
    WeatherSourceResource,
)
from weather_trader.defs.weather.assets import forecast_snapshots, weather_archive
from weather_trader.settings import Settings
from weather_trader.sim.world import build_sim
from weather_trader.sources.errors import MalformedResponse
from weather_trader.store import repo
from weather_trader.store.db import make_engine, session_scope
from weather_trader.store.models import ClimateReportRow, ForecastRow
from weather_trader_tests.defs.support import CITY, DAY, key

T0 = datetime(2026, 11, 26, 15, tzinfo=UTC)


class _FirstDayOnly:
    """The sim's forecasts for ``DAY``; nothing for any other day (a source outage)."""

    def __init__(self) -> None:
        self.sim = build_sim(7)[0]

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[ForecastPoint]:
        return self.sim.forecasts(city, day, as_of) if day == DAY else []

    def drain_payloads(self) -> list[RawPayload]:
        # One response per pull, as a real source would capture it.
        body = b'{"daily": {"temperature_2m_max": [51.2]}}'
        return [
            RawPayload("open-meteo", "https://x/v1/forecast", T0, 200, "application/json", body)
        ]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sim, name)


SIM_WEATHER = SimWeatherResource(sim_seed=Settings.model_fields["sim_seed"].default)


class _OutageWeather(WeatherSourceResource):
    def client(self) -> _FirstDayOnly:  # type: ignore[override]
        return _FirstDayOnly()


def test_forecast_snapshots_reports_the_whole_range(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    first, last = key(CITY, DAY), key(CITY, DAY + timedelta(1))
    run = dg.materialize(
        [forecast_snapshots],
        resources={
            "database": DatabaseResource(url=settings.resolved_database_url),
            "weather": _OutageWeather(),
            "clock": ClockResource(),
            "trading": TradingConfigResource(),
        },
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last),
        },
        raise_on_error=False,
    )
    # The run's output materialises both days with the run totals; then each day reports its own.
    materialized = run.asset_materializations_for_node("forecast_snapshots")
    result, per_day = materialized[0], materialized[2:]

    assert result.metadata["partitions"].value == 2
    assert result.metadata["points_pulled"].value > 0
    # The models of every partition, not only of the last one (which had none).
    assert result.metadata["models"].value == 4
    checks = {c.check_name: c for c in run.get_asset_check_evaluations()}
    assert checks["forecasts_fresh"].passed is False
    stale = checks["forecasts_fresh"].metadata["stale"].value
    assert stale == f"{last}/high, {last}/low"
    # The silent day is also a missing provider; nothing pulled was impossible.
    assert checks["all_sources_present"].metadata["problems"].value == f"{last}/sim"
    assert checks["forecasts_plausible"].passed is True
    # Each city-day also reports its own figures: the second day pulled nothing.
    assert [m.partition for m in per_day] == [str(first), str(last)]
    assert per_day[0].metadata["points_pulled"].value > 0
    assert per_day[1].metadata["points_pulled"].value == 0
    # The raw responses are kept, compressed, once per distinct body.
    assert result.metadata["raw_payloads_new"].value == 1
    with session_scope(make_engine(settings.resolved_database_url)) as session:
        kept = repo.raw_payloads(session, "open-meteo", T0, T0 + timedelta(seconds=1))
    assert [body for _, _, body in kept] == [b'{"daily": {"temperature_2m_max": [51.2]}}']


def _archive(
    settings: Settings,
    weather: WeatherSourceResource,
    now: datetime,
    instance: dg.DagsterInstance,
) -> Any:
    context = dg.build_asset_context(
        partition_key_range=dg.PartitionKeyRange(key(CITY, DAY), key(CITY, DAY + timedelta(9))),
        instance=instance,  # holds the city partitions
    )
    return weather_archive(
        context,
        database=DatabaseResource(url=settings.resolved_database_url),
        weather=weather,
        clock=ClockResource(fixed_now=now.isoformat()),
    )


def _archived(settings: Settings) -> tuple[int, int, datetime | None]:
    with session_scope(make_engine(settings.resolved_database_url)) as session:
        forecasts = session.scalar(select(func.count()).select_from(ForecastRow)) or 0
        reports = session.scalar(select(func.count()).select_from(ClimateReportRow)) or 0
        latest = session.scalar(select(func.max(ForecastRow.retrieved_at)))
    return forecasts, reports, latest


def test_weather_archive_is_idempotent_and_never_holds_the_future(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    now = datetime.combine(DAY + timedelta(days=5), datetime.min.time(), UTC)

    first = _archive(settings, SIM_WEATHER, now, instance)
    forecasts, reports, latest = _archived(settings)

    assert first.metadata["forecast_rows_new"] == forecasts > 0
    assert reports > 0 and latest is not None and latest <= now  # days 6-9 not published yet
    again = _archive(settings, SIM_WEATHER, now, instance)
    assert again.metadata["forecast_rows_new"] == 0  # a re-run adds nothing
    assert _archived(settings) == (forecasts, reports, latest)
    later = _archive(
        settings, SimWeatherResource(sim_seed=settings.sim_seed), now + timedelta(days=10), instance
    )
    assert later.metadata["forecast_rows_new"] > 0  # resumes with what was published since


class _BrokenHistory:
    """A source whose history request fails half-way (a half-delivered page)."""

    sources = ("open-meteo",)

    def history(self, city: str, start: date, end: date) -> Any:
        raise MalformedResponse("open-meteo", "https://x/v1/forecast", "truncated JSON body")

    def drain_payloads(self) -> list[RawPayload]:
        return []


class _BrokenWeather(WeatherSourceResource):
    def client(self) -> _BrokenHistory:  # type: ignore[override]
        return _BrokenHistory()


def test_weather_archive_writes_nothing_when_the_source_fails(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    with pytest.raises(MalformedResponse, match="truncated JSON body"):
        _archive(settings, _BrokenWeather(), datetime.now(UTC), instance)
    assert _archived(settings) == (0, 0, None)

"""weather_archive with Visual Crossing as an extra history provider (mocked HTTP, no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import httpx
import pytest
from sqlalchemy import select

from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    LiveWeatherResource,
    SimWeatherResource,
    build_resources,
)
from weather_trader.defs.weather.assets import weather_archive
from weather_trader.settings import Settings
from weather_trader.sources.visual_crossing import VisualCrossingClient
from weather_trader.store.db import make_engine, session_scope
from weather_trader.store.models import ForecastRow
from weather_trader_tests.defs.support import CITY, DAY, key
from weather_trader_tests.sources.test_visual_crossing import timeline

UA = "weather-trader-tests (ops@example.test)"


REQUESTS: list[httpx.Request] = []
"""Requests the mocked Visual Crossing saw (Dagster copies resources, so no instance state)."""


def _answer(request: httpx.Request) -> httpx.Response:
    REQUESTS.append(request)
    first = date.fromisoformat(request.url.path.rsplit("/", 2)[-2])
    return httpx.Response(200, json=timeline(first, 7))


class _SimWithVisualCrossing(SimWeatherResource):
    """The sim's weather plus a Visual Crossing client on a mocked transport."""

    def history_providers(self) -> list[VisualCrossingClient]:
        transport = httpx.MockTransport(_answer)
        return [VisualCrossingClient("k", UA, transport=transport, min_interval=0.0)]


def _archive(
    settings: Settings, weather: SimWeatherResource, now: datetime, instance: dg.DagsterInstance
) -> Any:
    context = dg.build_asset_context(
        partition_key_range=dg.PartitionKeyRange(key(CITY, DAY), key(CITY, DAY + timedelta(2))),
        instance=instance,  # holds the city partitions
    )
    return weather_archive(
        context,
        database=DatabaseResource(url=settings.resolved_database_url),
        weather=weather,
        clock=ClockResource(fixed_now=now.isoformat()),
    )


def test_visual_crossing_forecasts_join_the_archive(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    REQUESTS.clear()
    weather = _SimWithVisualCrossing(sim_seed=settings.sim_seed)
    now = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=7)
    first = _archive(settings, weather, now, instance)
    with session_scope(make_engine(settings.resolved_database_url)) as session:
        rows = session.scalars(select(ForecastRow).where(ForecastRow.source == "visualcrossing"))
        vc = [(r.model, r.climate_date, r.issued_at) for r in rows]
    assert vc and {m for m, _, _ in vc} == {"timeline", "timeline-hourly"}
    assert all(issued <= now for _, _, issued in vc)  # only basis dates over by now
    assert {d for _, d, _ in vc} <= {DAY, DAY + timedelta(1), DAY + timedelta(2)}
    bases = sorted({r.url.params["forecastBasisDate"] for r in REQUESTS})
    assert bases[0] == (DAY - timedelta(6)).isoformat() and bases[-1] == DAY.isoformat()
    again = _archive(settings, weather, now, instance)
    assert again.metadata["forecast_rows_new"] == 0 < first.metadata["forecast_rows_new"]


def test_providers_only_with_a_key() -> None:
    assert SimWeatherResource(sim_seed=7).history_providers() == []
    assert LiveWeatherResource(user_agent=UA).history_providers() == []
    [vc] = LiveWeatherResource(user_agent=UA, visual_crossing_api_key="s3cret").history_providers()
    assert isinstance(vc, VisualCrossingClient) and "s3cret" not in repr(vc)


def test_the_key_is_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL_CROSSING_API_KEY", "s3cret")
    settings = Settings.from_env({"WEATHER_TRADER_MODE": "paper", "WEATHER_TRADER_USER_AGENT": UA})
    weather = build_resources(settings)["weather"]
    assert isinstance(weather, LiveWeatherResource)
    assert isinstance(weather.visual_crossing_api_key, dg.EnvVar)  # not the value itself
    assert "s3cret" not in repr(weather)
    sim = build_resources(Settings.from_env({"WEATHER_TRADER_MODE": "sim"}))["weather"]
    assert isinstance(sim, SimWeatherResource) and sim.history_providers() == []

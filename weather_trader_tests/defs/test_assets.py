"""Single assets invoked directly, for behaviour a whole-graph run cannot isolate."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from weather_trader.core.records import ForecastPoint
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    TradingConfigResource,
    WeatherSourceResource,
)
from weather_trader.defs.weather.assets import forecast_snapshots
from weather_trader.settings import Settings
from weather_trader.sim.world import build_sim
from weather_trader_tests.defs.support import CITY, DAY, key


class _FirstDayOnly:
    """The sim's forecasts for ``DAY``; nothing for any other day (a source outage)."""

    def __init__(self) -> None:
        self.sim = build_sim(7)[0]

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[ForecastPoint]:
        return self.sim.forecasts(city, day, as_of) if day == DAY else []


class _OutageWeather(WeatherSourceResource):
    def client(self) -> _FirstDayOnly:  # type: ignore[override]
        return _FirstDayOnly()


def test_forecast_snapshots_reports_the_whole_range(settings: Settings) -> None:
    context = dg.build_asset_context(
        partition_key_range=dg.PartitionKeyRange(key(CITY, DAY), key(CITY, DAY + timedelta(1)))
    )

    result = forecast_snapshots(
        context,
        database=DatabaseResource(url=settings.resolved_database_url),
        weather=_OutageWeather(),
        clock=ClockResource(),
        trading=TradingConfigResource(),
    )

    assert result.metadata["partitions"] == 2
    assert result.metadata["points_pulled"] > 0
    # The models of every partition, not only of the last one (which had none).
    assert result.metadata["models"] == 4
    (check,) = result.check_results
    assert check.passed is False
    stale = check.metadata["stale"].value
    assert stale == f"{key(CITY, DAY + timedelta(1))}/high, {key(CITY, DAY + timedelta(1))}/low"

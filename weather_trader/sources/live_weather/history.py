"""The archive backfill: past climate days as they were published.

Truth comes from IEM's CLI history (``/json/cli.py``, final reports); forecasts from Open-Meteo
previous runs (``temperature_2m_previous_dayN``), which are leak-free: the value for hour *t*
is the forecast made about N x 24 h before *t*. ``issued_at`` = the climate day's last hour
minus N days (an upper bound on every hour's run, see
:meth:`~weather_trader.sources.open_meteo.OpenMeteoClient.previous_runs`) and ``retrieved_at``
= ``issued_at`` + the model's availability delay
(:func:`~weather_trader.sources.live_weather.publication.availability_delay`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from weather_trader.core.cities import get_city
from weather_trader.core.records import ClimateReport, ForecastPoint
from weather_trader.sources.iem import IemClient
from weather_trader.sources.live_weather.publication import availability_delay
from weather_trader.sources.open_meteo import OpenMeteoClient

__all__ = [
    "FORECAST_COLUMNS",
    "FORECAST_DTYPES",
    "HISTORY_CHUNK_DAYS",
    "HISTORY_LEAD_DAYS",
    "backfill",
    "forecast_frame",
]

HISTORY_CHUNK_DAYS = 366
"""Climate days per Open-Meteo previous-runs request."""
HISTORY_LEAD_DAYS: tuple[int, ...] = (1, 2, 3)

FORECAST_COLUMNS: tuple[str, ...] = tuple(ForecastPoint.model_fields)
"""Columns of the history forecast frame: the fields of :class:`ForecastPoint`, in order (the
same frame as the sim's ``history``)."""
FORECAST_DTYPES: dict[str, Any] = {
    "city": "str",
    "climate_date": object,
    "kind": "str",
    "source": "str",
    "model": "str",
    "member": "Int64",
    "issued_at": "datetime64[us, UTC]",
    "retrieved_at": "datetime64[us, UTC]",
    "value_f": "float64",
}

_PREVIOUS_DAY = re.compile(r"_previous_day\d+$")


def forecast_frame(points: Iterable[ForecastPoint]) -> pd.DataFrame:
    """``points`` as a frame with :data:`FORECAST_COLUMNS` typed by :data:`FORECAST_DTYPES`.

    Datetimes are tz-aware UTC (microseconds), ``climate_date`` holds ``datetime.date``,
    ``member`` is nullable ``Int64``: the layout of the sim's history frame.
    """
    rows = [p.model_dump() for p in points]
    frame = pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))
    for column, dtype in FORECAST_DTYPES.items():
        if column in ("issued_at", "retrieved_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True).astype(dtype)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def backfill(
    iem: IemClient,
    open_meteo: OpenMeteoClient,
    city: str,
    start: date,
    end: date,
    *,
    models: Sequence[str],
    lead_days: Sequence[int],
    now: Callable[[], datetime],
) -> tuple[pd.DataFrame, list[ClimateReport]]:
    """Climate days ``start..end`` (inclusive) as published by ``now()``.

    See :meth:`~weather_trader.sources.live_weather.LiveWeatherSource.history`, which calls it
    with the source's clients, history models and lead days.
    """
    if end < start:
        raise ValueError(f"empty range: end {end} before start {start}")
    station = get_city(city).station
    moment = now().astimezone(UTC)
    reports = [
        report
        for year in range(start.year, end.year + 1)
        for report in iem.cli_reports(station, year, city)
        if start <= report.climate_date <= end
    ]
    points: list[ForecastPoint] = []
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + timedelta(days=HISTORY_CHUNK_DAYS - 1))
        for p in open_meteo.previous_runs(city, chunk_start, chunk_end, models, lead_days):
            model = _PREVIOUS_DAY.sub("", p.model)
            retrieved = p.issued_at + availability_delay(model)
            if retrieved <= moment:
                points.append(p.model_copy(update={"model": model, "retrieved_at": retrieved}))
        chunk_start = chunk_end + timedelta(days=1)
    return forecast_frame(points), sorted(reports, key=lambda r: (r.climate_date, r.issued_at))

"""The offline world behind the :class:`~weather_trader.core.ports.WeatherSource` port.

:class:`SimWeatherSource` answers point-in-time questions (what was published before
``as_of``); :func:`history_frames` bulk-generates a point-in-time archive for seeding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.cities import KINDS, get_city
from weather_trader.core.climate_day import climate_date_of
from weather_trader.core.records import ClimateReport, ForecastPoint, Observation
from weather_trader.sim.reports import day_reports, reports_for_days
from weather_trader.sim.weather import (
    AVAILABILITY_DELAY,
    DETERMINISTIC_MODELS,
    ENSEMBLE_MEMBERS,
    ENSEMBLE_MODEL,
    MAX_LEAD_DAYS,
    MODELS,
    SimWeather,
    SimWeatherError,
    hours_since_epoch,
)

SOURCE = "sim"

FORECAST_COLUMNS: tuple[str, ...] = tuple(ForecastPoint.model_fields)
"""Columns of the forecast frame: the fields of :class:`ForecastPoint`, in order."""
REPORT_COLUMNS: tuple[str, ...] = tuple(ClimateReport.model_fields)
"""Columns of the report frame: the fields of :class:`ClimateReport`, in order."""


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SimWeatherError(f"{name} must be timezone-aware, got {moment!r}")


class SimWeatherSource:
    """:class:`~weather_trader.core.ports.WeatherSource` over a :class:`SimWeather`.

    Args:
        world: The sim weather to read from.
    """

    sources: tuple[str, ...] = (SOURCE,)

    def __init__(self, world: SimWeather) -> None:
        self.world = world

    def drain_payloads(self) -> list[Any]:
        """Nothing: the simulated world has no raw responses to keep."""
        return []

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[ForecastPoint]:
        """The latest available run of every model (and ensemble member) for both kinds.

        Args:
            city: Registry city code.
            day: Target climate day.
            as_of: Retrieval time; only runs available by then are returned.

        Returns:
            One point per (kind, model, member) with ``retrieved_at=as_of``; empty when no
            run of lead 0..6 days is available yet.

        Raises:
            SimWeatherError: If ``as_of`` is naive.
            UnknownCityError: If the city is not registered.
        """
        _require_aware(as_of, "as_of")
        get_city(city)
        as_of = as_of.astimezone(UTC)
        ordinal = np.array([day.toordinal()])
        out: list[ForecastPoint] = []
        for model in MODELS:
            run = self.world.latest_run(city, model, day, as_of)
            if run is None:
                continue
            ensemble = model == ENSEMBLE_MODEL
            n = ENSEMBLE_MEMBERS if ensemble else 1
            ords = np.repeat(ordinal, n)
            runs = np.repeat(hours_since_epoch(run), n)
            members = np.arange(n) if ensemble else None
            for kind in KINDS:
                values = self.world.forecast_values(city, kind, model, ords, runs, members)
                for i, value in enumerate(values):
                    out.append(
                        ForecastPoint(
                            city=city,
                            climate_date=day,
                            kind=kind,
                            source=SOURCE,
                            model=model,
                            member=i if ensemble else None,
                            issued_at=run,
                            retrieved_at=as_of,
                            value_f=float(value),
                        )
                    )
        return out

    def observations(self, city: str, start: datetime, end: datetime) -> list[Observation]:
        """Hourly observations (hh:51 LST) of the settlement station in ``[start, end)``.

        Raises:
            SimWeatherError: If a bound is naive.
            UnknownCityError: If the city is not registered.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        station = get_city(city).station
        if end <= start:
            return []
        first = climate_date_of(city, start)
        last = climate_date_of(city, end)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        temps = self.world.hourly_temps(city, np.array([d.toordinal() for d in days]))
        out: list[Observation] = []
        for day, row in zip(days, temps, strict=True):
            for at, temp in zip(self.world.observation_times(city, day), row, strict=True):
                if start <= at < end:
                    out.append(
                        Observation(city=city, station=station, observed_at=at, temp_f=float(temp))
                    )
        return out

    def climate_reports(self, city: str, day: date, as_of: datetime) -> list[ClimateReport]:
        """Reports for ``day`` issued before ``as_of`` (preliminary, final, any correction).

        Raises:
            SimWeatherError: If ``as_of`` is naive.
            UnknownCityError: If the city is not registered.
        """
        _require_aware(as_of, "as_of")
        get_city(city)
        return [r for r in day_reports(self.world, city, day) if r.issued_at < as_of]

    def history(
        self, city: str, start: date, end: date
    ) -> tuple[pd.DataFrame, list[ClimateReport]]:
        """The archive of climate days ``start..end`` as it was published (see ``WeatherSource``).

        Raises:
            SimWeatherError: On an empty range.
            UnknownCityError: If the city is not registered.
        """
        get_city(city)
        forecasts, reports = history_frames(self.world, [city], start, end)
        return forecasts, [ClimateReport(**row) for row in reports.to_dict("records")]


def history_frames(
    world: SimWeather,
    cities: Iterable[str],
    start: date,
    end: date,
    lead_days: Sequence[int] = (0, 1, 2),
    members: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bulk point-in-time archive of forecasts and climate reports, for seeding a database.

    Each forecast row is one run of one model for one target day, as it was available when
    published (``retrieved_at = issued_at + availability delay``). For each lead ``L`` the two
    runs (00Z, 12Z) issued during the climate day ``L`` days before the target are included.

    Args:
        world: The sim weather.
        cities: Registry city codes.
        start: First climate day (inclusive).
        end: Last climate day (inclusive).
        lead_days: Leads (0..6) to include.
        members: Include the ensemble members (10 rows per ensemble run).

    Returns:
        ``(forecasts, reports)``: frames whose columns are :data:`FORECAST_COLUMNS` (datetimes
        tz-aware UTC, ``climate_date`` as ``datetime.date``, ``member`` nullable Int64) and
        :data:`REPORT_COLUMNS`.

    Raises:
        SimWeatherError: On an empty range or a lead outside 0..6.
    """
    if end < start:
        raise SimWeatherError(f"empty range: end {end} before start {start}")
    if any(not 0 <= lead <= MAX_LEAD_DAYS for lead in lead_days):
        raise SimWeatherError(f"lead_days must be within 0..{MAX_LEAD_DAYS}, got {lead_days}")
    days = _days(start, end)
    base = np.array([d.toordinal() for d in days], dtype=np.int64)
    day_objs = np.array(days, dtype=object)
    frames: list[pd.DataFrame] = []
    reports: list[ClimateReport] = []
    for city in cities:
        offset = get_city(city).std_utc_offset_hours
        parts_ord, parts_run = [], []
        for lead in lead_days:
            # Runs issued during the climate day `lead` days before: window start rounded up.
            first = (base - date(1970, 1, 1).toordinal() - lead) * 24 - offset
            first = first + (-first) % 12
            parts_ord += [base, base]
            parts_run += [first, first + 12]
        ords, runs = np.concatenate(parts_ord), np.concatenate(parts_run)
        dates = np.tile(day_objs, 2 * len(lead_days))
        for kind in KINDS:
            for model in DETERMINISTIC_MODELS:
                values = world.forecast_values(city, kind, model, ords, runs)
                frames.append(_frame(city, kind, model, dates, runs, values, None))
            if members:
                reps = np.repeat(np.arange(ENSEMBLE_MEMBERS), ords.size)
                values = world.forecast_values(
                    city,
                    kind,
                    ENSEMBLE_MODEL,
                    np.tile(ords, ENSEMBLE_MEMBERS),
                    np.tile(runs, ENSEMBLE_MEMBERS),
                    reps,
                )
                frames.append(
                    _frame(
                        city,
                        kind,
                        ENSEMBLE_MODEL,
                        np.tile(dates, ENSEMBLE_MEMBERS),
                        np.tile(runs, ENSEMBLE_MEMBERS),
                        values,
                        reps,
                    )
                )
        reports += reports_for_days(world, city, days)
    forecasts = pd.concat(frames, ignore_index=True)
    report_frame = pd.DataFrame([r.model_dump() for r in reports], columns=list(REPORT_COLUMNS))
    report_frame["issued_at"] = pd.to_datetime(report_frame["issued_at"], utc=True)
    return forecasts, report_frame


def _frame(
    city: str,
    kind: str,
    model: str,
    dates: np.ndarray,
    runs: np.ndarray,
    values: np.ndarray,
    members: np.ndarray | None,
) -> pd.DataFrame:
    issued = pd.to_datetime(runs * 3600, unit="s", utc=True)
    return pd.DataFrame(
        {
            "city": city,
            "climate_date": dates,
            "kind": kind,
            "source": SOURCE,
            "model": model,
            "member": pd.array(members if members is not None else [None] * runs.size, "Int64"),
            "issued_at": issued,
            "retrieved_at": issued + AVAILABILITY_DELAY[model],
            "value_f": values,
        },
        columns=list(FORECAST_COLUMNS),
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]

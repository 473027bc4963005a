"""Visual Crossing Timeline client: historical forecasts as they were issued.

The Timeline API (``/timeline/{location}/{date1}/{date2}``) with ``forecastBasisDate=YYYY-MM-DD``
returns the forecast Visual Crossing had made on that basis date for ``date1..date2``
(https://www.visualcrossing.com/resources/documentation/weather-api/timeline-weather-api/, and
its Historical Forecast page: "the Timeline Weather API forecastBasisDate and forecastBasisDay
parameters"). It needs the Historical Forecast add-on on the API key.

Records are the ones :mod:`weather_trader.history.convert` makes from the recorded files, so
the archive holds one source whichever way it was filled:

* model ``timeline``: each day's ``tempmax``/``tempmin`` (Visual Crossing's local calendar
  day);
* model ``timeline-hourly``: the max/min of the 24 hourly ``temp`` values of each climate day
  (midnight to midnight local standard time, from each hour's ``datetimeEpoch``), complete
  days only;
* ``issued_at`` = ``retrieved_at`` = the end of the basis date in local standard time: the
  basis date's time of day is not documented, so a forecast counts as known only once its
  basis date is over.

The key is sent as the ``key`` query parameter through :class:`SourceHttp`, which redacts it
from every log line, URL and error message (``key=REDACTED``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from weather_trader.core.cities import Kind, get_city
from weather_trader.core.climate_day import climate_date_of, climate_day_window
from weather_trader.core.records import ForecastPoint
from weather_trader.sources.errors import MalformedResponse
from weather_trader.sources.http import SourceHttp

SOURCE = "visualcrossing"
DAILY_MODEL = "timeline"
HOURLY_MODEL = "timeline-hourly"
BASE_URL = "https://weather.visualcrossing.com/VisualCrossingWebServices/rest/services"
MAX_LEAD_DAYS = 6
"""Leads 0..6: the seven days of a basis date's forecast that the recorded set holds."""
HTTP_DEFAULTS: dict[str, Any] = {"timeout": 30.0, "min_interval": 0.5, "max_attempts": 4}


class _Hour(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    datetimeEpoch: int  # Visual Crossing's field name
    temp: float | None = None


class _Day(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    datetime: date
    tempmax: float | None = None
    tempmin: float | None = None
    hours: tuple[_Hour, ...] | None = None


class _Timeline(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    days: tuple[_Day, ...]


def basis_date_known_at(city_code: str, basis: date) -> datetime:
    """The end of the basis date in the city's local standard time (UTC)."""
    return climate_day_window(city_code, basis)[1]


class VisualCrossingClient:
    """Historical forecasts (``forecastBasisDate``) from the Visual Crossing Timeline API.

    Args:
        api_key: The Visual Crossing key (needs the Historical Forecast add-on); never logged.
        user_agent: User-Agent with contact details.
        leads: Lead days kept (days after the basis date), at most :data:`MAX_LEAD_DAYS`.
        base_url: API root (tests and proxies).
        **http_options: :class:`SourceHttp` options (``transport``, ``sleep``, backoff, ...)
            over :data:`HTTP_DEFAULTS`.

    Raises:
        ValueError: On an empty key or leads outside 0..MAX_LEAD_DAYS.
    """

    def __init__(
        self,
        api_key: str,
        user_agent: str,
        *,
        leads: Iterable[int] = range(MAX_LEAD_DAYS + 1),
        base_url: str = BASE_URL,
        **http_options: Any,
    ) -> None:
        if not api_key.strip():
            raise ValueError("visualcrossing: an API key is required")
        self.leads = tuple(sorted(set(leads)))
        if not self.leads or not all(0 <= n <= MAX_LEAD_DAYS for n in self.leads):
            raise ValueError(f"visualcrossing: leads must be within 0..{MAX_LEAD_DAYS}")
        options = {**HTTP_DEFAULTS, **http_options}
        self.http = SourceHttp(
            SOURCE, base_url, user_agent, api_key=api_key, api_key_param="key", **options
        )

    def __repr__(self) -> str:
        return f"VisualCrossingClient(leads={self.leads})"

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def historical_forecast(self, city_code: str, basis: date) -> list[ForecastPoint]:
        """The forecast issued on ``basis`` for ``basis + lead`` (each lead of :attr:`leads`).

        Raises:
            WeatherSourceError: On fetch failure (429 and timeouts are retried first) or a
                response off the documented format (:class:`MalformedResponse`).
        """
        city = get_city(city_code)
        first, last = basis + timedelta(days=self.leads[0]), basis + timedelta(days=self.leads[-1])
        path = f"timeline/{city.lat},{city.lon}/{first.isoformat()}/{last.isoformat()}"
        params = {
            "unitGroup": "us",
            "include": "days,hours",
            "forecastBasisDate": basis.isoformat(),
            "contentType": "json",
        }
        payload = self.http.get_json(path, params)
        url = self.http.url_for(path)
        try:
            timeline = _Timeline.model_validate(payload)
        except ValidationError as exc:
            first_error = exc.errors()[0]
            where = ".".join(str(p) for p in first_error["loc"]) or "<root>"
            raise MalformedResponse(
                SOURCE, url, f"schema mismatch at {where}: {first_error['msg']}"
            ) from None
        return self._points(city_code, basis, timeline, url)

    def history(
        self,
        city_code: str,
        start: date,
        end: date,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> list[ForecastPoint]:
        """Every kept lead's forecast of the climate days ``start..end`` known by ``now()``.

        One request per basis date from ``start - max lead`` to ``end - min lead``; basis
        dates not over by ``now()`` are not requested (they are not known yet).

        Raises:
            ValueError: If ``end`` is before ``start``.
            WeatherSourceError: As :meth:`historical_forecast`.
        """
        if end < start:
            raise ValueError(f"empty range: end {end} before start {start}")
        moment = now().astimezone(UTC)
        basis = start - timedelta(days=self.leads[-1])
        last_basis = end - timedelta(days=self.leads[0])
        points: list[ForecastPoint] = []
        while basis <= last_basis and basis_date_known_at(city_code, basis) <= moment:
            points += [
                p
                for p in self.historical_forecast(city_code, basis)
                if start <= p.climate_date <= end
            ]
            basis += timedelta(days=1)
        return points

    def _points(
        self, city_code: str, basis: date, timeline: _Timeline, url: str
    ) -> list[ForecastPoint]:
        known_at = basis_date_known_at(city_code, basis)
        wanted = {basis + timedelta(days=n) for n in self.leads}

        def point(day: date, kind: Kind, model: str, value: float) -> ForecastPoint:
            return ForecastPoint(
                city=city_code,
                climate_date=day,
                kind=kind,
                source=SOURCE,
                model=model,
                issued_at=known_at,
                retrieved_at=known_at,
                value_f=value,
            )

        points: list[ForecastPoint] = []
        hourly: dict[date, dict[int, float]] = defaultdict(dict)
        seen_days: set[date] = set()
        for day in timeline.days:
            if day.datetime in seen_days:
                raise MalformedResponse(SOURCE, url, f"day {day.datetime} appears twice")
            seen_days.add(day.datetime)
            if day.datetime in wanted:
                for kind, value in (("high", day.tempmax), ("low", day.tempmin)):
                    if value is not None:
                        points.append(point(day.datetime, kind, DAILY_MODEL, value))  # type: ignore[arg-type]
            for hour in day.hours or ():
                if hour.temp is None:
                    continue
                stamp = datetime.fromtimestamp(hour.datetimeEpoch, UTC)
                hourly[climate_date_of(city_code, stamp)][hour.datetimeEpoch] = hour.temp
        for day, temps in sorted(hourly.items()):
            if day in wanted and len(temps) == 24:
                points.append(point(day, "high", HOURLY_MODEL, max(temps.values())))
                points.append(point(day, "low", HOURLY_MODEL, min(temps.values())))
        return points

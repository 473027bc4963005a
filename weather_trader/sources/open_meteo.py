"""Open-Meteo client: multi-model forecast, ensemble members and previous runs.

Every request asks for the settlement station's coordinates and the station's *standard-time*
day (``timezone=Etc/GMT+5`` for UTC-5: POSIX ``Etc/GMT`` zones invert the sign), in degrees
Fahrenheit. Formats follow https://open-meteo.com/en/docs (forecast),
https://open-meteo.com/en/docs/ensemble-api and https://open-meteo.com/en/docs/previous-runs-api.
With several ``models`` the response suffixes each variable with the model name
(``temperature_2m_max_gfs_seamless``); with a single model the keys carry no suffix.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from weather_trader.core.cities import Kind, get_city
from weather_trader.core.climate_day import climate_day_window
from weather_trader.core.records import ForecastPoint
from weather_trader.sources.errors import MalformedResponse
from weather_trader.sources.http import SourceHttp

SOURCE = "open-meteo"
DEFAULT_MODELS: tuple[str, ...] = ("gfs_seamless", "ecmwf_ifs025", "icon_seamless", "gem_seamless")
DEFAULT_ENSEMBLE_MODELS: tuple[str, ...] = ("ncep_gefs025", "ecmwf_ifs025")
"""Ensemble API model ids (GEFS 0.25 is ``ncep_gefs025`` on the ensemble-api docs page)."""

FREE_HOSTS = {
    "forecast": "https://api.open-meteo.com",
    "ensemble": "https://ensemble-api.open-meteo.com",
    "previous_runs": "https://previous-runs-api.open-meteo.com",
}
CUSTOMER_HOSTS = {
    "forecast": "https://customer-api.open-meteo.com",
    "ensemble": "https://customer-ensemble-api.open-meteo.com",
    "previous_runs": "https://customer-previous-runs-api.open-meteo.com",
}
PATHS = {"forecast": "/v1/forecast", "ensemble": "/v1/ensemble", "previous_runs": "/v1/forecast"}
FAHRENHEIT_UNITS = frozenset({"°F", "degF", "F"})
_DAILY_VARIABLES: tuple[tuple[Kind, str], ...] = (
    ("high", "temperature_2m_max"),
    ("low", "temperature_2m_min"),
)


def _by_kind(high: float, low: float) -> tuple[tuple[Kind, float], ...]:
    return (("high", high), ("low", low))


def etc_gmt_zone(std_utc_offset_hours: int) -> str:
    """The POSIX ``Etc/GMT`` zone of a standard UTC offset: UTC-5 -> ``Etc/GMT+5``."""
    if std_utc_offset_hours == 0:
        return "Etc/GMT"
    return f"Etc/GMT{-std_utc_offset_hours:+d}"


class _Block(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    time: tuple[str, ...]


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    utc_offset_seconds: int | None = None
    daily: _Block | None = None
    daily_units: dict[str, str] | None = None
    hourly: _Block | None = None
    hourly_units: dict[str, str] | None = None


def _series(block: _Block) -> dict[str, list[float | None]]:
    return {k: v for k, v in (block.model_extra or {}).items() if isinstance(v, list)}


def _member_key(variable: str, model: str, single: bool) -> re.Pattern[str]:
    suffix = "" if single else f"_{re.escape(model)}"
    return re.compile(rf"^{re.escape(variable)}(?:_member(?P<member>\d+))?{suffix}$")


HTTP_DEFAULTS: dict[str, Any] = {"timeout": 20.0, "min_interval": 0.2}


class OpenMeteoClient:
    """Client of the Open-Meteo forecast, ensemble and previous-runs APIs.

    Args:
        user_agent: User-Agent with contact details.
        api_key: Optional commercial key; switches every API to its ``customer-`` host and is
            sent as ``apikey`` (redacted from logs and errors).
        now: Clock for ``retrieved_at`` stamps (tests inject a fixed one).
        **http_options: :class:`SourceHttp` keyword options (``timeout``, ``min_interval`` per
            host, ``transport``, ``sleep``, backoff, ...) over :data:`HTTP_DEFAULTS`.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        api_key: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **http_options: Any,
    ) -> None:
        hosts = CUSTOMER_HOSTS if api_key else FREE_HOSTS
        options = {**HTTP_DEFAULTS, **http_options}
        self.http = {
            api: SourceHttp(SOURCE, host, user_agent, api_key=api_key, **options)
            for api, host in hosts.items()
        }
        self._now = now

    def close(self) -> None:
        """Close every HTTP client."""
        for http in self.http.values():
            http.close()

    # ---------------------------------------------------------------------------- plumbing

    def _get(self, api: str, params: dict[str, Any], std_offset: int) -> _Response:
        http = self.http[api]
        payload = http.get_json(PATHS[api], params)
        url = http.url_for(PATHS[api])
        try:
            response = _Response.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise MalformedResponse(
                SOURCE, url, f"schema mismatch at {where}: {first['msg']}"
            ) from None
        expected = std_offset * 3600
        if response.utc_offset_seconds is not None and response.utc_offset_seconds != expected:
            raise MalformedResponse(
                SOURCE, url, f"utc_offset_seconds {response.utc_offset_seconds} != {expected}"
            )
        return response

    @staticmethod
    def _check_units(units: dict[str, str] | None, url: str) -> None:
        for key, unit in (units or {}).items():
            if key.startswith("temperature_2m") and unit not in FAHRENHEIT_UNITS:
                raise MalformedResponse(SOURCE, url, f"{key} is in {unit!r}, expected °F")

    @staticmethod
    def _check_lengths(block: _Block, url: str) -> None:
        for key, values in _series(block).items():
            if len(values) != len(block.time):
                raise MalformedResponse(
                    SOURCE, url, f"{key} has {len(values)} values for {len(block.time)} times"
                )

    def _base_params(self, city_code: str) -> tuple[dict[str, Any], int]:
        city = get_city(city_code)
        params = {
            "latitude": city.lat,
            "longitude": city.lon,
            "temperature_unit": "fahrenheit",
            "timezone": etc_gmt_zone(city.std_utc_offset_hours),
        }
        return params, city.std_utc_offset_hours

    # ------------------------------------------------------------------------------- APIs

    def forecast(
        self, city_code: str, models: Sequence[str] = DEFAULT_MODELS, days: int = 7
    ) -> list[ForecastPoint]:
        """Daily max/min per model for the next ``days`` climate days (``/v1/forecast``).

        ``issued_at`` is the retrieval time floored to the hour (Open-Meteo does not report
        the run time); missing (null) values are skipped.

        Raises:
            WeatherSourceError: On fetch failure or a response off the documented format.
        """
        params, offset = self._base_params(city_code)
        params |= {
            "daily": "temperature_2m_max,temperature_2m_min",
            "models": ",".join(models),
            "forecast_days": days,
        }
        retrieved_at = self._now().astimezone(UTC)
        issued_at = retrieved_at.replace(minute=0, second=0, microsecond=0)
        response = self._get("forecast", params, offset)
        url = self.http["forecast"].url_for(PATHS["forecast"])
        if response.daily is None:
            raise MalformedResponse(SOURCE, url, "response has no 'daily' block")
        self._check_units(response.daily_units, url)
        self._check_lengths(response.daily, url)
        series = _series(response.daily)
        dates = [date.fromisoformat(t) for t in response.daily.time]
        single = len(models) == 1
        points: list[ForecastPoint] = []
        for model in models:
            for kind, variable in _DAILY_VARIABLES:
                key = variable if single else f"{variable}_{model}"
                if key not in series:
                    raise MalformedResponse(SOURCE, url, f"missing daily key {key!r}")
                for day, value in zip(dates, series[key], strict=True):
                    if value is None:
                        continue
                    points.append(
                        ForecastPoint(
                            city=city_code,
                            climate_date=day,
                            kind=kind,
                            source=SOURCE,
                            model=model,
                            issued_at=issued_at,
                            retrieved_at=retrieved_at,
                            value_f=float(value),
                        )
                    )
        return points

    def ensemble(
        self,
        city_code: str,
        models: Sequence[str] = DEFAULT_ENSEMBLE_MODELS,
        days: int = 7,
    ) -> list[ForecastPoint]:
        """Per-member daily high/low from the ensemble API's hourly ``temperature_2m``.

        Hourly values (local standard time) are aggregated to each climate day's max and min;
        only days with all 24 hours present are kept. The unsuffixed ``temperature_2m`` is
        the control run (member 0); ``temperature_2m_memberNN`` are the perturbed members.

        Raises:
            WeatherSourceError: On fetch failure or a response off the documented format.
        """
        params, offset = self._base_params(city_code)
        params |= {"hourly": "temperature_2m", "models": ",".join(models), "forecast_days": days}
        retrieved_at = self._now().astimezone(UTC)
        issued_at = retrieved_at.replace(minute=0, second=0, microsecond=0)
        response = self._get("ensemble", params, offset)
        url = self.http["ensemble"].url_for(PATHS["ensemble"])
        hourly = self._hourly(response, url)
        series = _series(hourly)
        single = len(models) == 1
        points: list[ForecastPoint] = []
        for model in models:
            pattern = _member_key("temperature_2m", model, single)
            found = False
            for key, values in sorted(series.items()):
                match = pattern.match(key)
                if match is None:
                    continue
                found = True
                member = int(match.group("member") or 0)
                for day, (high, low) in _daily_extremes(hourly.time, values).items():
                    for kind, value in _by_kind(high, low):
                        points.append(
                            ForecastPoint(
                                city=city_code,
                                climate_date=day,
                                kind=kind,
                                source=SOURCE,
                                model=model,
                                member=member,
                                issued_at=issued_at,
                                retrieved_at=retrieved_at,
                                value_f=value,
                            )
                        )
            if not found:
                raise MalformedResponse(SOURCE, url, f"no temperature_2m members for {model!r}")
        return points

    def previous_runs(
        self,
        city_code: str,
        start: date,
        end: date,
        models: Sequence[str] = ("gfs_seamless", "ecmwf_ifs025"),
        lead_days: Sequence[int] = (1, 2, 3),
    ) -> list[ForecastPoint]:
        """Leak-free archived forecasts: ``temperature_2m_previous_dayN`` per climate day.

        ``temperature_2m_previous_dayN`` at hour *t* is what the model forecast for *t* about
        N x 24 h earlier. Hourly values are aggregated to each climate day's max/min (complete
        days only). ``issued_at`` is conservative (no leakage): the last hour of the climate
        day minus N days, so every hour's value was issued no later than that.

        Args:
            city_code: Registered city.
            start: First climate day (inclusive).
            end: Last climate day (inclusive).
            models: Open-Meteo model ids.
            lead_days: The N of ``previous_dayN`` to fetch (each >= 1).

        Raises:
            ValueError: If a lead day is < 1 or ``end < start``.
            WeatherSourceError: On fetch failure or a response off the documented format.
        """
        if any(n < 1 for n in lead_days) or end < start:
            raise ValueError("lead_days must be >= 1 and end >= start")
        params, offset = self._base_params(city_code)
        variables = [f"temperature_2m_previous_day{n}" for n in lead_days]
        params |= {
            "hourly": ",".join(variables),
            "models": ",".join(models),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        retrieved_at = self._now().astimezone(UTC)
        response = self._get("previous_runs", params, offset)
        url = self.http["previous_runs"].url_for(PATHS["previous_runs"])
        hourly = self._hourly(response, url)
        series = _series(hourly)
        single = len(models) == 1
        points: list[ForecastPoint] = []
        for model in models:
            for n, variable in zip(lead_days, variables, strict=True):
                key = variable if single else f"{variable}_{model}"
                if key not in series:
                    raise MalformedResponse(SOURCE, url, f"missing hourly key {key!r}")
                for day, (high, low) in _daily_extremes(hourly.time, series[key]).items():
                    if not start <= day <= end:
                        continue
                    _, day_end = climate_day_window(city_code, day)
                    issued_at = day_end - timedelta(hours=1) - timedelta(days=n)
                    for kind, value in _by_kind(high, low):
                        points.append(
                            ForecastPoint(
                                city=city_code,
                                climate_date=day,
                                kind=kind,
                                source=SOURCE,
                                model=f"{model}_previous_day{n}",
                                issued_at=issued_at,
                                retrieved_at=retrieved_at,
                                value_f=value,
                            )
                        )
        return points

    def _hourly(self, response: _Response, url: str) -> _Block:
        if response.hourly is None:
            raise MalformedResponse(SOURCE, url, "response has no 'hourly' block")
        self._check_units(response.hourly_units, url)
        self._check_lengths(response.hourly, url)
        return response.hourly


def _daily_extremes(
    times: Sequence[str], values: Sequence[float | None]
) -> dict[date, tuple[float, float]]:
    """Max and min per local date of hourly values (``2026-07-04T13:00``), complete days only.

    Times are already local standard time (the request's ``Etc/GMT`` zone), so the date part
    is the climate day.
    """
    by_day: dict[date, list[float]] = defaultdict(list)
    counts: dict[date, int] = defaultdict(int)
    for stamp, value in zip(times, values, strict=True):
        day = datetime.fromisoformat(stamp).date()
        counts[day] += 1
        if value is not None:
            by_day[day].append(float(value))
    return {
        day: (max(vals), min(vals))
        for day, vals in sorted(by_day.items())
        if counts[day] == 24 and len(vals) == 24
    }

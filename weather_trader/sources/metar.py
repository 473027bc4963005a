"""aviationweather.gov METAR client and METAR temperature extraction, for intraday tracking.

``GET https://aviationweather.gov/api/data/metar?ids=KNYC&format=json&hours=24`` returns a JSON
list of decoded observations (``icaoId``, ``obsTime`` epoch seconds, ``reportTime``, ``temp``
degC, ``rawOb`` the raw METAR, ...); an empty result is an empty body (HTTP 204) or ``[]``.

Each ``rawOb`` is re-parsed with the ``metar`` package because the remarks carry what the
decoded fields round away:

* ``T01720083``: temperature/dew point in tenths of degC (17.2 / 8.3). It takes precedence
  over the whole-degree body group (``17/08``) and over the API's ``temp``.
* ``1snTTT`` / ``2snTTT``: 6-hour maximum / minimum (tenths of degC, ``s`` = 1 for negative),
  reported at the synoptic hours (00, 06, 12, 18 UTC) and covering the six hours before.
* ``4snTTTsnTTT``: 24-hour maximum and minimum, reported at local standard midnight.

:func:`running_extremes` combines these into the running max/min of a city's climate day.
No Dagster imports; all datetimes are aware UTC.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from metar import Metar
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from weather_trader.core.climate_day import climate_day_window
from weather_trader.core.records import Observation
from weather_trader.sources.errors import MalformedResponse
from weather_trader.sources.http import SourceHttp, redact_url
from weather_trader.sources.nws import city_for_station

__all__ = [
    "BASE_URL",
    "SOURCE",
    "MetarClient",
    "MetarReport",
    "c_to_f",
    "parse_metar",
    "running_extremes",
]

logger = logging.getLogger(__name__)

SOURCE = "aviationweather"
BASE_URL = "https://aviationweather.gov"
METAR_PATH = "/api/data/metar"
GROUP_TOLERANCE = timedelta(minutes=10)
"""Slack when testing whether a 6/24-hour group's period lies inside a climate day: routine
US reports go out at :51, so the 24-hour group of 23:51 LST covers the climate day less 9
minutes, and its nominal start (23:51 LST the day before) is 9 minutes early."""

TempSource = Literal["t_group", "body", "api"]

_RMK_SPLIT = re.compile(r"\sRMK\s")
_T_GROUP = re.compile(r"(?<!\S)T([01])(\d{3})(?:([01])(\d{3}))?(?!\S)")
_SIX_HOUR = re.compile(r"(?<!\S)([12])([01])(\d{3})(?!\S)")
_DAY_GROUP = re.compile(r"(?<!\S)4([01])(\d{3})([01])(\d{3})(?!\S)")


def c_to_f(value_c: float) -> float:
    """Degrees Celsius to Fahrenheit."""
    return value_c * 9.0 / 5.0 + 32.0


def _tenths(sign: str, digits: str) -> float:
    value = int(digits) / 10.0
    return -value if sign == "1" else value


class MetarReport(BaseModel):
    """One METAR with the temperatures we use (degC; None when not reported).

    ``temp_source`` says where ``temp_c`` came from: the remarks T-group (tenths), the body
    ``TT/DD`` group (whole degrees), or the API's decoded ``temp`` when the raw text had none.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    station: str
    observed_at: AwareDatetime
    raw: str
    temp_c: float | None = None
    temp_source: TempSource | None = None
    max_6h_c: float | None = None
    min_6h_c: float | None = None
    max_24h_c: float | None = None
    min_24h_c: float | None = None

    @property
    def temp_f(self) -> float | None:
        """``temp_c`` in Fahrenheit."""
        return None if self.temp_c is None else c_to_f(self.temp_c)

    def to_observation(self, city: str) -> Observation | None:
        """The report as an :class:`Observation` of ``city`` (None without a temperature)."""
        if self.temp_c is None:
            return None
        return Observation(
            city=city,
            station=self.station,
            observed_at=self.observed_at,
            temp_f=c_to_f(self.temp_c),
        )


def _remarks(raw: str) -> str:
    parts = _RMK_SPLIT.split(f" {raw.strip()} ", maxsplit=1)
    return parts[1] if len(parts) == 2 else ""


def parse_metar(raw: str, observed_at: datetime, api_temp_c: float | None = None) -> MetarReport:
    """Read the temperatures of one raw METAR.

    Precedence for the temperature: remarks T-group, then the body group as the ``metar``
    package reads it, then ``api_temp_c``. The 6/24-hour groups are read from the remarks by
    the ``metar`` package and, if it rejected the report, by the same patterns here. A report
    the package cannot read at all is kept (logged) with what the regexes find.

    Args:
        raw: The raw METAR text (``KNYC 011151Z ... RMK AO2 T11391206 10128 21139``).
        observed_at: Aware observation time (gives the month/year the METAR omits).
        api_temp_c: The source's decoded temperature, used only as the last fallback.

    Raises:
        ValueError: If ``observed_at`` is naive.
    """
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        raise ValueError("observed_at must be timezone-aware")
    observed_at = observed_at.astimezone(UTC)
    text = " ".join(raw.split())
    station = text.split(" ", 1)[0].removeprefix("METAR").strip() if text else ""
    parsed: Any = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = Metar.Metar(text, month=observed_at.month, year=observed_at.year, strict=False)
        station = parsed.station_id or station
    except Metar.ParserError as exc:
        logger.warning("%s: unreadable METAR %r (%s); using remark groups only", SOURCE, raw, exc)

    def value_c(attr: str) -> float | None:
        item = getattr(parsed, attr, None) if parsed is not None else None
        return None if item is None else float(item.value("C"))

    remarks = _remarks(text)
    temp_c: float | None = None
    source: TempSource | None = None
    if (m := _T_GROUP.search(remarks)) is not None:
        temp_c, source = _tenths(m.group(1), m.group(2)), "t_group"
    elif (body := _body_temp(text)) is not None:
        temp_c, source = body, "body"
    elif api_temp_c is not None:
        temp_c, source = float(api_temp_c), "api"

    max6, min6 = value_c("max_temp_6hr"), value_c("min_temp_6hr")
    max24, min24 = value_c("max_temp_24hr"), value_c("min_temp_24hr")
    if parsed is None:
        for m6 in _SIX_HOUR.finditer(remarks):
            v = _tenths(m6.group(2), m6.group(3))
            max6, min6 = (v, min6) if m6.group(1) == "1" else (max6, v)
        if (m24 := _DAY_GROUP.search(remarks)) is not None:
            max24 = _tenths(m24.group(1), m24.group(2))
            min24 = _tenths(m24.group(3), m24.group(4))
    return MetarReport(
        station=station.upper(),
        observed_at=observed_at,
        raw=raw.strip(),
        temp_c=temp_c,
        temp_source=source,
        max_6h_c=max6,
        min_6h_c=min6,
        max_24h_c=max24,
        min_24h_c=min24,
    )


_BODY_TEMP = re.compile(r"(?<!\S)(M?\d{2})/(M?\d{2})?(?!\S)")


def _body_temp(text: str) -> float | None:
    """Whole-degree temperature of the body ``TT/DD`` group (``M`` = minus)."""
    body = _RMK_SPLIT.split(f" {text} ", maxsplit=1)[0]
    m = _BODY_TEMP.search(body)
    if m is None:
        return None
    return float(m.group(1).replace("M", "-"))


def running_extremes(
    reports: Iterable[MetarReport], city: str, day: date
) -> tuple[float | None, float | None]:
    """Running (max_f, min_f) of ``city``'s climate ``day`` from METAR reports, in F.

    Combines every report temperature observed inside the climate-day window (midnight to
    midnight local *standard* time, half-open ``[start, end)``, so for NYC an observation at
    04:51Z belongs to the previous day and one at 05:51Z to this one) with the 6-hour and
    24-hour max/min groups whose whole covered period (the 6 or 24 hours before the report)
    lies inside the window, allowing :data:`GROUP_TOLERANCE`. A group straddling a boundary is
    ignored: its extreme may belong to the neighbouring day.

    Returns:
        ``(max_f, min_f)``; each None when nothing in the window reported it.

    Raises:
        UnknownCityError: If the city is not registered.
    """
    start, end = climate_day_window(city, day)
    highs: list[float] = []
    lows: list[float] = []

    def covered(report: MetarReport, hours: int) -> bool:
        first = report.observed_at - timedelta(hours=hours)
        return first >= start - GROUP_TOLERANCE and report.observed_at <= end + GROUP_TOLERANCE

    for report in reports:
        if start <= report.observed_at < end and report.temp_c is not None:
            highs.append(report.temp_c)
            lows.append(report.temp_c)
        if covered(report, 6):
            if report.max_6h_c is not None:
                highs.append(report.max_6h_c)
            if report.min_6h_c is not None:
                lows.append(report.min_6h_c)
        if covered(report, 24):
            if report.max_24h_c is not None:
                highs.append(report.max_24h_c)
            if report.min_24h_c is not None:
                lows.append(report.min_24h_c)
    return (
        c_to_f(max(highs)) if highs else None,
        c_to_f(min(lows)) if lows else None,
    )


class _ApiMetar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    icao_id: str = Field(alias="icaoId")
    obs_time: int = Field(alias="obsTime")
    report_time: str | None = Field(default=None, alias="reportTime")
    temp: float | None = None
    raw_ob: str = Field(alias="rawOb")


# The API allows about 100 requests a minute.
HTTP_DEFAULTS: dict[str, Any] = {"timeout": 15.0, "min_interval": 1.0}


class MetarClient:
    """Client of the aviationweather.gov Data API (``/api/data/metar``).

    Args:
        user_agent: User-Agent with contact details.
        http: A preconfigured :class:`SourceHttp` (tests); built from the other args if None.
        **http_options: :class:`SourceHttp` keyword options (``timeout``, ``min_interval``,
            ``transport``, ``sleep``, backoff, ...) over :data:`HTTP_DEFAULTS`.
    """

    def __init__(
        self, user_agent: str, *, http: SourceHttp | None = None, **http_options: Any
    ) -> None:
        options = {**HTTP_DEFAULTS, **http_options}
        self.http = http or SourceHttp(SOURCE, BASE_URL, user_agent, **options)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def metars(self, station: str, hours: int = 24) -> list[MetarReport]:
        """The METARs of ``station`` (ICAO) over the last ``hours``, oldest first.

        Raises:
            MalformedResponse: Invalid JSON, not a list, or an entry without
                ``icaoId``/``obsTime``/``rawOb``.
            WeatherSourceError: Any other fetch failure.
        """
        params: dict[str, str | int] = {"ids": station.upper(), "format": "json", "hours": hours}
        response = self.http.get(METAR_PATH, params)
        url = redact_url(response.request.url)
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            payload = response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            detail = f"invalid JSON in a {len(response.content)}-byte body ({exc})"
            raise MalformedResponse(SOURCE, url, detail, response.status_code) from None
        if not isinstance(payload, list):
            raise MalformedResponse(SOURCE, url, "METAR payload is not a JSON list")
        out: list[MetarReport] = []
        for n, item in enumerate(payload):
            try:
                api = _ApiMetar.model_validate(item)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                detail = f"METAR {n} does not match the schema: {where}: {first['msg']}"
                raise MalformedResponse(SOURCE, url, detail) from None
            observed = datetime.fromtimestamp(api.obs_time, tz=UTC)
            report = parse_metar(api.raw_ob, observed, api.temp)
            out.append(report.model_copy(update={"station": api.icao_id.upper()}))
        return sorted(out, key=lambda r: r.observed_at)

    def observations(
        self, station: str, hours: int = 24, *, city: str | None = None
    ) -> list[Observation]:
        """:meth:`metars` as :class:`Observation` s (reports without a temperature dropped)."""
        city_code = city or city_for_station(station)
        return [
            obs
            for report in self.metars(station, hours)
            if (obs := report.to_observation(city_code)) is not None
        ]

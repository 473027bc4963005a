"""api.weather.gov client: points, gridpoint forecasts, raw grid, observations, CLI products.

Payloads are read through pydantic models that keep only the fields we use (extra fields are
ignored); a payload that does not fit raises :class:`MalformedResponse`. Temperatures leave
this module in degrees Fahrenheit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from weather_trader.core.cities import CITIES, Kind
from weather_trader.core.climate_day import climate_date_of, climate_day_window
from weather_trader.core.records import ForecastPoint, Observation
from weather_trader.sources.errors import MalformedResponse
from weather_trader.sources.http import SourceHttp

SOURCE = "nws"
GRID_MODEL = "nws_grid"
BASE_URL = "https://api.weather.gov"
ACCEPT = "application/geo+json"
REJECTED_QC = frozenset({"X", "Q", "B"})
"""MADIS quality-control flags we drop: rejected/erroneous, questioned, subjectively bad."""

M = TypeVar("M", bound=BaseModel)


# ---------------------------------------------------------------------------------- units


def to_fahrenheit(value: float, unit: str) -> float:
    """Convert ``value`` in the NWS unit code ``unit`` (``wmoUnit:degC``/``unit:degF``) to F.

    Raises:
        ValueError: For a unit that is not a temperature unit we know.
    """
    code = unit.rsplit(":", 1)[-1]
    if code == "degC":
        return value * 9.0 / 5.0 + 32.0
    if code == "degF":
        return float(value)
    if code == "K":
        return (value - 273.15) * 9.0 / 5.0 + 32.0
    raise ValueError(f"unknown temperature unit {unit!r}")


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_valid_time(valid_time: str) -> tuple[datetime, datetime]:
    """Parse an NWS ``validTime`` ISO 8601 interval (``2026-07-09T13:00:00+00:00/PT12H``).

    Returns:
        The interval as aware UTC ``(start, end)``.

    Raises:
        ValueError: If the interval is not ``<instant>/<duration>`` or ``<instant>/<instant>``.
    """
    start_text, sep, rest = valid_time.partition("/")
    if not sep:
        raise ValueError(f"not an ISO 8601 interval: {valid_time!r}")
    start = datetime.fromisoformat(start_text)
    if start.tzinfo is None:
        raise ValueError(f"interval start has no UTC offset: {valid_time!r}")
    match = _DURATION.match(rest)
    if match and any(match.groupdict().values()):
        parts = {k: int(v) for k, v in match.groupdict().items() if v}
        end = start + timedelta(**parts)
    else:
        end = datetime.fromisoformat(rest)
        if end.tzinfo is None:
            raise ValueError(f"interval end has no UTC offset: {valid_time!r}")
    if end <= start:
        raise ValueError(f"empty interval: {valid_time!r}")
    return start.astimezone(UTC), end.astimezone(UTC)


# --------------------------------------------------------------------------------- models


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class NwsPoint(_Payload):
    """The parts of ``/points/{lat},{lon}`` we use: the forecast grid cell and its links."""

    grid_id: str = Field(alias="gridId")
    grid_x: int = Field(alias="gridX")
    grid_y: int = Field(alias="gridY")
    forecast: str
    forecast_hourly: str = Field(alias="forecastHourly")
    forecast_grid_data: str = Field(alias="forecastGridData")
    observation_stations: str | None = Field(default=None, alias="observationStations")
    time_zone: str | None = Field(default=None, alias="timeZone")


class NwsForecastPeriod(_Payload):
    """One period of a ``/forecast`` or ``/forecast/hourly`` response."""

    number: int
    name: str = ""
    start_time: AwareDatetime = Field(alias="startTime")
    end_time: AwareDatetime = Field(alias="endTime")
    is_daytime: bool = Field(alias="isDaytime")
    temperature: float | None
    temperature_unit: str = Field(default="F", alias="temperatureUnit")
    short_forecast: str = Field(default="", alias="shortForecast")
    detailed_forecast: str = Field(default="", alias="detailedForecast")

    @field_validator("temperature", mode="before")
    @classmethod
    def _quantitative(cls, value: Any) -> Any:
        # With the "forecast_temperature_qv" feature flag the API sends {"unitCode", "value"}.
        if isinstance(value, dict):
            unit, raw = value.get("unitCode"), value.get("value")
            return None if raw is None else to_fahrenheit(float(raw), str(unit))
        return value

    @property
    def temperature_f(self) -> float | None:
        """The period temperature in F (None when missing)."""
        if self.temperature is None:
            return None
        return to_fahrenheit(self.temperature, "deg" + self.temperature_unit.upper())


class NwsForecast(_Payload):
    """A gridpoint ``/forecast`` or ``/forecast/hourly`` (GeoJSON or JSON-LD form)."""

    update_time: AwareDatetime | None = Field(default=None, alias="updateTime")
    generated_at: AwareDatetime | None = Field(default=None, alias="generatedAt")
    periods: tuple[NwsForecastPeriod, ...]


class GridValue(_Payload):
    """One interval of a raw-grid series, converted to F (``value_f`` None when missing)."""

    start: datetime
    end: datetime
    value_f: float | None


class _RawValue(_Payload):
    valid_time: str = Field(alias="validTime")
    value: float | None


class _RawSeries(_Payload):
    uom: str
    values: tuple[_RawValue, ...]


class _RawGridProps(_Payload):
    update_time: AwareDatetime = Field(alias="updateTime")
    grid_id: str | None = Field(default=None, alias="gridId")
    max_temperature: _RawSeries = Field(alias="maxTemperature")
    min_temperature: _RawSeries = Field(alias="minTemperature")
    temperature: _RawSeries


class NwsRawGrid(_Payload):
    """The temperature series of a raw gridpoint (``forecastGridData``), in F."""

    update_time: AwareDatetime
    grid_id: str | None = None
    max_temperature: tuple[GridValue, ...]
    min_temperature: tuple[GridValue, ...]
    temperature: tuple[GridValue, ...]


class ProductSummary(_Payload):
    """One entry of a ``/products/types/{type}/locations/{loc}`` listing."""

    id: str
    wmo_collective_id: str | None = Field(default=None, alias="wmoCollectiveId")
    issuing_office: str | None = Field(default=None, alias="issuingOffice")
    issuance_time: AwareDatetime = Field(alias="issuanceTime")
    product_code: str | None = Field(default=None, alias="productCode")
    product_name: str | None = Field(default=None, alias="productName")


class ProductText(ProductSummary):
    """A full ``/products/{id}`` with its text."""

    product_text: str = Field(alias="productText")


class _QuantitativeValue(_Payload):
    value: float | None = None
    unit_code: str = Field(default="wmoUnit:degC", alias="unitCode")
    quality_control: str | None = Field(default=None, alias="qualityControl")


class _ObservationProps(_Payload):
    timestamp: AwareDatetime | None = None
    temperature: _QuantitativeValue | None = None


class _Feature(_Payload):
    properties: dict[str, Any]


class _FeatureCollection(_Payload):
    features: tuple[_Feature, ...]


class _ProductList(_Payload):
    graph: tuple[ProductSummary, ...] = Field(alias="@graph")


# ----------------------------------------------------------------------------- pure helpers


def _parse_series(series: _RawSeries, source_url: str, name: str) -> tuple[GridValue, ...]:
    out = []
    for raw in series.values:
        try:
            start, end = parse_valid_time(raw.valid_time)
            value_f = None if raw.value is None else to_fahrenheit(raw.value, series.uom)
        except ValueError as exc:
            raise MalformedResponse(SOURCE, source_url, f"raw grid {name}: {exc}") from None
        out.append(GridValue(start=start, end=end, value_f=value_f))
    return tuple(out)


def _best_climate_day(city_code: str, start: datetime, end: datetime) -> tuple[date, timedelta]:
    """The climate day overlapping ``[start, end)`` the most, and that overlap."""
    best: tuple[date, timedelta] | None = None
    day = climate_date_of(city_code, start)
    last = climate_date_of(city_code, end - timedelta(microseconds=1))
    while day <= last:
        lo, hi = climate_day_window(city_code, day)
        overlap = min(hi, end) - max(lo, start)
        if best is None or overlap > best[1]:
            best = (day, overlap)
        day += timedelta(days=1)
    assert best is not None
    return best


def grid_daily_points(
    grid: NwsRawGrid,
    city_code: str,
    retrieved_at: datetime,
    *,
    min_overlap: timedelta = timedelta(hours=6),
) -> list[ForecastPoint]:
    """Map the raw grid's max/min temperature intervals onto ``city_code``'s climate days.

    NWS ``maxTemperature`` is a daytime interval (about 7 am-7 pm local) and
    ``minTemperature`` an overnight one (about 7 pm-8 am), in UTC. Each interval is assigned to
    the climate day (midnight-midnight local *standard* time) it overlaps most; intervals that
    overlap their day by less than ``min_overlap`` (the truncated, already-running interval at
    the start of a grid) are dropped, as are missing values. If several intervals land on one
    day the highest max / lowest min wins.

    Returns:
        ``ForecastPoint`` s (source ``nws``, model ``nws_grid``, issued at the grid's
        ``updateTime``), sorted by date then kind (high before low).

    Raises:
        UnknownCityError: If the city is not registered.
    """
    picks: dict[tuple[date, Kind], float] = {}
    for kind, series in (("high", grid.max_temperature), ("low", grid.min_temperature)):
        for value in series:
            if value.value_f is None:
                continue
            day, overlap = _best_climate_day(city_code, value.start, value.end)
            if overlap < min_overlap:
                continue
            key = (day, kind)
            current = picks.get(key)
            if current is None:
                picks[key] = value.value_f
            else:
                picks[key] = (
                    max(current, value.value_f) if kind == "high" else min(current, value.value_f)
                )
    return [
        ForecastPoint(
            city=city_code,
            climate_date=day,
            kind=kind,
            source=SOURCE,
            model=GRID_MODEL,
            issued_at=grid.update_time.astimezone(UTC),
            retrieved_at=retrieved_at.astimezone(UTC),
            value_f=value_f,
        )
        for (day, kind), value_f in sorted(
            picks.items(), key=lambda item: (item[0][0], item[0][1] == "low")
        )
    ]


def city_for_station(station: str) -> str:
    """The registered city code settling on ``station`` (``KNYC`` -> ``NYC``).

    Raises:
        ValueError: If no registered city uses that station.
    """
    for city in CITIES.values():
        if city.station == station.upper():
            return city.code
    raise ValueError(f"no registered city settles on station {station!r}; pass city=")


# ---------------------------------------------------------------------------------- client


HTTP_DEFAULTS: dict[str, Any] = {"timeout": 15.0, "min_interval": 0.5}


class NwsClient:
    """Client of api.weather.gov (GeoJSON, ``Accept: application/geo+json``).

    Args:
        user_agent: User-Agent with contact details, as the NWS API requires
            (``"weather-trader (ops@example.com)"``).
        http: A preconfigured :class:`SourceHttp` (tests); built from the other args if None.
        now: Clock for ``retrieved_at`` stamps.
        **http_options: :class:`SourceHttp` keyword options (``timeout``, ``min_interval``,
            ``transport``, ``sleep``, backoff, ...) over :data:`HTTP_DEFAULTS`.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        http: SourceHttp | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **http_options: Any,
    ) -> None:
        options = {**HTTP_DEFAULTS, "headers": {"Accept": ACCEPT}, **http_options}
        self.http = http or SourceHttp(SOURCE, BASE_URL, user_agent, **options)
        self._now = now
        self._points: dict[tuple[float, float], NwsPoint] = {}
        self._points_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def _parse(self, model: type[M], payload: Any, url: str, what: str) -> M:
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            detail = f"{what} does not match the schema: {where}: {first['msg']}"
            raise MalformedResponse(SOURCE, url, detail) from None

    @staticmethod
    def _properties(payload: Any) -> Any:
        """GeoJSON puts the data under ``properties``; JSON-LD puts it at the top level."""
        if isinstance(payload, dict) and isinstance(payload.get("properties"), dict):
            return payload["properties"]
        return payload

    def points(self, lat: float, lon: float) -> NwsPoint:
        """The forecast grid cell of a coordinate, cached per coordinate rounded to 4 places.

        Raises:
            WeatherSourceError: On any failure (see :meth:`SourceHttp.get_json`).
        """
        key = (round(lat, 4), round(lon, 4))
        with self._points_lock:
            cached = self._points.get(key)
        if cached is not None:
            return cached
        path = f"/points/{key[0]},{key[1]}"
        payload = self.http.get_json(path)
        point = self._parse(NwsPoint, self._properties(payload), self.http.url_for(path), "point")
        with self._points_lock:
            self._points[key] = point
        return point

    def _forecast(self, url: str, what: str) -> NwsForecast:
        payload = self.http.get_json(url)
        return self._parse(NwsForecast, self._properties(payload), url, what)

    def gridpoint_forecast(self, point: NwsPoint) -> NwsForecast:
        """The 12-hour-period forecast (``point.forecast``)."""
        return self._forecast(point.forecast, "forecast")

    def hourly_forecast(self, point: NwsPoint) -> NwsForecast:
        """The hourly forecast (``point.forecast_hourly``)."""
        return self._forecast(point.forecast_hourly, "hourly forecast")

    def raw_grid(self, point: NwsPoint) -> NwsRawGrid:
        """The raw gridpoint's ``maxTemperature``, ``minTemperature`` and ``temperature``, in F.

        Raises:
            MalformedResponse: If a series is missing, has a non-temperature unit or a bad
                ``validTime``.
        """
        url = point.forecast_grid_data
        props = self._properties(self.http.get_json(url))
        if not isinstance(props, dict):
            raise MalformedResponse(SOURCE, url, "raw grid is not a JSON object")
        raw = self._parse(_RawGridProps, props, url, "raw grid")
        return NwsRawGrid(
            update_time=raw.update_time,
            grid_id=raw.grid_id,
            max_temperature=_parse_series(raw.max_temperature, url, "maxTemperature"),
            min_temperature=_parse_series(raw.min_temperature, url, "minTemperature"),
            temperature=_parse_series(raw.temperature, url, "temperature"),
        )

    def grid_forecast_points(self, city_code: str) -> list[ForecastPoint]:
        """Points + raw grid for a registered city's station, mapped to its climate days."""
        city = CITIES[city_code]
        grid = self.raw_grid(self.points(city.lat, city.lon))
        return grid_daily_points(grid, city_code, self._now())

    def station_observations(
        self,
        station: str,
        start: datetime,
        end: datetime,
        *,
        city: str | None = None,
        limit: int | None = None,
    ) -> list[Observation]:
        """Temperature observations of ``station`` in ``[start, end]``, in F, oldest first.

        Null temperatures and values flagged rejected/questioned/bad by quality control are
        skipped. Only the first page is read (``limit`` caps it; NWS defaults to its own).

        Args:
            station: ICAO id (``KNYC``).
            start: Aware start instant.
            end: Aware end instant.
            city: City code for the records; looked up from the station when None.
            limit: Optional maximum number of observations to ask for.

        Raises:
            ValueError: Naive datetimes, or an unregistered station without ``city``.
            WeatherSourceError: On any fetch or schema failure.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        city_code = city or city_for_station(station)
        path = f"/stations/{station.upper()}/observations"
        params: dict[str, str | int] = {
            "start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "end": end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        if limit is not None:
            params["limit"] = limit
        url = self.http.url_for(path)
        collection = self._parse(
            _FeatureCollection, self.http.get_json(path, params), url, "observations"
        )
        out: list[Observation] = []
        for feature in collection.features:
            props = self._parse(_ObservationProps, feature.properties, url, "observation")
            temp = props.temperature
            if props.timestamp is None or temp is None or temp.value is None:
                continue
            if (temp.quality_control or "").rsplit(":", 1)[-1] in REJECTED_QC:
                continue
            try:
                temp_f = to_fahrenheit(temp.value, temp.unit_code)
            except ValueError as exc:
                raise MalformedResponse(SOURCE, url, f"observation: {exc}") from None
            out.append(
                Observation(
                    city=city_code,
                    station=station.upper(),
                    observed_at=props.timestamp.astimezone(UTC),
                    temp_f=temp_f,
                )
            )
        return sorted(out, key=lambda obs: obs.observed_at)

    def cli_products(self, location: str) -> list[ProductSummary]:
        """The Daily Climate Reports listed for ``location`` (``NYC`` or ``CLINYC``).

        Returns:
            Product summaries, newest first.
        """
        loc = location.upper()
        if len(loc) == 6 and loc.startswith("CLI"):
            loc = loc[3:]
        path = f"/products/types/CLI/locations/{loc}"
        payload = self.http.get_json(path)
        listing = self._parse(_ProductList, payload, self.http.url_for(path), "product list")
        return sorted(listing.graph, key=lambda p: p.issuance_time, reverse=True)

    def product_text(self, product_id: str) -> ProductText:
        """The full text product ``product_id`` (``/products/{id}``)."""
        path = f"/products/{product_id}"
        payload = self.http.get_json(path)
        return self._parse(ProductText, payload, self.http.url_for(path), "product")

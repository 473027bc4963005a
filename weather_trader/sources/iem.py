"""Iowa Environmental Mesonet (IEM) client: the backfill sources for settlement and observations.

Three IEM services are read (all free, no key; IEM asks for a descriptive User-Agent and is
quick to refuse bursts, so the default minimum interval between requests is one second):

* ``/json/cli.py?station=KNYC&year=YYYY``: IEM's parse of every NWS Daily Climate Report (CLI)
  of a station and year, as ``{"results": [{"station", "valid", "high", "low", "product",
  ...}]}``; missing values are ``"M"`` or null.
* ``/cgi-bin/afos/retrieve.py?pil=CLINYC&sdate=...&edate=...&fmt=text&limit=9999``: the raw
  archived text products (to re-parse with :func:`weather_trader.sources.cli_report.parse_cli`).
* ``/cgi-bin/request/asos.py?station=NYC&data=tmpf&tz=Etc/UTC&format=onlycomma&...``: archived
  ASOS/METAR temperatures as CSV ``station,valid,tmpf`` (``M`` = missing). IEM files US ASOS
  stations under the three-letter id (``KNYC`` -> ``NYC``).

No Dagster imports; temperatures leave this module in degrees Fahrenheit and every datetime is
timezone-aware UTC.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from weather_trader.core.climate_day import final_report_expected_at
from weather_trader.core.records import ClimateReport, Observation
from weather_trader.sources.errors import MalformedResponse
from weather_trader.sources.http import QueryValue, SourceHttp, redact_url
from weather_trader.sources.nws import city_for_station

__all__ = [
    "BASE_URL",
    "SOURCE",
    "IemCliRow",
    "IemClient",
    "iem_asos_id",
    "issued_at_from_product_id",
    "parse_asos_csv",
    "split_afos_products",
    "to_reports",
]

logger = logging.getLogger(__name__)

SOURCE = "iem"
BASE_URL = "https://mesonet.agron.iastate.edu"
CLI_PATH = "/json/cli.py"
AFOS_PATH = "/cgi-bin/afos/retrieve.py"
ASOS_PATH = "/cgi-bin/request/asos.py"
MISSING = frozenset({"M", "MM", ""})

_PRODUCT_ID_RE = re.compile(r"^(?P<ts>\d{12})-[A-Z0-9]{4}-[A-Z0-9]{6}-(?P<pil>[A-Z0-9]{4,6})")
_CONTROL_RE = re.compile(r"[\x01\x03]")
_PRODUCT_START_RE = re.compile(
    r"^(?:\d{3}\s*|[A-Z]{4}\d{2} [A-Z]{4} \d{6}(?: [A-Z]{3})?|[A-Z0-9]{4,6})$"
)
"""A line that can open a product: LDM sequence number, WMO header or AWIPS id (``CLINYC``)."""


# ----------------------------------------------------------------------------- HTTP helper


def _text(response: httpx.Response, source: str) -> str:
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        url = redact_url(response.request.url)
        detail = f"body is not UTF-8 text ({exc})"
        raise MalformedResponse(source, url, detail, response.status_code) from None


# ------------------------------------------------------------------------------ pure parts


def iem_asos_id(station: str) -> str:
    """IEM's ASOS id of an ICAO station: US ``K``-stations drop the ``K`` (``KNYC`` -> ``NYC``).

    Alaska (``PA..``), Hawaii (``PH..``) and non-US ids are kept as they are.
    """
    sid = station.strip().upper()
    return sid[1:] if len(sid) == 4 and sid.startswith("K") else sid


def _icao(station: str) -> str:
    sid = station.strip().upper()
    return f"K{sid}" if len(sid) == 3 and sid.isalpha() else sid


def issued_at_from_product_id(product_id: str | None) -> datetime | None:
    """The UTC issue time in an IEM product id (``202601020524-KOKX-CDUS41-CLINYC``), or None."""
    if not product_id:
        return None
    m = _PRODUCT_ID_RE.match(product_id.strip())
    if m is None:
        return None
    try:
        return datetime.strptime(m.group("ts"), "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def _missing_to_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().upper()
        if text in MISSING:
            return None
        try:
            return round(float(text))
        except ValueError:
            return value  # let pydantic reject it
    if isinstance(value, float):
        return round(value)
    return value


class IemCliRow(BaseModel):
    """One row of IEM's ``/json/cli.py`` (extra fields such as normals/records are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    station: str
    valid: date
    high: int | None = None
    low: int | None = None
    product: str | None = None
    name: str | None = None

    _normalise = field_validator("high", "low", mode="before")(_missing_to_none)

    @property
    def pil(self) -> str | None:
        """The AWIPS id the row came from (``CLINYC``), read from ``product``."""
        m = _PRODUCT_ID_RE.match((self.product or "").strip())
        return m.group("pil") if m else None

    def to_report(self, city_code: str) -> ClimateReport:
        """The row as a final :class:`ClimateReport` of ``city_code``.

        ``issued_at`` is the UTC timestamp prefix of ``product``
        (``202601020524-KOKX-CDUS41-CLINYC`` -> 2026-01-02T05:24Z); when the product id is
        absent or of another form it falls back to the usual final-report time, 07:00 local
        *standard* time the morning after the climate day
        (:func:`~weather_trader.core.climate_day.final_report_expected_at`).

        Raises:
            UnknownCityError: If the city is not registered.
        """
        issued = issued_at_from_product_id(self.product) or final_report_expected_at(
            city_code, self.valid
        )
        return ClimateReport(
            city=city_code,
            product=self.pil or f"CLI{iem_asos_id(self.station)}",
            climate_date=self.valid,
            max_f=self.high,
            min_f=self.low,
            final=True,
            issued_at=issued,
        )


def to_reports(rows: Iterable[IemCliRow], city_code: str) -> list[ClimateReport]:
    """Convert IEM CLI rows to final :class:`ClimateReport` s of ``city_code``, by date."""
    return sorted((row.to_report(city_code) for row in rows), key=lambda r: r.climate_date)


def split_afos_products(text: str) -> list[str]:
    """Split an AFOS ``retrieve.py`` text dump into one string per product.

    Products are separated by the SOH/ETX control characters (``\\x01`` ... ``\\x03``) when IEM
    keeps them, otherwise by the ``$$`` line that ends every NWS text product. A ``$$`` only
    ends a product when the next non-blank line can open one (an LDM sequence number, a WMO
    header or an AWIPS id), so a product with an inner ``$$`` stays whole. Carriage returns are
    normalised to ``\\n``; empty pieces are dropped.
    """
    products: list[str] = []
    for chunk in _CONTROL_RE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = chunk.split("\n")
        current: list[str] = []
        for i, line in enumerate(lines):
            current.append(line)
            if line.strip() != "$$":
                continue
            following = next((ln.strip() for ln in lines[i + 1 :] if ln.strip()), None)
            if following is not None and _PRODUCT_START_RE.match(following):
                products.append("\n".join(current))
                current = []
        products.append("\n".join(current))
    return [p.strip("\n") + "\n" for p in products if p.strip()]


def _afos_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("start and end must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# ---------------------------------------------------------------------------------- client


# Year-long archives are slow to build, and IEM rate-limits bursts.
HTTP_DEFAULTS: dict[str, Any] = {"timeout": 60.0, "min_interval": 1.0}


class IemClient:
    """Client of the Iowa Environmental Mesonet backfill services.

    Args:
        user_agent: User-Agent with contact details (``"weather-trader (ops@example.com)"``).
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

    def cli_history(self, station: str, year: int) -> list[IemCliRow]:
        """IEM's parsed Daily Climate Reports of ``station`` (ICAO, ``KNYC``) for ``year``.

        Returns:
            Rows sorted by date; rows of other stations in the payload are dropped.

        Raises:
            MalformedResponse: Invalid JSON, no ``results`` list, or a row that does not fit.
            WeatherSourceError: Any other fetch failure (see :meth:`SourceHttp.get_json`).
        """
        sid = _icao(station)
        params: dict[str, QueryValue] = {"station": sid, "year": year}
        payload = self.http.get_json(CLI_PATH, params)
        url = redact_url(httpx.URL(self.http.url_for(CLI_PATH), params=params))
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise MalformedResponse(SOURCE, url, "cli.py payload has no 'results' list")
        rows: list[IemCliRow] = []
        for n, raw in enumerate(results):
            try:
                row = IemCliRow.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                detail = f"cli.py result {n} does not match the schema: {where}: {first['msg']}"
                raise MalformedResponse(SOURCE, url, detail) from None
            if _icao(row.station) == sid:
                rows.append(row)
        return sorted(rows, key=lambda r: r.valid)

    def cli_reports(self, station: str, year: int, city: str | None = None) -> list[ClimateReport]:
        """:meth:`cli_history` converted with :func:`to_reports` (city from the registry)."""
        sid = _icao(station)
        return to_reports(self.cli_history(sid, year), city or city_for_station(sid))

    def afos_text(
        self, pil: str, start: datetime, end: datetime, *, limit: int = 9999
    ) -> list[str]:
        """Raw text products ``pil`` (``CLINYC``) issued in ``[start, end]``, oldest first.

        A body starting ``ERROR:`` that says nothing was found yields ``[]``; any other
        ``ERROR:`` body raises :class:`MalformedResponse`.

        Raises:
            ValueError: Naive datetimes.
            WeatherSourceError: On any fetch failure.
        """
        params: dict[str, QueryValue] = {
            "pil": pil.strip().upper(),
            "sdate": _afos_time(start),
            "edate": _afos_time(end),
            "fmt": "text",
            "limit": limit,
            "order": "asc",
        }
        response = self.http.get(AFOS_PATH, params)
        body = _text(response, SOURCE)
        head = body.lstrip("\x01\r\n ").upper()
        if head.startswith("ERROR"):
            if "COULD NOT FIND" in head or "NO PRODUCTS" in head:
                return []
            url = redact_url(response.request.url)
            raise MalformedResponse(SOURCE, url, f"AFOS error: {head[:200].strip()}")
        return split_afos_products(body)

    def asos(
        self,
        station: str,
        start: datetime,
        end: datetime,
        *,
        city: str | None = None,
    ) -> list[Observation]:
        """Archived ASOS temperatures of ``station`` in ``[start, end)``, oldest first, in F.

        Args:
            station: ICAO id (``KNYC``) or IEM id (``NYC``).
            start: Aware start instant.
            end: Aware end instant.
            city: City code for the records; looked up from the ICAO station when None.

        Raises:
            ValueError: Naive datetimes or an unregistered station without ``city``.
            MalformedResponse: A CSV without the ``station,valid,tmpf`` columns or a bad row.
            WeatherSourceError: Any other fetch failure.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        icao = _icao(station)
        city_code = city or city_for_station(icao)
        params: dict[str, QueryValue] = {
            "station": iem_asos_id(icao),
            "data": "tmpf",
            "tz": "Etc/UTC",
            "format": "onlycomma",
            "latlon": "no",
            "missing": "M",
            "sts": _afos_time(start),
            "ets": _afos_time(end),
        }
        response = self.http.get(ASOS_PATH, params)
        url = redact_url(response.request.url)
        return parse_asos_csv(_text(response, SOURCE), icao, city_code, url)


def parse_asos_csv(text: str, icao: str, city_code: str, url: str = ASOS_PATH) -> list[Observation]:
    """Parse an ``asos.py`` ``format=onlycomma`` body (``station,valid,tmpf``, ``valid`` in UTC).

    Rows with ``tmpf`` missing (``M`` or empty) are skipped; duplicate instants keep the first.

    Raises:
        MalformedResponse: Missing columns, an unparsable time or temperature.
    """
    fail: Callable[[str], MalformedResponse] = lambda detail: MalformedResponse(  # noqa: E731
        SOURCE, url, detail
    )
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = [f.strip() for f in reader.fieldnames or []]
    if not {"station", "valid", "tmpf"} <= set(fields):
        raise fail(f"asos.py CSV lacks station,valid,tmpf columns (got {fields[:5]})")
    seen: dict[datetime, Observation] = {}
    for n, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        tmpf = row["tmpf"]
        if tmpf.upper() in MISSING:
            continue
        try:
            observed = datetime.strptime(row["valid"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            temp_f = float(tmpf)
        except ValueError as exc:
            raise fail(f"asos.py CSV line {n}: {exc}") from None
        seen.setdefault(
            observed, Observation(city=city_code, station=icao, observed_at=observed, temp_f=temp_f)
        )
    return [seen[k] for k in sorted(seen)]

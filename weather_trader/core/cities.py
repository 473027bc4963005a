"""The city registry: each tradable city with its settlement station and Kalshi series.

The settlement station is the one named in Kalshi's rules (the NWS Daily Climate Report of
that station), which is not always the airport people assume: Chicago settles on Midway and
Austin on Bergstrom.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Literal

Kind = Literal["high", "low"]
KINDS: tuple[Kind, ...] = ("high", "low")
RECORD_MARGIN_F = 10.0
"""How far beyond a station's all-time records a value may go before it is called impossible."""


class UnknownCityError(KeyError):
    """Raised when a city code or series ticker is not in the registry."""


@dataclass(frozen=True)
class City:
    """A tradable city and everything needed to settle its markets.

    Attributes:
        code: Our short code, used in partition keys (``NYC``).
        name: Human-readable name with the station's place.
        station: ICAO id of the settlement station (``KNYC``).
        cli_product: NWS Daily Climate Report product id (``CLINYC``).
        nws_office: NWS forecast office issuing the CLI (``OKX``).
        lat: Station latitude in degrees.
        lon: Station longitude in degrees.
        std_utc_offset_hours: Standard-time UTC offset; the climate day uses it all year.
        tz_name: IANA time zone, for display only (climate days never follow DST).
        high_series: Kalshi series ticker of the daily-high market.
        low_series: Kalshi series ticker of the daily-low market.
        record_high_f: All-time record high of the station's climate record (F).
        record_low_f: All-time record low of the station's climate record (F).
    """

    code: str
    name: str
    station: str
    cli_product: str
    nws_office: str
    lat: float
    lon: float
    std_utc_offset_hours: int
    tz_name: str
    high_series: str
    low_series: str
    record_high_f: int
    record_low_f: int

    @property
    def standard_tz(self) -> timezone:
        """The fixed standard-time zone of the climate day (no daylight saving)."""
        return timezone(timedelta(hours=self.std_utc_offset_hours))

    def plausible_range_f(self, margin_f: float = RECORD_MARGIN_F) -> tuple[float, float]:
        """Temperatures outside the station's records by more than ``margin_f`` are impossible."""
        return self.record_low_f - margin_f, self.record_high_f + margin_f

    def series(self, kind: Kind) -> str:
        """The Kalshi series ticker for the daily ``high`` or ``low`` market."""
        return self.high_series if kind == "high" else self.low_series


# Records are the NWS threaded all-time extremes for each climate site (rounded where sources
# differ by a degree); RECORD_MARGIN_F absorbs that uncertainty.
CITIES: dict[str, City] = {
    c.code: c
    for c in (
        City("NYC", "New York (Central Park)", "KNYC", "CLINYC", "OKX",
             40.7789, -73.9692, -5, "America/New_York", "KXHIGHNY", "KXLOWTNYC", 106, -15),
        City("CHI", "Chicago (Midway)", "KMDW", "CLIMDW", "LOT",
             41.7861, -87.7522, -6, "America/Chicago", "KXHIGHCHI", "KXLOWTCHI", 109, -27),
        City("MIA", "Miami", "KMIA", "CLIMIA", "MFL",
             25.7881, -80.3169, -5, "America/New_York", "KXHIGHMIA", "KXLOWTMIA", 100, 27),
        City("AUS", "Austin (Bergstrom)", "KAUS", "CLIAUS", "EWX",
             30.1831, -97.6799, -6, "America/Chicago", "KXHIGHAUS", "KXLOWTAUS", 112, -2),
        City("LAX", "Los Angeles (LAX)", "KLAX", "CLILAX", "LOX",
             33.9382, -118.3866, -8, "America/Los_Angeles", "KXHIGHLAX", "KXLOWTLAX", 111, 23),
        City("DEN", "Denver", "KDEN", "CLIDEN", "BOU",
             39.8466, -104.6562, -7, "America/Denver", "KXHIGHDEN", "KXLOWTDEN", 105, -29),
        City("PHL", "Philadelphia", "KPHL", "CLIPHL", "PHI",
             39.8733, -75.2268, -5, "America/New_York", "KXHIGHPHIL", "KXLOWTPHIL", 106, -11),
    )
}  # fmt: skip


def get_city(code: str) -> City:
    """Return the registered city for ``code``.

    Raises:
        UnknownCityError: If the code is not registered.
    """
    try:
        return CITIES[code]
    except KeyError:
        raise UnknownCityError(f"unknown city code {code!r}; known: {sorted(CITIES)}") from None


MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
"""Month abbreviations as Kalshi tickers and NWS climate reports write them."""


def event_ticker(series: str, day: date) -> str:
    """Kalshi's event ticker of a series' climate day: ``KXHIGHNY-26NOV27``."""
    return f"{series}-{day:%y}{MONTHS[day.month - 1]}{day.day:02d}"


def parse_event_ticker(ticker: str) -> tuple[str, date]:
    """``(series, climate day)`` of an event or market ticker (``KXHIGHNY-26NOV27[-B45.5]``).

    Raises:
        ValueError: If the ticker has no ``YYMONDD`` date part.
    """
    parts = ticker.upper().split("-")
    code = parts[1] if len(parts) > 1 else ""
    if len(code) != 7 or code[2:5] not in MONTHS or not (code[:2] + code[5:]).isdigit():
        raise ValueError(f"{ticker!r} is not a Kalshi event or market ticker")
    day = date(2000 + int(code[:2]), MONTHS.index(code[2:5]) + 1, int(code[5:]))
    return parts[0], day


def outside_records(code: str, values: Iterable[float]) -> list[float]:
    """The ``values`` that are impossible for the city: beyond its records by the margin."""
    low, high = get_city(code).plausible_range_f()
    return [v for v in values if not low <= v <= high]


def city_for_series(series_ticker: str) -> tuple[City, Kind]:
    """Map a Kalshi series ticker (``KXHIGHNY``; legacy ``HIGHNY``) to its city and kind.

    Raises:
        UnknownCityError: If no registered city trades that series.
    """
    wanted = series_ticker.upper()
    for city in CITIES.values():
        for kind in KINDS:
            series = city.series(kind)
            if wanted in (series, series.removeprefix("KX")):
                return city, kind
    raise UnknownCityError(f"no registered city trades series {series_ticker!r}")

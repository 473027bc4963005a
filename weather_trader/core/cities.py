"""The city registry: each tradable city with its settlement station and Kalshi series.

The settlement station is the one named in Kalshi's rules (the NWS Daily Climate Report of
that station), which is not always the airport people assume: Chicago settles on Midway and
Austin on Bergstrom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Literal

Kind = Literal["high", "low"]
KINDS: tuple[Kind, ...] = ("high", "low")


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

    @property
    def standard_tz(self) -> timezone:
        """The fixed standard-time zone of the climate day (no daylight saving)."""
        return timezone(timedelta(hours=self.std_utc_offset_hours))

    def series(self, kind: Kind) -> str:
        """The Kalshi series ticker for the daily ``high`` or ``low`` market."""
        return self.high_series if kind == "high" else self.low_series


CITIES: dict[str, City] = {
    c.code: c
    for c in (
        City("NYC", "New York (Central Park)", "KNYC", "CLINYC", "OKX",
             40.7789, -73.9692, -5, "America/New_York", "KXHIGHNY", "KXLOWTNYC"),
        City("CHI", "Chicago (Midway)", "KMDW", "CLIMDW", "LOT",
             41.7861, -87.7522, -6, "America/Chicago", "KXHIGHCHI", "KXLOWTCHI"),
        City("MIA", "Miami", "KMIA", "CLIMIA", "MFL",
             25.7881, -80.3169, -5, "America/New_York", "KXHIGHMIA", "KXLOWTMIA"),
        City("AUS", "Austin (Bergstrom)", "KAUS", "CLIAUS", "EWX",
             30.1831, -97.6799, -6, "America/Chicago", "KXHIGHAUS", "KXLOWTAUS"),
        City("LAX", "Los Angeles (LAX)", "KLAX", "CLILAX", "LOX",
             33.9382, -118.3866, -8, "America/Los_Angeles", "KXHIGHLAX", "KXLOWTLAX"),
        City("DEN", "Denver", "KDEN", "CLIDEN", "BOU",
             39.8466, -104.6562, -7, "America/Denver", "KXHIGHDEN", "KXLOWTDEN"),
        City("PHL", "Philadelphia", "KPHL", "CLIPHL", "PHI",
             39.8733, -75.2268, -5, "America/New_York", "KXHIGHPHIL", "KXLOWTPHIL"),
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

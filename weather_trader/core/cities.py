"""The city registry: each tradable city with its settlement station and Kalshi series.

The settlement station is the one named in Kalshi's rules (the NWS Daily Climate Report of
that station), which is not always the airport people assume: Chicago settles on Midway,
Austin on Bergstrom and Houston on Hobby (whose section is the *second* one of CLIHOU, after
Intercontinental).

Where each field comes from (checked by ``weather_trader_tests/core/test_stations_realdata.py``
wherever ``../shared/realdata`` has that station):

* ``cli_section``: the station heading of real CLI products ("...THE <section> CLIMATE
  SUMMARY FOR ..."), as NWS printed them in 2026 (CLIDCA, CLIHOU and CLINYC are in realdata).
* ``rules_names``: how Kalshi's ``rules_primary`` names the place, lower case. Where there are
  several, the first names the station itself ("recorded in Central Park, New York",
  "recorded at Chicago Midway, IL", as the original high series do) and the rest only the
  town (the ``KXLOWT*``/``KXHIGHT*`` series say "recorded at Chicago"). A town name alone
  does not identify a station (Chicago has Midway and O'Hare): it verifies a series only when
  the CLI product (the rules' "(CLIMDW)" or the settlement source's ``issuedby=MDW``)
  confirms the station, and never for a product that reports several stations
  (:data:`SHARED_CLI_PRODUCTS`: "recorded at Houston" with CLIHOU could be Intercontinental).
* ``lat``/``lon``: the ASOS site of the station (NWS ``/stations/{icao}`` and the NOAA normals
  station metadata), not the city centre: the model sources ask for these coordinates.
* ``grid``: a *default* NWS forecast grid cell. The NWS client resolves ``/points/{lat},{lon}``
  at runtime and uses what it returns; NYC's cell is the recorded ``/points`` answer, the others
  are estimates (the cell near the station, ~2 cells uncertain) and say so.
* ``record_high_f``/``record_low_f``: all-time extremes of the station's threaded climate record
  (NWS/NOWData, rounded; where the station's own period and the threaded city record differ,
  the wider one). :data:`RECORD_MARGIN_F` absorbs a degree of disagreement between sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Literal, NamedTuple

Kind = Literal["high", "low"]
KINDS: tuple[Kind, ...] = ("high", "low")
RECORD_MARGIN_F = 10.0
"""How far beyond a station's all-time records a value may go before it is called impossible."""


class UnknownCityError(KeyError):
    """Raised when a city code or series ticker is not in the registry."""


class GridPoint(NamedTuple):
    """An NWS forecast grid cell (``/gridpoints/{office}/{x},{y}``).

    Attributes:
        office: Forecast office id (``OKX``).
        x: Grid column.
        y: Grid row.
    """

    office: str
    x: int
    y: int


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
        cli_section: The station heading of its section in the CLI product, as printed between
            "...THE " and " CLIMATE SUMMARY" (``CENTRAL PARK NY``, ``HOUSTON/HOBBY AIRPORT``).
        rules_names: How Kalshi's rules text names the place, lower case, most specific first.
        grid: Default NWS forecast grid cell (the client resolves ``/points`` at runtime).
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
    cli_section: str
    rules_names: tuple[str, ...]
    grid: GridPoint

    @property
    def standard_tz(self) -> timezone:
        """The fixed standard-time zone of the climate day (no daylight saving)."""
        return timezone(timedelta(hours=self.std_utc_offset_hours))

    @property
    def station_rules_name(self) -> str | None:
        """The rules phrase that names the station itself (None: our rules names are towns)."""
        return self.rules_names[0] if len(self.rules_names) > 1 else None

    def plausible_range_f(self, margin_f: float = RECORD_MARGIN_F) -> tuple[float, float]:
        """Temperatures outside the station's records by more than ``margin_f`` are impossible."""
        return self.record_low_f - margin_f, self.record_high_f + margin_f

    def series(self, kind: Kind) -> str:
        """The Kalshi series ticker for the daily ``high`` or ``low`` market."""
        return self.high_series if kind == "high" else self.low_series


G = GridPoint
# code, name, station, CLI, office, lat, lon, std offset, zone, high/low series, records (F),
# CLI section, Kalshi rules names, default grid cell. "# grid ~" marks an estimated cell.
CITIES: dict[str, City] = {
    c.code: c
    for c in (
        City("NYC", "New York (Central Park)", "KNYC", "CLINYC", "OKX",
             40.7789, -73.9692, -5, "America/New_York", "KXHIGHNY", "KXLOWTNYC", 106, -15,
             "CENTRAL PARK NY", ("central park, new york", "new york city"), G("OKX", 34, 45)),
        City("CHI", "Chicago (Midway)", "KMDW", "CLIMDW", "LOT",
             41.7861, -87.7522, -6, "America/Chicago", "KXHIGHCHI", "KXLOWTCHI", 109, -27,
             "CHICAGO-MIDWAY", ("chicago midway", "chicago"), G("LOT", 72, 69)),  # grid ~
        City("MIA", "Miami", "KMIA", "CLIMIA", "MFL",
             25.7881, -80.3169, -5, "America/New_York", "KXHIGHMIA", "KXLOWTMIA", 100, 27,
             "MIAMI", ("miami international airport", "miami"), G("MFL", 105, 51)),  # grid ~
        City("AUS", "Austin (Bergstrom)", "KAUS", "CLIAUS", "EWX",
             30.1831, -97.6799, -6, "America/Chicago", "KXHIGHAUS", "KXLOWTAUS", 112, -2,
             "AUSTIN BERGSTROM", ("austin bergstrom", "austin"), G("EWX", 158, 87)),  # grid ~
        City("LAX", "Los Angeles (LAX)", "KLAX", "CLILAX", "LOX",
             33.9382, -118.3866, -8, "America/Los_Angeles", "KXHIGHLAX", "KXLOWTLAX", 111, 23,
             "LOS ANGELES INTL AIRPORT CA", ("los angeles airport", "los angeles"),
             G("LOX", 149, 39)),  # grid ~
        City("DEN", "Denver", "KDEN", "CLIDEN", "BOU",
             39.8466, -104.6562, -7, "America/Denver", "KXHIGHDEN", "KXLOWTDEN", 105, -29,
             "DENVER CO", ("denver, co", "denver"), G("BOU", 73, 65)),  # grid ~
        City("PHL", "Philadelphia", "KPHL", "CLIPHL", "PHI",
             39.8733, -75.2268, -5, "America/New_York", "KXHIGHPHIL", "KXLOWTPHIL", 106, -11,
             "PHILADELPHIA PA", ("philadelphia international airport", "philadelphia"),
             G("PHI", 47, 71)),  # grid ~
        City("ATL", "Atlanta (Hartsfield)", "KATL", "CLIATL", "FFC",
             33.6301, -84.4418, -5, "America/New_York", "KXHIGHTATL", "KXLOWTATL", 106, -8,
             "ATLANTA", ("atlanta",), G("FFC", 49, 81)),  # grid ~
        City("BOS", "Boston (Logan)", "KBOS", "CLIBOS", "BOX",
             42.3606, -71.0097, -5, "America/New_York", "KXHIGHTBOS", "KXLOWTBOS", 104, -18,
             "BOSTON MA", ("boston",), G("BOX", 72, 90)),  # grid ~
        City("DAL", "Dallas/Fort Worth (DFW)", "KDFW", "CLIDFW", "FWD",
             32.8975, -97.0219, -6, "America/Chicago", "KXHIGHTDAL", "KXLOWTDAL", 113, -8,
             "DALLAS/FORT WORTH", ("dallas",), G("FWD", 81, 109)),  # grid ~
        City("DC", "Washington (Reagan National)", "KDCA", "CLIDCA", "LWX",
             38.8483, -77.0342, -5, "America/New_York", "KXHIGHTDC", "KXLOWTDC", 106, -15,
             "WASHINGTON NATIONAL DC", ("washington dc",), G("LWX", 97, 69)),  # grid ~
        City("HOU", "Houston (Hobby)", "KHOU", "CLIHOU", "HGX",
             29.6381, -95.2819, -6, "America/Chicago", "KXHIGHTHOU", "KXLOWTHOU", 109, 5,
             "HOUSTON/HOBBY AIRPORT", ("houston hobby", "houston"), G("HGX", 66, 90)),  # grid ~
        City("LAS", "Las Vegas (Harry Reid)", "KLAS", "CLILAS", "VEF",
             36.0719, -115.1634, -8, "America/Los_Angeles", "KXHIGHTLV", "KXLOWTLV", 120, 8,
             "LAS VEGAS NV", ("las vegas",), G("VEF", 122, 94)),  # grid ~
        City("MSP", "Minneapolis (MSP)", "KMSP", "CLIMSP", "MPX",
             44.8831, -93.2289, -6, "America/Chicago", "KXHIGHTMIN", "KXLOWTMIN", 108, -41,
             "TWIN CITIES MN", ("minneapolis",), G("MPX", 108, 67)),  # grid ~
        City("MSY", "New Orleans (Armstrong)", "KMSY", "CLIMSY", "LIX",
             29.9933, -90.2511, -6, "America/Chicago", "KXHIGHTNOLA", "KXLOWTNOLA", 105, 11,
             "NEW ORLEANS", ("new orleans",), G("LIX", 61, 90)),  # grid ~
        City("OKC", "Oklahoma City (Will Rogers)", "KOKC", "CLIOKC", "OUN",
             35.3889, -97.6006, -6, "America/Chicago", "KXHIGHTOKC", "KXLOWTOKC", 113, -17,
             "OKLAHOMA CITY", ("oklahoma city",), G("OUN", 94, 91)),  # grid ~
        City("PHX", "Phoenix (Sky Harbor)", "KPHX", "CLIPHX", "PSR",
             33.4278, -112.0036, -7, "America/Phoenix", "KXHIGHTPHX", "KXLOWTPHX", 122, 16,
             "PHOENIX AZ", ("phoenix",), G("PSR", 162, 56)),  # grid ~
        City("SAT", "San Antonio (SAT)", "KSAT", "CLISAT", "EWX",
             29.5442, -98.4839, -6, "America/Chicago", "KXHIGHTSATX", "KXLOWTSATX", 111, 0,
             "SAN ANTONIO", ("san antonio",), G("EWX", 126, 59)),  # grid ~
        City("SEA", "Seattle (Sea-Tac)", "KSEA", "CLISEA", "SEW",
             47.4444, -122.3139, -8, "America/Los_Angeles", "KXHIGHTSEA", "KXLOWTSEA", 108, 0,
             "SEATTLE-TACOMA WA AIRPORT", ("seattle",), G("SEW", 125, 60)),  # grid ~
        City("SFO", "San Francisco (SFO)", "KSFO", "CLISFO", "MTR",
             37.6197, -122.3647, -8, "America/Los_Angeles", "KXHIGHTSFO", "KXLOWTSFO", 106, 20,
             "SAN FRANCISCO AIRPORT", ("san francisco",), G("MTR", 87, 98)),  # grid ~
    )
}  # fmt: skip
GRID_VERIFIED: frozenset[str] = frozenset({"NYC"})
SHARED_CLI_PRODUCTS: frozenset[str] = frozenset({"CLIHOU"})
"""CLI products that report several stations, of which we trade one (CLIHOU: Intercontinental
first, then Hobby): the product does not confirm which station a series settles on."""
"""Cities whose default grid cell is a recorded ``/points`` answer; the rest are estimates."""


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


def city_for_station(icao: str) -> City:
    """The registered city settling on station ``icao`` (``KHOU`` -> Houston Hobby).

    Raises:
        UnknownCityError: If no registered city settles on that station.
    """
    wanted = icao.strip().upper()
    for city in CITIES.values():
        if city.station == wanted:
            return city
    raise UnknownCityError(f"no registered city settles on station {icao!r}")


def city_for_cli(cli_product: str) -> list[City]:
    """The registered cities reading CLI product ``cli_product`` (``CLIHOU``), in registry order.

    A product may hold several stations; each city reads its own ``cli_section`` of it. Empty
    when no registered city uses the product.
    """
    wanted = cli_product.strip().upper()
    return [city for city in CITIES.values() if city.cli_product == wanted]

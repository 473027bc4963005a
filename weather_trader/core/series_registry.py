"""The series registry: what the exchange lists, reconciled with our station table.

Kalshi's series name their settlement station only in words: the rules text of their markets
("If the highest temperature recorded in Central Park, New York for July 12, 2026 as reported
by the National Weather Service's Climatological Report (Daily), is ...") and, until Aug 2026,
a settlement-source link to the station's CLI product
(``https://forecast.weather.gov/product.php?site=OKX&product=CLI&issuedby=NYC``). Since then
some series list The Weather Company as their source while the rules still quote the CLI
station, so the rules text is what names the station; the CLI link, when present, must agree.

A series is *verified* only when all of these hold:

* its ticker is a daily temperature series (``KXHIGH*`` high, ``KXLOWT*`` low) and its text
  does not say the other kind;
* its rules say the value is the NWS climate report's, and name a place that *is* one of a
  city's ``rules_names`` (case, spacing and a trailing state code aside: "Chicago Midway, IL"
  is "chicago midway"; "Houston Intercontinental" is not "houston");
* the CLI product its settlement source links to, or its rules quote ("(CLIHOU)"), if any,
  is that city's ``cli_product``; where the rules name only the town ("recorded at Chicago"),
  that CLI product must be there, and must report that one station (not CLIHOU, which
  reports Intercontinental and Hobby);
* its ticker is the one our table has for that city and kind (our feeds fetch markets by our
  table's ticker, so another ticker would never be traded correctly).

Anything else is listed unverified, with a reason a person can act on; an unverified series
is never traded. Wrong-station settlement is the most common bug of weather bots: this is
deliberately strict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from weather_trader.core.cities import (
    CITIES,
    KINDS,
    SHARED_CLI_PRODUCTS,
    City,
    Kind,
    UnknownCityError,
    city_for_cli,
    city_for_series,
)

KIND_PREFIXES: tuple[tuple[str, Kind], ...] = (
    ("KXHIGH", "high"),
    ("KXLOWT", "low"),
    ("HIGH", "high"),
    ("LOWT", "low"),
)
"""Ticker prefixes of Kalshi's daily temperature series and the kind each settles on (the
un-prefixed ones are the legacy ``HIGHNY`` form: listed, never ours, so never verified)."""
VERIFIED_REASON = "ok"

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
# "recorded in Central Park, New York for July 12, 2026" / "recorded at Chicago Midway, IL for
# January 26, 2025": the place runs up to "for|on <month>" (a place may itself hold commas).
_PLACE = re.compile(
    r"\btemperature\s+recorded\s+(?:in|at)\s+(?P<place>.+?)\s*,?\s+(?:for|on)\s+"
    rf"(?:{_MONTHS})\b",
    re.IGNORECASE,
)
# Without a date after it (unusual wording), the place ends at the source clause.
_PLACE_LOOSE = re.compile(
    r"\btemperature\s+recorded\s+(?:in|at)\s+(?P<place>.+?)\s*,?\s+"
    r"(?:for\b|on\b|as\s+reported\b|according\b|is\b)",
    re.IGNORECASE,
)
_NWS = re.compile(r"\b(?:national\s+weather\s+service|nws)\b", re.IGNORECASE)
_CLIMATE_REPORT = re.compile(r"\bclimat\w*\s+report\b", re.IGNORECASE)
_RULES_KIND = re.compile(r"\b(highest|lowest|maximum|minimum)\s+temperature\b", re.IGNORECASE)
_TITLE_KIND = re.compile(r"\b(highest|lowest|high|low|maximum|minimum)\b", re.IGNORECASE)
_WORD_KIND: dict[str, Kind] = {
    "highest": "high",
    "high": "high",
    "maximum": "high",
    "lowest": "low",
    "low": "low",
    "minimum": "low",
}
_CLI_IN_TEXT = re.compile(r"\b(CLI[A-Z]{3})\b")
_CLI_IN_TEXT_PAREN = re.compile(r"\(\s*CLI[A-Z]{3}\s*\)", re.IGNORECASE)
_STATE_SUFFIX = re.compile(r",\s*[a-z]{2}$")
_WEATHER_COMPANY = re.compile(r"weather\s*company|weather\.com", re.IGNORECASE)


@dataclass(frozen=True)
class SeriesListing:
    """What the exchange says about one series.

    Attributes:
        series_ticker: The series ticker (``KXHIGHNY``).
        title: The series title.
        settlement_sources: ``(name, url)`` of each settlement source the series lists.
        rules_primary: ``rules_primary`` of a market of a recent event; None when no event
            (with markets) was listed or the events could not be read.
        rules_error: Why the rules could not be read (the events request failed); empty when
            they were read or simply absent.
    """

    series_ticker: str
    title: str
    settlement_sources: tuple[tuple[str, str], ...]
    rules_primary: str | None
    rules_error: str = ""


@dataclass(frozen=True)
class RegistryEntry:
    """One series of the registry, with the station we settle it on and whether that is sure.

    ``city``, ``station`` and ``utc_offset`` come from our table (the best candidate city, for
    an unverified series too, so a person sees what it was compared with); ``cli_product`` is
    the settlement source's when it names one, else our table's. ``title`` is stored and shown
    but is not part of :meth:`as_json`.
    """

    series_ticker: str
    city: str | None
    kind: Kind | None
    station: str | None
    cli_product: str | None
    utc_offset: int | None
    verified: bool
    reason: str
    title: str = ""

    def as_json(self) -> dict[str, Any]:
        """The entry as ``weather-trader cities --json`` prints it."""
        return {
            "series_ticker": self.series_ticker,
            "city": self.city,
            "kind": self.kind,
            "station": self.station,
            "cli_product": self.cli_product,
            "utc_offset": self.utc_offset,
            "verified": self.verified,
            "reason": self.reason,
        }


def kind_of_ticker(series_ticker: str) -> Kind | None:
    """``high`` for ``KXHIGH*``, ``low`` for ``KXLOWT*`` (and their legacy forms without
    ``KX``), else None (not a temperature series)."""
    upper = series_ticker.upper()
    for prefix, kind in KIND_PREFIXES:
        if upper.startswith(prefix):
            return kind
    return None


def kind_of_text(rules: str | None, title: str) -> Kind | None:
    """The kind the words say: the rules' "highest/lowest temperature", else the title's
    high/low words; None when they say nothing or both."""
    if rules:
        said = {_WORD_KIND[m.lower()] for m in _RULES_KIND.findall(rules)}
        if len(said) == 1:
            return said.pop()
    said = {_WORD_KIND[m.lower()] for m in _TITLE_KIND.findall(title)}
    return said.pop() if len(said) == 1 else None


def rules_place(rules: str) -> str | None:
    """The place the rules say the temperature is recorded at, as written (None if unsaid)."""
    text = " ".join(rules.split())
    match = _PLACE.search(text) or _PLACE_LOOSE.search(text)
    if match is None:
        return None
    place = match.group("place").strip(" ,.")
    return place or None


def quotes_nws_climate_report(rules: str) -> bool:
    """Whether the rules settle on an NWS climate report (CLI), our truth label."""
    return bool(_NWS.search(rules) and _CLIMATE_REPORT.search(rules))


def cli_product_of_url(url: str) -> str | None:
    """The CLI product a settlement-source URL points at (``...product=CLI&issuedby=NYC`` ->
    ``CLINYC``); None for any other URL."""
    query = {k.lower(): v for k, v in parse_qs(urlparse(url.strip()).query).items()}
    product = [v.strip().upper() for v in query.get("product", [])]
    issued_by = [v.strip().upper() for v in query.get("issuedby", [])]
    if product != ["CLI"] or len(issued_by) != 1 or not issued_by[0].isalnum():
        return None
    return f"CLI{issued_by[0]}"


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).strip(" ,.")


def rules_clis(rules: str) -> list[str]:
    """CLI products the rules text itself names (``(CLIHOU)``), sorted."""
    return sorted({m.upper() for m in _CLI_IN_TEXT.findall(rules)})


def cities_named_by(place: str) -> list[City]:
    """Our cities one of whose ``rules_names`` *is* ``place`` (case, spacing, a trailing state
    code ", IL" and a "(CLIxxx)" aside).

    Containment is not enough: "Houston Intercontinental" contains "houston" but is not Hobby.
    """
    keys = _place_keys(place)
    return [c for c in CITIES.values() if keys & {_normal(p) for p in c.rules_names}]


def _place_keys(place: str) -> set[str]:
    """The forms of a rules place that may equal a rules name (with and without ", IL")."""
    key = _normal(_CLI_IN_TEXT_PAREN.sub(" ", place))
    return {key, _STATE_SUFFIX.sub("", key)}


def _city_of_ticker(series_ticker: str) -> City | None:
    try:
        return city_for_series(series_ticker)[0]
    except UnknownCityError:
        return None


def _entry(
    listing: SeriesListing,
    kind: Kind | None,
    city: City | None,
    cli: str | None,
    reason: str,
    *,
    verified: bool = False,
) -> RegistryEntry:
    return RegistryEntry(
        series_ticker=listing.series_ticker,
        city=city.code if city else None,
        kind=kind,
        station=city.station if city else None,
        cli_product=cli or (city.cli_product if city else None),
        utc_offset=city.std_utc_offset_hours if city else None,
        verified=verified,
        reason=reason,
        title=listing.title,
    )


def reconcile_one(listing: SeriesListing) -> RegistryEntry:
    """Reconcile one series with our table (see the module docstring for the rule)."""
    ticker = listing.series_ticker
    rules = listing.rules_primary
    kind = kind_of_ticker(ticker)
    ticker_city = _city_of_ticker(ticker)
    if kind is None:
        return _entry(
            listing, None, None, None, f"not a daily temperature series (ticker {ticker})"
        )
    said = kind_of_text(rules, listing.title)

    linked = sorted({c for _, url in listing.settlement_sources if (c := cli_product_of_url(url))})
    quoted = rules_clis(rules) if rules else []
    # The CLI product the exchange names: its settlement link's, else the rules text's.
    cli = (linked or quoted)[0] if len(linked or quoted) == 1 else None
    cli_cities = city_for_cli(cli) if cli else []
    # The city shown for an unverified series: the CLI product's, else our ticker's.
    fallback = cli_cities[0] if len(cli_cities) == 1 else ticker_city

    def unverified(reason: str, city: City | None = fallback) -> RegistryEntry:
        return _entry(listing, kind, city, cli, reason)

    if said is not None and said != kind:
        return unverified(f"the text says a daily {said} but {ticker} is a {kind} series ticker")
    if len(linked) > 1:
        return unverified(f"the settlement sources name several CLI products: {', '.join(linked)}")
    if len(quoted) > 1:
        return unverified(f"the rules name several CLI products: {', '.join(quoted)}")
    if linked and quoted and linked != quoted:
        return unverified(f"the settlement source names {linked[0]} but the rules name {quoted[0]}")
    if rules is None:
        if listing.rules_error:
            return unverified(f"no rules text: the events request failed ({listing.rules_error})")
        return unverified("no rules text seen yet (no event listed)")
    place = rules_place(rules)
    if place is None:
        return unverified("the rules do not say where the temperature is recorded")
    named = cities_named_by(place)
    if len(named) > 1:
        codes = ", ".join(c.code for c in named)
        return unverified(f"rules name '{place}', which matches several of our stations: {codes}")
    if not named:
        if cli and not cli_cities:
            return unverified(
                f"no station in our table for CLI product {cli} (rules name '{place}')"
            )
        if fallback is not None:
            where = cli if cli_cities else ticker
            return unverified(
                f"rules name '{place}' but our station for {where} is {fallback.name}"
            )
        return unverified(f"no station in our table for '{place}'")
    city = named[0]
    town_only = _normal(city.station_rules_name or "") not in _place_keys(place)
    if town_only and city.cli_product in SHARED_CLI_PRODUCTS:
        return unverified(
            f"rules name only the town '{place}', and {city.cli_product} reports several "
            f"stations: they do not say it is {city.name}",
            city,
        )
    if town_only and cli is None:
        return unverified(
            f"rules name only the town '{place}' and no CLI product confirms the station "
            f"({city.name}, {city.cli_product})",
            city,
        )
    if cli is not None and cli != city.cli_product:
        if not cli_cities:
            return unverified(
                f"no station in our table for CLI product {cli} (rules name '{place}', our "
                f"{city.name} settles on {city.cli_product})",
                city,
            )
        named_by = "settlement source is" if linked else "rules quote"
        return unverified(
            f"{named_by} {cli} but rules name '{place}', whose CLI is {city.cli_product}", city
        )
    if not quotes_nws_climate_report(rules):
        twc = any(_WEATHER_COMPANY.search(f"{n} {u}") for n, u in listing.settlement_sources)
        source = "settles on The Weather Company and " if twc and cli is None else ""
        return unverified(
            f"{source}the rules do not quote the NWS climate report our settlement reads", city
        )
    ours = city.series(kind)
    if ticker != ours:
        return unverified(
            f"series ticker {ticker} but our table has {ours} for {city.name} {kind} (our feeds "
            "fetch markets by our ticker)",
            city,
        )
    return _entry(listing, kind, city, cli, VERIFIED_REASON, verified=True)


def reconcile(listings: Iterable[SeriesListing]) -> list[RegistryEntry]:
    """Reconcile every listed series with our table, sorted by series ticker."""
    return sorted((reconcile_one(x) for x in listings), key=lambda e: e.series_ticker)


def unlisted_series(entries: Iterable[RegistryEntry]) -> list[str]:
    """Our table's series tickers the exchange did not list (sorted): cities we know of that
    the registry cannot trade."""
    listed = {e.series_ticker for e in entries}
    ours = {c.series(k) for c in CITIES.values() for k in KINDS}
    return sorted(ours - listed)

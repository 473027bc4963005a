"""Reconciling discovered series with our station table: real rules text verifies, every
doctored difference (station, CLI product, source, ticker, kind, no events) is unverified with
a reason that says what differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weather_trader.core.cities import CITIES, KINDS, get_city
from weather_trader.core.series_registry import (
    SeriesListing,
    cli_product_of_url,
    quotes_nws_climate_report,
    reconcile,
    reconcile_one,
    rules_place,
    unlisted_series,
)

JSON_KEYS = [
    "series_ticker", "city", "kind", "station", "cli_product", "utc_offset", "verified", "reason",
]  # fmt: skip
NYC_SOURCE = (
    "National Weather Service",
    "https://forecast.weather.gov/product.php?site=OKX&product=CLI&issuedby=NYC",
)
MDW_SOURCE = (
    "National Weather Service",
    "https://forecast.weather.gov/product.php?site=LOT&product=CLI&issuedby=MDW",
)
TWC_SOURCE = ("The Weather Company", "https://weather.com/")


def cli_source(office: str, cli: str) -> tuple[str, str]:
    """A settlement source in the real URL form, for ``cli`` (``CLIHOU``)."""
    return (
        "National Weather Service",
        f"https://forecast.weather.gov/product.php?site={office}&product=CLI&issuedby={cli[3:]}",
    )


@pytest.fixture(scope="module")
def nyc_rules(realdata_dir: Path) -> str:
    """The real 2026 KXHIGHNY rules text ("... recorded in Central Park, New York for July 12,
    2026 as reported by the National Weather Service's Climatological Report (Daily) ...")."""
    data = json.loads(
        (realdata_dir / "kalshi/tMer234_trimmed/kxhighny_open_trimmed.json").read_text()
    )
    return data["markets"][0]["rules_primary"]


@pytest.fixture(scope="module")
def chi_rules(realdata_dir: Path) -> str:
    """The real 2025 KXHIGHCHI rules text ("... recorded at Chicago Midway, IL for January 26,
    2025, is less than 23° according to the NWS's Daily Climate Report ...")."""
    data = json.loads(
        (realdata_dir / "kalshi/cpratim/events/kxhighchi/2025-01-26.json").read_text()
    )
    return data["markets"][0]["rules_primary"]


def listing(
    ticker: str, rules: str | None, *sources: tuple[str, str], title: str = "", error: str = ""
) -> SeriesListing:
    return SeriesListing(ticker, title, tuple(sources), rules, rules_error=error)


# -- real rules text --------------------------------------------------------------------------


def test_real_nyc_and_chicago_rules_verify_their_series(nyc_rules: str, chi_rules: str) -> None:
    entries = reconcile(
        [listing("KXHIGHNY", nyc_rules, NYC_SOURCE), listing("KXHIGHCHI", chi_rules, MDW_SOURCE)]
    )

    assert [e.as_json() for e in entries] == [
        {"series_ticker": "KXHIGHCHI", "city": "CHI", "kind": "high", "station": "KMDW",
         "cli_product": "CLIMDW", "utc_offset": -6, "verified": True, "reason": "ok"},
        {"series_ticker": "KXHIGHNY", "city": "NYC", "kind": "high", "station": "KNYC",
         "cli_product": "CLINYC", "utc_offset": -5, "verified": True, "reason": "ok"},
    ]  # fmt: skip
    assert list(entries[0].as_json()) == JSON_KEYS


def test_real_rules_name_the_place_and_the_nws_report(nyc_rules: str, chi_rules: str) -> None:
    assert rules_place(nyc_rules) == "Central Park, New York"
    assert rules_place(chi_rules) == "Chicago Midway, IL"
    assert quotes_nws_climate_report(nyc_rules)  # "National Weather Service's Climatological"
    assert quotes_nws_climate_report(chi_rules)  # "the NWS's Daily Climate Report"


def test_every_recorded_event_verifies_its_series_and_legacy_tickers_do_not(
    realdata_dir: Path,
) -> None:
    """Every recorded NYC and Chicago event (2024-08 .. 2025-05, both rules wordings)."""
    seen: dict[str, int] = {}
    for folder in ("kxhighny", "kxhighchi"):
        for path in sorted((realdata_dir / "kalshi/cpratim/events" / folder).glob("*.json")):
            data = json.loads(path.read_text())
            series = data["event"]["series_ticker"]
            city = "NYC" if folder == "kxhighny" else "CHI"
            source = NYC_SOURCE if city == "NYC" else MDW_SOURCE
            entry = reconcile_one(listing(series, data["markets"][0]["rules_primary"], source))
            if series.startswith("KX"):
                assert entry.verified and entry.city == city, (path, entry)
            else:  # HIGHNY-24AUG16: the rules name the right station, the ticker is not ours
                assert not entry.verified and "our table has KXHIGH" in entry.reason, path
            seen[series] = seen.get(series, 0) + 1
    assert seen.get("KXHIGHNY", 0) > 200 and seen.get("KXHIGHCHI", 0) > 200


def test_weather_company_source_with_the_cli_station_in_the_rules_verifies(
    nyc_rules: str,
) -> None:
    """Since Aug 2026 the source is The Weather Company; the rules still quote the CLI station."""
    entry = reconcile_one(listing("KXHIGHNY", nyc_rules, TWC_SOURCE))

    assert entry.verified and entry.station == "KNYC" and entry.cli_product == "CLINYC"


# -- doctored series --------------------------------------------------------------------------


def test_rules_naming_intercontinental_do_not_verify_hobby(nyc_rules: str) -> None:
    hou = get_city("HOU")
    rules = nyc_rules.replace("Central Park, New York", "Houston Intercontinental")
    entry = reconcile_one(
        listing(hou.series("high"), rules, cli_source(hou.nws_office, hou.cli_product))
    )

    assert not entry.verified
    assert entry.reason == (
        f"rules name 'Houston Intercontinental' but our station for {hou.cli_product} is {hou.name}"
    )
    assert entry.city == "HOU" and entry.station == hou.station


def test_a_cli_product_we_do_not_have_is_unverified(nyc_rules: str) -> None:
    entry = reconcile_one(listing("KXHIGHNY", nyc_rules, cli_source("OKX", "CLIXYZ")))

    assert not entry.verified
    assert entry.reason.startswith("no station in our table for CLI product CLIXYZ")
    assert entry.cli_product == "CLIXYZ"


def test_a_cli_product_of_another_city_is_unverified(nyc_rules: str) -> None:
    entry = reconcile_one(listing("KXHIGHNY", nyc_rules, MDW_SOURCE))

    assert not entry.verified
    assert entry.reason == (
        "settlement source is CLIMDW but rules name 'Central Park, New York', whose CLI is CLINYC"
    )


def test_weather_company_only_without_the_nws_report_is_unverified(nyc_rules: str) -> None:
    rules = nyc_rules.replace(
        "the National Weather Service's Climatological Report (Daily)", "The Weather Company"
    )
    assert rules != nyc_rules
    entry = reconcile_one(listing("KXHIGHNY", rules, TWC_SOURCE))

    assert not entry.verified
    assert entry.reason.startswith("settles on The Weather Company and the rules do not quote")


def test_no_event_listed_is_unverified_but_shows_our_candidate() -> None:
    entry = reconcile_one(listing("KXHIGHNY", None, NYC_SOURCE, title="Highest temperature in NYC"))

    assert not entry.verified
    assert entry.reason == "no rules text seen yet (no event listed)"
    assert (entry.city, entry.kind, entry.station, entry.utc_offset) == ("NYC", "high", "KNYC", -5)


def test_a_failed_events_request_says_why() -> None:
    error = "Kalshi GET /trade-api/v2/events failed: HTTP 503 unavailable: down"
    entry = reconcile_one(listing("KXLOWTNYC", None, NYC_SOURCE, error=error))

    assert not entry.verified and entry.kind == "low"
    assert entry.reason == f"no rules text: the events request failed ({error})"


def test_a_ticker_other_than_ours_is_unverified(nyc_rules: str) -> None:
    entry = reconcile_one(listing("KXHIGHTNYC", nyc_rules, NYC_SOURCE))

    assert not entry.verified and entry.city == "NYC"
    assert entry.reason.startswith("series ticker KXHIGHTNYC but our table has KXHIGHNY")


def test_rules_of_the_other_kind_are_unverified(nyc_rules: str) -> None:
    rules = nyc_rules.replace("highest", "lowest")
    entry = reconcile_one(listing("KXHIGHNY", rules, NYC_SOURCE))

    assert not entry.verified
    assert entry.reason == "the text says a daily low but KXHIGHNY is a high series ticker"


def test_the_low_series_verifies_on_lowest_rules(nyc_rules: str) -> None:
    nyc = get_city("NYC")
    rules = nyc_rules.replace("highest", "lowest")
    entry = reconcile_one(listing(nyc.low_series, rules, NYC_SOURCE))

    assert entry.verified and entry.kind == "low"


def test_not_a_temperature_series() -> None:
    entry = reconcile_one(listing("KXRAINNYC", "If it rains in Central Park ...", NYC_SOURCE))

    assert not entry.verified and entry.kind is None and entry.city is None
    assert entry.reason == "not a daily temperature series (ticker KXRAINNYC)"


def test_several_cli_products_are_unverified(nyc_rules: str) -> None:
    entry = reconcile_one(listing("KXHIGHNY", nyc_rules, NYC_SOURCE, MDW_SOURCE))

    assert not entry.verified
    assert entry.reason == "the settlement sources name several CLI products: CLIMDW, CLINYC"


def test_a_place_we_do_not_know_is_unverified(nyc_rules: str) -> None:
    rules = nyc_rules.replace("Central Park, New York", "Nowhere Field, ZZ")
    entry = reconcile_one(listing("KXHIGHTZZZ", rules))

    assert not entry.verified and entry.city is None
    assert entry.reason == "no station in our table for 'Nowhere Field, ZZ'"


def test_a_cli_product_quoted_by_the_rules_must_agree_with_the_link(nyc_rules: str) -> None:
    hou = get_city("HOU")
    rules = nyc_rules.replace("Central Park, New York", f"{hou.rules_names[0]} ({hou.cli_product})")
    alone = reconcile_one(listing(hou.series("high"), rules, TWC_SOURCE))
    clash = reconcile_one(listing(hou.series("high"), rules, cli_source("HGX", "CLIIAH")))

    assert alone.verified and alone.cli_product == hou.cli_product
    assert not clash.verified
    assert (
        clash.reason == f"the settlement source names CLIIAH but the rules name {hou.cli_product}"
    )


def test_a_cli_product_quoted_for_another_station_is_unverified(nyc_rules: str) -> None:
    rules = nyc_rules.replace("Central Park, New York", "Central Park, New York (CLIMDW)")
    entry = reconcile_one(listing("KXHIGHNY", rules, TWC_SOURCE))

    assert not entry.verified and entry.city == "NYC"
    assert entry.reason == (
        "rules quote CLIMDW but rules name 'Central Park, New York (CLIMDW)', whose CLI is CLINYC"
    )


def test_a_place_is_matched_whole_not_by_a_word_it_contains(nyc_rules: str) -> None:
    """ "Central Park, New York" verifies NYC; a place that only contains it does not."""
    rules = nyc_rules.replace("Central Park, New York", "Central Park, New York Botanical Garden")
    entry = reconcile_one(listing("KXHIGHNY", rules, NYC_SOURCE))

    assert not entry.verified
    assert entry.reason.startswith("rules name 'Central Park, New York Botanical Garden' but")


def test_a_town_name_verifies_only_with_the_cli_product_confirming_the_station(
    nyc_rules: str,
) -> None:
    """ "Recorded at Chicago" could be O'Hare: only CLIMDW says it is Midway."""
    rules = nyc_rules.replace("Central Park, New York", "Chicago")
    confirmed = reconcile_one(listing("KXLOWTCHI", rules.replace("highest", "lowest"), MDW_SOURCE))
    alone = reconcile_one(listing("KXLOWTCHI", rules.replace("highest", "lowest"), TWC_SOURCE))

    assert confirmed.verified, confirmed.reason
    assert not alone.verified and alone.city == "CHI"
    assert alone.reason == (
        "rules name only the town 'Chicago' and no CLI product confirms the station "
        "(Chicago (Midway), CLIMDW)"
    )


def test_houston_by_town_name_is_unverified_because_clihou_reports_two_stations(
    nyc_rules: str,
) -> None:
    hou = get_city("HOU")
    town = reconcile_one(
        listing(hou.series("high"), nyc_rules.replace("Central Park, New York", "Houston (CLIHOU)"))
    )
    hobby = reconcile_one(
        listing(
            hou.series("high"),
            nyc_rules.replace("Central Park, New York", "Houston Hobby"),
            cli_source("HGX", "CLIHOU"),
        )
    )

    assert not town.verified
    assert "CLIHOU reports several stations" in town.reason
    assert hobby.verified, hobby.reason


def test_rules_without_a_place_are_unverified() -> None:
    entry = reconcile_one(
        listing("KXHIGHNY", "The highest temperature in NYC decides.", NYC_SOURCE)
    )

    assert not entry.verified
    assert entry.reason == "the rules do not say where the temperature is recorded"


# -- our table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(CITIES))
@pytest.mark.parametrize("kind", KINDS)
def test_every_city_of_our_table_verifies_on_its_own_rules_name(code: str, kind: str) -> None:
    """Each city's first rules name identifies it alone (no two cities' names collide)."""
    city = get_city(code)
    word = "highest" if kind == "high" else "lowest"
    rules = (
        f"If the {word} temperature recorded at {city.rules_names[0].title()} for March 3, 2026 "
        "as reported by the National Weather Service's Climatological Report (Daily), is "
        "greater than 50°, then the market resolves to Yes."
    )
    entry = reconcile_one(
        listing(city.series(kind), rules, cli_source(city.nws_office, city.cli_product))  # type: ignore[arg-type]
    )

    assert entry.verified, entry.reason
    assert (entry.city, entry.station, entry.utc_offset) == (
        code, city.station, city.std_utc_offset_hours,
    )  # fmt: skip


def test_unlisted_series_are_ours_the_exchange_did_not_list(nyc_rules: str) -> None:
    entries = reconcile([listing("KXHIGHNY", nyc_rules, NYC_SOURCE)])
    missing = unlisted_series(entries)

    assert "KXHIGHNY" not in missing and "KXLOWTNYC" in missing
    assert len(missing) == 2 * len(CITIES) - 1


@pytest.mark.parametrize(
    ("url", "cli"),
    [
        ("https://forecast.weather.gov/product.php?site=OKX&product=CLI&issuedby=NYC", "CLINYC"),
        ("https://forecast.weather.gov/product.php?site=lot&issuedby=mdw&product=cli", "CLIMDW"),
        ("https://forecast.weather.gov/product.php?site=OKX&product=CF6&issuedby=NYC", None),
        ("https://www.weather.gov/wrh/climate?wfo=okx", None),
        ("https://weather.com/", None),
        ("", None),
    ],
)
def test_cli_product_of_a_settlement_source_url(url: str, cli: str | None) -> None:
    assert cli_product_of_url(url) == cli

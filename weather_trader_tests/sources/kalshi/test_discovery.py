"""Discovering the temperature series and their rules text through the REST client (mocked HTTP,
real recorded market bodies)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.series_registry import SeriesListing, reconcile
from weather_trader.sources.kalshi.discovery import EVENTS_PER_SERIES, discover_listings
from weather_trader.sources.kalshi.errors import KalshiMalformedResponse, KalshiUnavailable
from weather_trader_tests.sources.kalshi.rest_support import BASE, make, url

NYC_CLI = "https://forecast.weather.gov/product.php?site=OKX&product=CLI&issuedby=NYC"


def series(ticker: str, *sources: tuple[str, str]) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "frequency": "daily",
        "title": f"{'Lowest' if 'LOW' in ticker else 'Highest'} temperature ({ticker})",
        "category": "Climate and Weather",
        "tags": ["Weather"],
        "settlement_sources": [{"name": n, "url": u} for n, u in sources],
        "contract_url": "",
        "contract_terms_url": "",
        "fee_type": "quadratic",
        "fee_multiplier": 1,
        "additional_prohibitions": [],
    }


def events_url(series_ticker: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(BASE + "/events") + rf"\?(.*&)?series_ticker={series_ticker}(&.*)?$"
    )


@pytest.fixture
def real_markets(realdata_dir: Path) -> list[dict[str, Any]]:
    """Real 2026 KXHIGHNY markets (dollar-string fields, the real rules text)."""
    path = realdata_dir / "kalshi/tMer234_trimmed/kxhighny_open_trimmed.json"
    return json.loads(path.read_text())["markets"]


def event(ticker: str, markets: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_ticker": ticker,
        "series_ticker": ticker.split("-")[0],
        "title": "Highest temperature in NYC on Jul 12, 2026?",
        "sub_title": "On Jul 12, 2026",
    }
    if markets is not None:
        body["markets"] = markets
    return body


def test_listings_carry_the_sources_and_a_recent_events_rules(
    httpx_mock: HTTPXMock, real_markets: list[dict[str, Any]]
) -> None:
    httpx_mock.add_response(
        url=url("/series"),
        json={
            "series": [
                series("KXLOWTNYC", ("NWS", NYC_CLI)),
                series("KXRAINNYC"),
                series("KXHIGHNY", ("National Weather Service", NYC_CLI)),
            ]
        },
    )
    # The first event has no markets nested: the rules come from the next one.
    httpx_mock.add_response(
        url=events_url("KXHIGHNY"),
        json={
            "events": [event("KXHIGHNY-26JUL13", []), event("KXHIGHNY-26JUL12", real_markets)],
            "cursor": "more",
        },
    )
    httpx_mock.add_response(url=events_url("KXLOWTNYC"), json={"events": [], "cursor": ""})

    listings = discover_listings(make())

    assert listings == [
        SeriesListing(
            "KXHIGHNY",
            "Highest temperature (KXHIGHNY)",
            (("National Weather Service", NYC_CLI),),
            real_markets[0]["rules_primary"],
        ),
        SeriesListing("KXLOWTNYC", "Lowest temperature (KXLOWTNYC)", (("NWS", NYC_CLI),), None),
    ]
    request = httpx_mock.get_requests(url=events_url("KXHIGHNY"))[0]
    assert request.url.params["with_nested_markets"] == "true"
    assert request.url.params["limit"] == str(EVENTS_PER_SERIES)
    assert len(httpx_mock.get_requests(url=events_url("KXHIGHNY"))) == 1  # one page only

    entries = reconcile(listings)
    assert [(e.series_ticker, e.verified, e.reason) for e in entries] == [
        ("KXHIGHNY", True, "ok"),
        ("KXLOWTNYC", False, "no rules text seen yet (no event listed)"),
    ]


def test_a_failing_events_request_lists_the_series_with_the_error(
    httpx_mock: HTTPXMock, real_markets: list[dict[str, Any]]
) -> None:
    httpx_mock.add_response(
        url=url("/series"), json={"series": [series("KXHIGHNY"), series("KXLOWTNYC")]}
    )
    httpx_mock.add_response(
        url=events_url("KXHIGHNY"),
        json={"events": [event("KXHIGHNY-26JUL12", real_markets)], "cursor": ""},
    )
    httpx_mock.add_response(url=events_url("KXLOWTNYC"), status_code=503, is_reusable=True)

    listings = discover_listings(make())

    low = listings[1]
    assert low.rules_primary is None and "HTTP 503" in low.rules_error
    assert "/trade-api/v2/events" in low.rules_error
    assert listings[0].rules_primary == real_markets[0]["rules_primary"]
    entry = reconcile([low])[0]
    assert not entry.verified
    assert entry.reason.startswith("no rules text: the events request failed (Kalshi GET")


def test_a_malformed_events_body_is_recorded_like_a_failure(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/series"), json={"series": [series("KXHIGHNY")]})
    httpx_mock.add_response(url=events_url("KXHIGHNY"), json={"events": "not a list"})

    (listing,) = discover_listings(make())

    assert listing.rules_primary is None and "expected a list" in listing.rules_error


def test_a_failing_series_request_raises_the_clients_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/series"), status_code=503, is_reusable=True)

    with pytest.raises(KalshiUnavailable):
        discover_listings(make())


def test_a_malformed_series_list_raises(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/series"), json={"series": [{"title": "no ticker"}]})

    with pytest.raises(KalshiMalformedResponse):
        discover_listings(make())

"""The local exchange's series and rules read like Kalshi's real ones, so discovery reconciles
them exactly as it does Kalshi's (the sim's series verify; the real wording is the template)."""

from __future__ import annotations

import json
from pathlib import Path

from weather_trader.core.cities import CITIES
from weather_trader.core.series_registry import SeriesListing, reconcile, rules_place
from weather_trader.sim.market import event_ticker
from weather_trader_tests.sim.exchange.conftest import T0, Exchange


def test_nyc_rules_follow_kalshis_wording(shared: Exchange, realdata_dir: Path) -> None:
    real = json.loads(
        (realdata_dir / "kalshi/tMer234_trimmed/kxhighny_open_trimmed.json").read_text()
    )["markets"][0]["rules_primary"]
    body = shared.api().get(f"/events/{event_ticker('KXHIGHNY', T0.date())}").json()
    ours = body["markets"][0]["rules_primary"]

    lead = "If the highest temperature recorded in Central Park, New York for "
    assert real.startswith(lead) and ours.startswith(lead + "November 20, 2026 as reported by ")
    tail = "as reported by the National Weather Service's Climatological Report (Daily), is "
    assert tail in real and tail in ours
    assert rules_place(ours) == rules_place(real) == "Central Park, New York"


def test_every_sim_series_verifies_from_what_the_exchange_serves(shared: Exchange) -> None:
    api = shared.api()
    listings = []
    for s in api.get("/series").json()["series"]:
        events = api.get(
            "/events", params={"series_ticker": s["ticker"], "with_nested_markets": "true"}
        ).json()["events"]
        rules = events[0]["markets"][0]["rules_primary"]
        sources = tuple((x["name"], x["url"]) for x in s["settlement_sources"])
        listings.append(SeriesListing(s["ticker"], s["title"], sources, rules))

    entries = reconcile(listings)

    assert [(e.series_ticker, e.reason) for e in entries if not e.verified] == []
    assert {e.city for e in entries} == set(CITIES)

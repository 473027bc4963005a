"""``/`` and ``/api/overview``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from weather_trader_tests.api.conftest import TestClient


def test_api_overview_numbers(client: TestClient, seeded: dict[str, Any]) -> None:
    body = client.get("/api/overview").json()

    assert Decimal(body["bankroll"]) == Decimal("500")
    assert Decimal(body["pnl"]["today"]) == seeded["pnl_today"]
    assert Decimal(body["pnl"]["total"]) == seeded["pnl_total"]
    assert Decimal(body["open_exposure"]) == seeded["open_exposure"]
    positions = {(p["ticker"], p["outcome_side"]): p for p in body["open_positions"]}
    assert set(positions) == {
        ("KXHIGHNY-26JAN15-B45.5", "yes"),
        ("KXHIGHNY-26JAN15-B47.5", "no"),
    }  # the settled CHI position is not open
    assert positions[("KXHIGHNY-26JAN15-B45.5", "yes")]["count"] == 10
    assert Decimal(positions[("KXHIGHNY-26JAN15-B47.5", "no")]["cost"]) == Decimal("1.50")
    # Latest first, skipped ones included with their reason.
    assert [(d["ticker"], d["taken"]) for d in body["decisions"]] == [
        ("KXHIGHNY-26JAN15-B49.5", False),
        ("KXHIGHNY-26JAN15-B45.5", True),
    ]
    assert body["decisions"][0]["reason"] == "edge 0.01 below min_edge 0.03"
    freshness = {f["product"]: f for f in body["freshness"]}
    assert set(freshness) == {
        "forecasts", "observations", "climate_reports", "markets", "distributions",
        "decisions", "orders", "settlements",
    }  # fmt: skip
    forecasts = freshness["forecasts"]
    assert datetime.fromisoformat(forecasts["latest"]) == seeded["forecast_retrieved"]
    assert 7200 <= forecasts["age_seconds"] < 7200 + 60
    assert forecasts["rows"] == 1
    assert datetime.fromisoformat(freshness["decisions"]["latest"]) == seeded["latest_decision_at"]
    assert freshness["orders"]["rows"] == 3
    assert freshness["observations"] == {
        "product": "observations", "column": "observations.observed_at", "latest": None,
        "age_seconds": None, "rows": 0,
    }  # fmt: skip
    assert body["last_event_id"] == seeded["event_ids"][-1]
    assert [e["id"] for e in body["recent_events"]] == seeded["event_ids"][::-1]


def test_api_overview_empty_database(client: TestClient) -> None:
    body = client.get("/api/overview").json()

    assert body["open_positions"] == [] and body["decisions"] == []
    assert Decimal(body["pnl"]["total"]) == 0 and Decimal(body["pnl"]["today"]) == 0
    assert body["last_event_id"] == 0


def test_overview_page_renders_seeded_data(client: TestClient, seeded: dict[str, Any]) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "KXHIGHNY-26JAN15-B45.5" in html and "KXHIGHNY-26JAN15-B47.5" in html
    assert "edge 0.01 below min_edge 0.03" in html and "skipped" in html
    assert "-$2.59" in html  # P&L today
    assert "$3.41" in html  # P&L total
    assert "$500.00" in html  # bankroll
    assert f'data-last-event-id="{seeded["event_ids"][-1]}"' in html
    assert client.get("/static/style.css").status_code == 200
    assert "/ws?batch=true&last_event_id=" in client.get("/static/app.js").text

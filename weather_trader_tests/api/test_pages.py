"""The dashboard pages render the seeded data, with SVG plots and no inline script."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from weather_trader.core.records import ClimateReport, ForecastPoint, MarketSnapshot
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.schemas import DistributionRecord
from weather_trader_tests.api.conftest import DAY, TestClient

PAGES = ("/", "/markets", "/trades", "/performance", "/backtests", "/settings", "/logs")


def _market(ticker: str, strike: str, floor: int | None, cap: int | None) -> MarketSnapshot:
    at = datetime(2026, 1, 14, 15, tzinfo=UTC)
    return MarketSnapshot(
        ticker=ticker, event_ticker="KXHIGHNY-26JAN15", series_ticker="KXHIGHNY", city="NYC",
        climate_date=DAY, kind="high", strike_type=strike, floor_strike=floor, cap_strike=cap,
        captured_at=at, close_time=at + timedelta(days=1),
    )  # fmt: skip


@pytest.fixture
def market_day(engine: Engine, seeded: dict[str, Any]) -> None:
    """NYC's high on DAY: three brackets, a distribution, probabilities, a final report of 46."""
    as_of = datetime(2026, 1, 14, 15, tzinfo=UTC)
    markets = [
        _market("KXHIGHNY-26JAN15-T45", "less", None, 45),
        _market("KXHIGHNY-26JAN15-B45.5", "between", 45, 46),
        _market("KXHIGHNY-26JAN15-T46", "greater", 46, None),
    ]
    with session_scope(engine) as session:
        repo.replace_markets(session, "NYC", DAY, markets)
        repo.replace_distribution(
            session,
            DistributionRecord(
                city="NYC", climate_date=DAY, kind="high", as_of=as_of, method="normal",
                model_version="v1", mu=46.5, sigma=1.5, n_forecasts=1,
            ),
        )  # fmt: skip
        repo.replace_bracket_probabilities(
            session,
            "NYC",
            DAY,
            pd.DataFrame(
                {
                    "kind": "high", "ticker": [m.ticker for m in markets], "as_of": as_of,
                    "p_model": [0.2, 0.5, 0.3], "p_market": [0.3, 0.4, 0.3],
                    "yes_bid": ["0.29", "0.39", "0.29"], "yes_ask": ["0.31", "0.41", "0.31"],
                }
            ),
        )  # fmt: skip
        repo.append_forecasts(
            session,
            [
                ForecastPoint(
                    city="NYC", climate_date=DAY, kind="high", source="sim", model=model,
                    issued_at=as_of - timedelta(hours=6), retrieved_at=as_of - timedelta(hours=5),
                    value_f=value,
                )
                for model, value in (("gfs", 47.5), ("ecmwf", 45.8))
            ],
        )  # fmt: skip
        for m, result in zip(markets, ("no", "yes", "no"), strict=True):
            repo.set_market_result(session, m.ticker, result=result, settled_value=46)
        repo.upsert_climate_reports(
            session,
            [
                ClimateReport(
                    city="NYC", product="CLINYC", climate_date=DAY, max_f=46, min_f=30,
                    final=True, issued_at=as_of + timedelta(days=1), text="",
                )
            ],
        )  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_inline_script(
    client: TestClient, seeded: dict[str, Any], path: str
) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "cdn" not in response.text.lower()


def test_overview_shows_mark_to_market_and_stale_data(
    client: TestClient, seeded: dict[str, Any]
) -> None:
    html = client.get("/").text

    assert "Marked-to-market" in html and 'id="pnl-unrealised"' in html
    assert "2 without a book" in html  # no book recorded for the two open positions
    assert "stale data: <b>observations</b>" in html  # never observed
    assert "forecasts <b>stale</b>" not in html  # two hours old is fresh


def test_markets_page_plots_our_distribution_next_to_the_market(
    client: TestClient, market_day: None
) -> None:
    html = client.get("/markets", params={"city": "NYC", "day": DAY.isoformat()}).text

    assert '<svg class="chart"' in html and "our model" in html and "market mid" in html
    assert "45-46" in html and "&lt;45" in html and "&gt;46" in html
    assert "+0.100" in html  # edge of 45-46: 0.5 - 0.4
    assert "N(&mu;=46.5" in html
    assert "edge 0.07 &gt;= min_edge 0.03" in html  # the seeded decision and its reason
    assert client.get("/markets", params={"city": "XXX"}).status_code == 404


def test_post_mortem_compares_forecast_with_the_report(
    client: TestClient, engine: Engine, market_day: None
) -> None:
    html = client.get(f"/trades/NYC/{DAY}/high").text

    assert 'id="actual">46 F (bracket 45-46)' in html
    assert "ours 0.50 · market 0.40" in html
    assert "Closest source" in html and "sim ecmwf (-0.2 F)" in html  # 45.8 beats 47.5 against 46
    assert client.get(f"/trades/NYC/{DAY}/middle").status_code == 404


def test_trades_are_grouped_by_event_and_filtered(
    client: TestClient, seeded: dict[str, Any]
) -> None:
    html = client.get("/trades").text
    assert f'id="event-NYC-{DAY}-high"' in html and f'id="event-CHI-{DAY}-high"' in html
    assert "-$2.59" in html  # CHI's settled P&L

    only_nyc = client.get("/trades", params={"city": "NYC"}).text
    assert f'id="event-CHI-{DAY}-high"' not in only_nyc
    empty = client.get("/trades", params={"start": "2030-01-01"}).text
    assert "No orders match." in empty


def test_performance_page_draws_equity_and_pnl_per_city(
    client: TestClient, market_day: None
) -> None:
    html = client.get("/performance").text

    assert html.count('<svg class="chart"') >= 4
    assert "+$6.00" in html and "-$2.59" in html  # LAX and CHI settled P&L


def test_backtests_page_lists_and_plots_reports(client: TestClient, tmp_path: Path) -> None:
    assert "No backtest reports yet" in client.get("/backtests").text
    folder = tmp_path / "backtests"
    folder.mkdir()
    report = {"name": "replay", "pnl": 12.5, "equity": [["2026-01-01", 100], ["2026-01-02", 112.5]]}
    (folder / "replay.json").write_text(json.dumps(report))
    (folder / "broken.json").write_text("{not json")

    listing = client.get("/backtests").text
    assert "replay.json" in listing and "broken.json" in listing
    page = client.get("/backtests/replay.json").text
    assert "12.5" in page and '<svg class="chart"' in page
    assert "not valid JSON" in client.get("/backtests/broken.json").text
    assert client.get("/backtests/..%2Fdomain.db").status_code == 404


def test_docs_are_served_offline(client: TestClient) -> None:
    html = client.get("/docs").text

    assert "/static/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/swagger-init.js").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_logs_page_without_dagster_home(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with session_scope(engine) as session:
        repo.append_event(session, "reconciliation", {"ticker": "T", "ours": 1, "exchange": 0})

    html = client.get("/logs").text

    assert "reconciliation" in html and "exchange=0" in html
    assert "DAGSTER_HOME is not set" in html
    assert client.get("/logs", params={"status": "bogus"}).status_code == 422


def test_marked_positions_value_at_the_latest_mid() -> None:
    from api.queries_pages import stale_products

    assert stale_products({"forecasts": 3600.0, "markets": 3600.0, "orders": None}) == {"markets"}
    assert stale_products({"observations": None}) == {"observations"}
    assert Decimal("1") - Decimal("0.4") == Decimal("0.6")


def test_overview_alerts_on_the_kill_switch_and_waiting_proposals(
    client: TestClient, engine: Engine
) -> None:
    from weather_trader_tests.api.test_queue import queue_proposals

    assert "No alerts." in client.get("/").text or "kill_switch" not in client.get("/").text
    queue_proposals(engine, 2)
    with session_scope(engine) as session:
        repo.set_setting(session, "operator.kill_switch", True)
        repo.set_setting(session, "operator.manual_approval", True)

    html = client.get("/").text

    assert "<b>kill_switch</b>" in html and "no new orders are sent" in html
    assert "2 proposals wait in the queue" in html

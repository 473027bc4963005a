"""The backtest report: the issue's JSON schema, and the self-contained HTML page with its plots."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from weather_trader.backtest import html, report
from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.metrics import MetricsError
from weather_trader_tests.backtest.report_support import BANK, equity, frame, trade

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def sample() -> dict:
    trades = frame(
        trade(),
        trade(market_ticker="KXHIGHNY-24AUG17-B80.5", event_ticker="KXHIGHNY-24AUG17", city="NYC",
              climate_date=date(2024, 8, 17), decided_at=datetime(2024, 8, 17, 13, tzinfo=UTC),
              filled_at=datetime(2024, 8, 17, 13, 1, tzinfo=UTC), instant="D 08:00", side="no",
              price=Decimal("0.70"), fee=Decimal("0.15"), p_model=0.1, p_market=0.3,
              settled_yes=True, pnl=Decimal("-7.15")),
    )  # fmt: skip
    config = BacktestConfig(bankroll=BANK, start=date(2024, 8, 16), end=date(2024, 8, 17))
    predictions = pd.DataFrame({"p_ours": [0.6, 0.1, 0.3], "p_market": [0.42, 0.3, 0.28],
                                "outcome": [1.0, 1.0, 0.0]})  # fmt: skip
    return report.build_report(
        config, trades, equity(105.83, 98.68), bankroll=BANK,
        slippage_runs={0.0: (trades, equity(105.83, 98.68)), 0.01: (trades.iloc[:1],
                       equity(105.73, 105.73))},
        predictions=predictions,
    )  # fmt: skip


def test_report_has_the_issue_schema() -> None:
    out = sample()
    assert set(report.REQUIRED_KEYS) <= set(out)
    assert list(out)[:5] == list(report.REQUIRED_KEYS)
    assert out["config"]["bankroll"] == 100.0 and out["config"]["strategy"] == "taker"
    assert set(report.SUMMARY_KEYS) <= set(out["summary"])
    s = out["summary"]
    assert s["trades"] == 2 and s["win_rate"] == 0.5
    assert s["pnl"] == pytest.approx(5.83 - 7.15) and s["fees"] == pytest.approx(0.32)
    assert s["max_drawdown"] == pytest.approx(105.83 - 98.68)
    assert [c["city"] for c in out["by_city"]] == ["CHI", "NYC"]
    first = out["trades"][0]
    assert list(first)[: len(report.TRADE_KEYS)] == list(report.TRADE_KEYS)
    assert ISO_UTC.match(first["decided_at"]) and ISO_UTC.match(first["filled_at"])
    assert first["action"] == "buy" and first["side"] == "yes" and first["settled_yes"] is True
    assert first["price"] == 0.4 and first["fee"] == 0.17 and first["pnl"] == 5.83
    assert out["trades"][1]["climate_date"] == "2024-08-17"
    assert out["equity"] == [
        {"date": "2024-08-16", "equity": 105.83, "drawdown": 0.0},
        {"date": "2024-08-17", "equity": 98.68, "drawdown": pytest.approx(7.15)},
    ]
    # Equity at the end equals bankroll plus the sum of trade P&L.
    assert out["equity"][-1]["equity"] == pytest.approx(100 + sum(t["pnl"] for t in out["trades"]))
    assert [r["slippage"] for r in out["slippage"]] == [0.0, 0.01]
    assert out["slippage"][1]["trades"] == 1
    assert {r["instant"] for r in out["by_instant"]} == {"D-1 16:00", "D 08:00"}
    assert len(out["by_price_bucket"]) == 6
    assert out["calibration"]["all"]["model"][0]["n"] >= 1
    json.dumps(out, allow_nan=False)  # plain JSON, no NaN


def test_report_round_trips_through_a_file(tmp_path: Path) -> None:
    path = report.write_json(sample(), tmp_path / "deep" / "bt.json")
    assert report.read_json(path) == json.loads(json.dumps(sample()))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a backtest report"):
        report.read_json(tmp_path / "other.json")


def test_naive_times_and_missing_columns_are_refused() -> None:
    naive = frame(trade(decided_at=datetime(2024, 8, 15, 22)))
    with pytest.raises(ValueError, match="naive"):
        report.build_report(BacktestConfig(), naive, equity(105.83), bankroll=BANK)
    with pytest.raises(MetricsError, match="pnl"):
        report.build_report(BacktestConfig(), frame(trade()).drop(columns=["pnl"]),
                            equity(105.83), bankroll=BANK)  # fmt: skip


def test_the_dashboard_reads_the_summary_and_the_equity_series(tmp_path: Path) -> None:
    from api import backtest_reports

    report.write_json(sample(), tmp_path / "bt.json")
    parsed = backtest_reports.read_report(tmp_path, "bt.json")
    assert parsed.error is None
    assert parsed.summary["summary.pnl"] == pytest.approx(-1.32)
    assert parsed.summary["config.bankroll"] == 100.0
    assert [x for x, _ in parsed.series["equity.equity"]] == ["2024-08-16", "2024-08-17"]


def test_html_is_self_contained_with_every_plot(tmp_path: Path) -> None:
    page = html.write_html(sample(), tmp_path / "bt.html", title="Test <run>").read_text()
    assert page.startswith("<!doctype html>")
    assert "Test &lt;run&gt;" in page  # escaped
    for label in ("equity curve", "drawdown curve", "P&amp;L by city", "P&amp;L by price bucket",
                  "P&amp;L by decision instant", "calibration of markets traded",
                  "calibration of every bracket"):  # fmt: skip
        assert f'aria-label="{label}"' in page, label
    assert page.count("<svg") == 7
    assert page.count("<polyline") >= 2 + 4  # two curves, model and market per calibration
    assert page.count('class="bar"') == 2 + 2 + 2  # two cities, two instants, two buckets traded
    assert "KXHIGHNY-24AUG17-B80.5" in page
    # Nothing fetched from elsewhere, no script.
    assert not re.search(r"(src|href)=\"https?:", page) and "<script" not in page
    assert "@import" not in page


def test_html_of_an_empty_run_says_no_data() -> None:
    empty = report.build_report(BacktestConfig(), frame(), equity(100), bankroll=BANK)
    page = html.render_html(empty)
    assert "no data" in page and page.count("<svg") == 6  # no calibration of every bracket


def test_nice_ticks_cover_the_range() -> None:
    ticks = html.nice_ticks(93.2, 117.9)
    assert ticks[0] <= 93.2 and ticks[-1] >= 117.9 and 3 <= len(ticks) <= 8
    assert html.nice_ticks(5.0, 5.0)[0] <= 5.0 <= html.nice_ticks(5.0, 5.0)[-1]

"""``weather-trader backtest`` end to end on a tiny synthetic archive (SQLite): the report JSON
and HTML, the cached walk, the parameter grid, and bad arguments."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from weather_trader import cli
from weather_trader.backtest import pipeline, report
from weather_trader.core.cities import get_city
from weather_trader.core.climate_day import climate_day_window
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.store.models import ClimateReportRow, ForecastRow, MarketRow, MarketTradeRow
from weather_trader_tests.core.forecasting.synthetic_archive import (
    Archive,
    make_archive,
    stand_in_components,
)

ARGS = ["backtest", "--cities", "CHI,NYC", "--from", "2024-02-12", "--to", "2024-02-18",
        "--strategy", "taker"]  # fmt: skip


def store_archive(engine: Engine, archive: Archive) -> None:
    """The synthetic archive in the tables the history import fills; markets close at the end
    of their climate day, as Kalshi's do."""
    forecasts = [
        {"city": r.city, "climate_date": r.climate_date, "kind": r.kind, "source": r.source,
         "model": r.model, "member": -1, "issued_at": r.issued_at.to_pydatetime(),
         "retrieved_at": r.issued_at.to_pydatetime(), "lead_days": 1, "value_f": r.value_f}
        for r in archive.forecasts.itertuples()
    ]  # fmt: skip
    reports = [
        {"city": r.city, "climate_date": r.climate_date, "product": get_city(r.city).cli_product,
         "max_f": int(r.value_f), "min_f": None, "final": True, "correction": False,
         "issued_at": r.issued_at.to_pydatetime(), "text": ""}
        for r in archive.reports.itertuples()
    ]  # fmt: skip
    markets = [
        {"ticker": r.ticker, "event_ticker": r.event_ticker, "series_ticker": r.series_ticker,
         "city": r.city, "climate_date": r.climate_date, "kind": r.kind,
         "strike_type": r.strike_type,
         "floor_strike": None if r.floor_strike != r.floor_strike else int(r.floor_strike),
         "cap_strike": None if r.cap_strike != r.cap_strike else int(r.cap_strike), "title": "",
         "status": "finalized", "close_time": climate_day_window(r.city, r.climate_date)[1],
         "fee_multiplier": Decimal(1), "result": r.result, "settled_value": int(r.settled_value)}
        for r in archive.markets.itertuples()
    ]  # fmt: skip
    trades = [
        {"trade_id": r.trade_id, "ticker": r.ticker, "traded_at": r.traded_at.to_pydatetime(),
         "yes_price": Decimal(str(r.yes_price)), "count": Decimal(str(r.count)),
         "taker_side": r.taker_side}
        for r in archive.trades.itertuples()
    ]  # fmt: skip
    with engine.begin() as conn:
        for model, rows in ((ForecastRow, forecasts), (ClimateReportRow, reports),
                            (MarketRow, markets), (MarketTradeRow, trades)):  # fmt: skip
            conn.execute(insert(model), rows)


@pytest.fixture
def archived(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """A 56-day two-city archive; the CLI reads it, with fast stand-in forecast models."""
    store_archive(engine, make_archive(start=date(2024, 1, 1), days=56))
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(
        "weather_trader.core.forecasting.suite.ModelSuite",
        lambda: ModelSuite(components=stand_in_components),
    )
    return engine


def test_backtest_writes_the_report_and_reuses_the_walk(
    archived: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, page = tmp_path / "bt.json", tmp_path / "bt.html"
    assert cli.main([*ARGS, "--out", str(out), "--html", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "walking forward" in printed and "win rate" in printed and "slippage" in printed
    written = json.loads(out.read_text())
    assert list(written)[:5] == list(report.REQUIRED_KEYS)
    config, summary = written["config"], written["summary"]
    assert config["cities"] == ["CHI", "NYC"] and config["strategy"] == "taker"
    assert config["start"] == "2024-02-12" and config["bankroll"] == 1000.0
    assert set(report.SUMMARY_KEYS) <= set(summary)
    assert summary["trades"] == len(written["trades"]) > 0
    assert {c["city"] for c in written["by_city"]} <= {"CHI", "NYC"}
    for t in written["trades"]:
        assert set(report.TRADE_KEYS) <= set(t)
        assert t["decided_at"].endswith("Z") and t["filled_at"] >= t["decided_at"]
        assert t["action"] in ("buy", "sell") and t["side"] in ("yes", "no")
        assert t["liquidity"] in ("taker", "maker") and isinstance(t["settled_yes"], bool)
        assert date(2024, 2, 12) <= date.fromisoformat(t["climate_date"]) <= date(2024, 2, 18)
    # Equity at the end of the last day is the bankroll plus every trade's P&L.
    pnl = sum(Decimal(str(t["pnl"])) for t in written["trades"])
    assert Decimal(str(written["equity"][-1]["equity"])) == Decimal(1000) + pnl
    assert summary["pnl"] == pytest.approx(float(pnl))
    assert [r["slippage"] for r in written["slippage"]] == [0.0, 0.01, 0.02]
    # More slippage never helps a taker.
    pnls = [r["pnl"] for r in written["slippage"]]
    assert pnls[0] >= pnls[1] >= pnls[2]
    assert "<svg" in page.read_text() and 'aria-label="equity curve"' in page.read_text()
    cache = list((tmp_path / "home" / "backtests" / "cache").glob("predictions-*.pkl"))
    assert len(cache) == 1

    # A second run (other days, other settings) reuses the walk and, without --out, writes to
    # the home's backtests/ folder, where the dashboard lists reports.
    assert cli.main([*ARGS[:5], "--to", "2024-02-15", "--set", "min_edge=0.05"]) == 0
    printed = capsys.readouterr().out
    assert "reused" in printed and "walking forward" not in printed
    folder = tmp_path / "home" / "backtests"
    reports = list(folder.glob("backtest-taker-CHI-NYC-*.json"))
    assert len(reports) == 1 and reports[0].with_suffix(".html").is_file()
    again = json.loads(reports[0].read_text())
    assert again["config"]["min_edge"] == 0.05 and again["config"]["end"] == "2024-02-15"


def test_grid_prints_a_table(archived: Engine, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "grid.json"
    code = cli.main([*ARGS, "--grid", "kelly_fraction=0.1,0.25", "min_edge=0.02,0.05",
                     "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if not line.startswith("[backtest]")]
    header = next(line for line in lines if "kelly_fraction" in line)
    assert "min_edge" in header and "pnl" in header and "sharpe" in header
    rows = json.loads(out.read_text())["grid"]
    assert [(r["kelly_fraction"], r["min_edge"]) for r in rows] == [
        (0.1, 0.02), (0.1, 0.05), (0.25, 0.02), (0.25, 0.05)
    ]  # fmt: skip
    # A higher minimum edge never trades more.
    by = {(r["kelly_fraction"], r["min_edge"]): r for r in rows}
    assert by[(0.25, 0.05)]["trades"] <= by[(0.25, 0.02)]["trades"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cities", "XXX"], "unknown city"),
        (["--strategy", "nope"], "unknown strategy"),
        (["--from", "2024-03-01", "--to", "2024-02-01"], "after"),
        (["--at", "tomorrow"], "decision instant"),
        (["--set", "kelly_fraction=2"], "kelly_fraction"),
        (["--set", "no_such=1"], "not a backtest setting"),
        (["--grid", "kelly_fraction"], "not like"),
        (["--grid", "cities=CHI,NYC"], "cannot vary"),
        (["--config", "/nonexistent/bt.json"], "cannot read"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["backtest", *argv]) == 2
    assert message in capsys.readouterr().err


def test_config_file_then_flags(tmp_path: Path) -> None:
    import argparse

    from weather_trader import cli_backtest
    from weather_trader.backtest.config import BacktestConfig

    path = tmp_path / "bt.json"
    path.write_text(BacktestConfig(bankroll=Decimal(500), cities=["NYC"]).to_json())
    parser = argparse.ArgumentParser()
    cli_backtest.add_arguments(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["backtest", "--config", str(path), "--strategy", "longshot",
                              "--set", "risk.max_order_cost=10"])  # fmt: skip
    config = cli_backtest.build_config(args)
    assert config.bankroll == 500 and config.cities == ["NYC"] and config.strategy == "longshot"
    assert config.risk.max_order_cost == 10


def test_grid_helpers() -> None:
    axes = pipeline.parse_grid(["kelly_fraction=0.1,0.25", "exit=hold,sell_back"])
    assert axes == [("kelly_fraction", [0.1, 0.25]), ("exit", ["hold", "sell_back"])]
    points = pipeline.grid_points(axes)
    assert len(points) == 4 and points[1] == {"kelly_fraction": 0.1, "exit": "sell_back"}
    table = pipeline.format_grid([{"a": 1, "pnl": -12.3456}, {"a": 2, "pnl": None}])
    assert table.splitlines()[1].split() == ["1", "-12.35"] and "-" in table.splitlines()[2]

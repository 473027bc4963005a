"""The sim world's demo can also be backtested: the demo's archive (the sim's point-in-time
forecasts and climate reports, and its market recorded as the demo records it) through
``weather-trader backtest``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from weather_trader import cli
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.demo import record_market_history
from weather_trader.settings import Settings
from weather_trader.sim.world import build_sim
from weather_trader_tests.core.forecasting.synthetic_archive import stand_in_components
from weather_trader_tests.defs.support import seed_history

CITIES = ["NYC"]
START, END = date(2026, 1, 27), date(2026, 2, 12)
# The sim lists each event at 10:00 ET the day before. Recording its book (as the demo does)
# before a D-1 11:00 decision and again an hour later leaves prints after each decision for
# orders to fill against.
RECORDED_INSTANTS = ["D-1 11:00", "D-1 12:00"]


def test_the_demo_archive_backtests(engine: Engine, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    seed_history(engine, CITIES, START - timedelta(days=45), END)  # models need 30 cases
    market = build_sim(Settings.from_env({}).sim_seed)[1]
    assert record_market_history(engine, market, CITIES, START, END, RECORDED_INSTANTS) > 0
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(
        "weather_trader.core.forecasting.suite.ModelSuite",
        lambda: ModelSuite(components=stand_in_components),
    )
    out = tmp_path / "sim.json"
    # Traded on the weather stack: ours pools it with the sim's market and lands within fees
    # of the market's prices, so it rarely trades at all.
    code = cli.main(["backtest", "--cities", ",".join(CITIES), "--from", "2026-02-06", "--to",
                     str(END), "--at", "D-1 11:00", "--set", "predictor=weather",
                     "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = json.loads(out.read_text())
    assert written["config"]["instants"] == ["D-1 11:00"]
    assert written["equity"], "the replay covers the days"
    pnl = sum(Decimal(str(t["pnl"])) for t in written["trades"])
    assert Decimal(str(written["equity"][-1]["equity"])) == Decimal(1000) + pnl
    assert written["summary"]["trades"] == len(written["trades"]) > 0
    assert all(t["filled_at"] > t["decided_at"] for t in written["trades"])
    assert {t["settled_yes"] for t in written["trades"]} <= {True, False}

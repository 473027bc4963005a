"""The evaluation from the store: report schema, the CLI, and range independence end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from weather_trader import cli
from weather_trader.core.cities import get_city
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.core.instants import DecisionInstant
from weather_trader.evaluation import evaluate
from weather_trader.store.models import ClimateReportRow, ForecastRow, MarketRow, MarketTradeRow
from weather_trader_tests.core.forecasting.synthetic_archive import (
    Archive,
    make_archive,
    stand_in_components,
)

INSTANTS = [DecisionInstant.parse("D-1 16:00"), DecisionInstant.parse("D 08:00")]
RESULT_KEYS = {"instant", "city", "predictor", "events", "brier", "event_brier", "log_loss", "crps"}
PREDICTION_KEYS = {"instant", "event_ticker", "market_ticker", "predictor", "p"}


def store_archive(engine: Engine, archive: Archive) -> None:
    """Write the synthetic archive into the domain tables the history import fills."""
    fc = archive.forecasts
    forecasts = [
        {
            "city": r.city, "climate_date": r.climate_date, "kind": r.kind, "source": r.source,
            "model": r.model, "member": -1, "issued_at": r.issued_at.to_pydatetime(),
            "retrieved_at": r.issued_at.to_pydatetime(), "lead_days": 1, "value_f": r.value_f,
        }
        for r in fc.itertuples()
    ]  # fmt: skip
    reports = [
        {
            "city": r.city, "climate_date": r.climate_date, "product": get_city(r.city).cli_product,
            "max_f": int(r.value_f), "min_f": None, "final": True, "correction": False,
            "issued_at": r.issued_at.to_pydatetime(), "text": "",
        }
        for r in archive.reports.itertuples()
    ]  # fmt: skip
    markets = [
        {
            "ticker": r.ticker, "event_ticker": r.event_ticker, "series_ticker": r.series_ticker,
            "city": r.city, "climate_date": r.climate_date, "kind": r.kind,
            "strike_type": r.strike_type,
            "floor_strike": None if pd.isna(r.floor_strike) else int(r.floor_strike),
            "cap_strike": None if pd.isna(r.cap_strike) else int(r.cap_strike), "title": "",
            "status": "finalized", "close_time": datetime(2030, 1, 1, tzinfo=UTC),
            "fee_multiplier": Decimal(1), "result": r.result, "settled_value": int(r.settled_value),
        }
        for r in archive.markets.itertuples()
    ]  # fmt: skip
    trades = [
        {
            "trade_id": r.trade_id, "ticker": r.ticker, "traded_at": r.traded_at.to_pydatetime(),
            "yes_price": Decimal(str(r.yes_price)), "count": Decimal(str(r.count)),
            "taker_side": r.taker_side,
        }
        for r in archive.trades.itertuples()
    ]  # fmt: skip
    with engine.begin() as conn:
        for model, rows in (
            (ForecastRow, forecasts), (ClimateReportRow, reports), (MarketRow, markets),
            (MarketTradeRow, trades),
        ):  # fmt: skip
            conn.execute(insert(model), rows)


@pytest.fixture
def stored(engine: Engine) -> Engine:
    store_archive(engine, make_archive(start=date(2024, 1, 1), days=56))
    return engine


def _predictions(report: dict) -> pd.DataFrame:
    frame = pd.DataFrame(report["predictions"])
    return frame.set_index(["instant", "market_ticker", "predictor"]).sort_index()


def test_report_schema_and_range_independence(stored: Engine, tmp_path: Path) -> None:
    suite = ModelSuite(components=stand_in_components)
    out = tmp_path / "report.json"
    wide = evaluate(stored, ["CHI", "NYC"], date(2024, 2, 1), date(2024, 2, 25), INSTANTS,
                    suite=suite, out=out)  # fmt: skip
    written = json.loads(out.read_text())
    assert set(written) == {"results", "predictions"}
    assert all(set(r) == RESULT_KEYS for r in written["results"])
    assert all(set(p) == PREDICTION_KEYS for p in written["predictions"])
    rows = {(r["instant"], r["city"], r["predictor"]): r for r in written["results"]}
    assert rows[("D 08:00", "ALL", "market")]["crps"] is None
    assert rows[("D 08:00", "ALL", "weather")]["crps"] > 0
    assert (
        rows[("D 08:00", "ALL", "ours")]["events"] == rows[("D 08:00", "ALL", "market")]["events"]
    )
    assert (
        rows[("D 08:00", "ALL", "market")]["events"]
        == rows[("D 08:00", "CHI", "market")]["events"]
        + rows[("D 08:00", "NYC", "market")]["events"]
    )
    # Every bracket of every selected event is predicted, with Kalshi's event ticker.
    per_predictor = pd.DataFrame(written["predictions"]).groupby(["instant", "predictor"]).size()
    assert (per_predictor == 25 * 2 * 6).all()

    narrow = evaluate(stored, ["CHI"], date(2024, 2, 10), date(2024, 2, 15), INSTANTS, suite=suite)
    want, got = _predictions(wide.report), _predictions(narrow.report)
    assert len(got) == 6 * 2 * 6 * len(got.index.get_level_values("predictor").unique())
    pd.testing.assert_frame_equal(got, want.loc[got.index])


def test_parallel_workers_give_the_same_report(stored: Engine) -> None:
    suite = ModelSuite(components=stand_in_components)
    args = (stored, ["CHI"], date(2024, 2, 10), date(2024, 2, 12), INSTANTS)
    one = evaluate(*args, suite=suite, workers=1).report
    two = evaluate(*args, suite=suite, workers=2).report
    assert one == two


def test_cli_evaluate(stored: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", stored.url.render_as_string(hide_password=False))
    monkeypatch.setattr(
        "weather_trader.evaluation.ModelSuite", lambda: ModelSuite(components=stand_in_components)
    )
    out = tmp_path / "r.json"
    code = cli.main(
        ["evaluate", "--cities", "CHI,NYC", "--from", "2024-02-19", "--to", "2024-02-25",
         "--at", "D-1 16:00", "--at", "D 08:00", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "D-1 16:00  ALL" in printed and "D 08:00  NYC" in printed and "event_brier" in printed
    assert json.loads(out.read_text())["results"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cities", "XXX"], "unknown city"),
        (["--at", "tomorrow"], "decision instant"),
        (["--from", "2024-03-01", "--to", "2024-02-01"], "after"),
    ],
)
def test_cli_refuses_bad_arguments(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert cli.main(["evaluate", *argv]) == 2
    assert message in capsys.readouterr().err

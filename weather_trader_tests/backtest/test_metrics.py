"""Backtest metrics on hand-computed examples."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from weather_trader.backtest import metrics
from weather_trader_tests.backtest.report_support import BANK, equity, frame, trade


def test_daily_pnl_sharpe_and_sortino_by_hand() -> None:
    curve = equity(110, 105, 90, 100, 115)
    daily = metrics.daily_pnl(curve, BANK)
    assert daily.tolist() == [10, -5, -15, 10, 15]
    # mean 3, sample variance 630/4, downside deviation sqrt((25 + 225) / 5)
    assert metrics.sharpe(daily) == pytest.approx(3 / math.sqrt(157.5) * math.sqrt(365))
    assert metrics.sortino(daily) == pytest.approx(3 / math.sqrt(50) * math.sqrt(365))
    assert metrics.sharpe([1.0]) is None
    assert metrics.sharpe([2.0, 2.0, 2.0]) is None  # no spread
    assert metrics.sortino([1.0, 2.0]) is None  # no losing day


def test_max_drawdown_depth_and_duration_by_hand() -> None:
    dd = metrics.max_drawdown(equity(110, 105, 90, 100, 115), BANK)
    assert dd.amount == pytest.approx(20)
    assert dd.fraction == pytest.approx(20 / 110)
    assert (dd.peak, dd.trough, dd.recovered) == (
        date(2024, 8, 16), date(2024, 8, 18), date(2024, 8, 20)
    )  # fmt: skip
    assert dd.duration_days == 4


def test_drawdown_from_the_bankroll_never_recovered() -> None:
    dd = metrics.max_drawdown(equity(90, 95, 80, 85), BANK)
    assert dd.amount == pytest.approx(20) and dd.fraction == pytest.approx(0.2)
    assert dd.peak is None and dd.recovered is None  # the peak was the starting bankroll
    assert dd.trough == date(2024, 8, 18)
    assert dd.duration_days == 4  # from the eve of the first day to the last day


def test_no_drawdown_when_equity_only_rises() -> None:
    dd = metrics.max_drawdown(equity(101, 102), BANK)
    assert dd == metrics.Drawdown(0.0, 0.0, None, None, None, 0)


def test_bootstrap_is_deterministic_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(1)
    daily = rng.normal(2.0, 10.0, size=200)
    a = metrics.bootstrap_mean(daily)
    b = metrics.bootstrap_mean(daily)
    assert a == b
    assert a.seed == metrics.BOOTSTRAP_SEED and a.resamples == metrics.BOOTSTRAP_RESAMPLES
    assert a.low < a.mean < a.high
    # About mean +- 1.96 sd / sqrt(n).
    half = 1.96 * np.std(daily, ddof=1) / math.sqrt(len(daily))
    assert (a.high - a.low) / 2 == pytest.approx(half, rel=0.1)
    other = metrics.bootstrap_mean(daily, seed=5)
    assert other.low != a.low
    assert metrics.bootstrap_mean([]).mean is None


def test_trade_stats_and_kelly_effectiveness_by_hand() -> None:
    trades = frame(trade())
    stats = metrics.trade_stats(trades)
    assert stats["trades"] == 1 and stats["win_rate"] == 1.0
    assert stats["pnl"] == pytest.approx(5.83) and stats["fees"] == pytest.approx(0.17)
    assert stats["turnover"] == pytest.approx(4.0)
    assert stats["roi"] == pytest.approx(5.83 / 4.17)
    kelly = metrics.kelly_effectiveness(trades, equity(105.83), BANK)
    expected = 0.6 * math.log(1 + 5.83 / 100) + 0.4 * math.log(1 - 4.17 / 100)
    assert kelly["expected_log_growth"] == pytest.approx(expected)
    assert kelly["realised_log_growth"] == pytest.approx(math.log(1.0583))
    assert kelly["equity_log_growth"] == pytest.approx(math.log(1.0583))
    assert kelly["ratio"] == pytest.approx(math.log(1.0583) / expected)
    # The engine's own per-fill growths win when it gives them.
    given = trades.assign(expected_log_growth=[0.02], realised_log_growth=[0.01])
    assert metrics.kelly_effectiveness(given, equity(105.83), BANK)["ratio"] == pytest.approx(0.5)


def test_kelly_uses_the_probability_of_the_side_bought() -> None:
    no = frame(trade(side="no", p_model=0.4, settled_yes=False))
    yes = frame(trade())
    curve = equity(105.83)
    assert metrics.kelly_effectiveness(no, curve, BANK) == metrics.kelly_effectiveness(
        yes, curve, BANK
    )


def test_breakdowns_brier_and_price_buckets() -> None:
    nyc = {"market_ticker": "KXHIGHNY-24AUG16-B80.5", "city": "NYC", "instant": "D 08:00"}
    trades = frame(
        trade(),
        trade(**nyc, price=Decimal("0.05"), fee=Decimal("0.04"), p_model=0.2, p_market=0.06,
              settled_yes=False, pnl=Decimal("-0.54")),
        trade(**nyc, action="sell", price=Decimal("0.10"), fee=Decimal("0.01"), settled_yes=False,
              pnl=Decimal("0.49")),
    )  # fmt: skip
    by_city = {r["city"]: r for r in metrics.breakdown(trades, "city")}
    assert by_city["CHI"]["pnl"] == pytest.approx(5.83)
    assert by_city["NYC"]["trades"] == 2 and by_city["NYC"]["win_rate"] == 0.5
    assert by_city["NYC"]["pnl"] == pytest.approx(-0.05)
    # A sell stakes only its fee.
    assert by_city["NYC"]["staked"] == pytest.approx(0.5 + 0.04 + 0.01)
    buckets = metrics.with_price_bucket(trades)["price_bucket"].tolist()
    assert buckets == ["0.25-0.50", "0.00-0.10", "0.10-0.25"]
    brier = metrics.brier_traded(trades)  # two distinct markets bought
    assert brier["n"] == 2
    assert brier["model"] == pytest.approx(((0.6 - 1) ** 2 + 0.2**2) / 2)
    assert brier["market"] == pytest.approx(((0.42 - 1) ** 2 + 0.06**2) / 2)


def test_calibration_bins() -> None:
    table = metrics.calibration([0.05, 0.08, 0.95, np.nan], [0, 1, 1, 1], bins=10)
    assert table == [
        {"p_from": 0.0, "p_to": 0.1, "n": 2, "mean_p": pytest.approx(0.065), "observed": 0.5},
        {"p_from": 0.9, "p_to": 1.0, "n": 1, "mean_p": 0.95, "observed": 1.0},
    ]


def test_summary_of_an_empty_run() -> None:
    out = metrics.summary(frame(), equity(100, 100), BANK)
    assert out["trades"] == 0 and out["pnl"] == 0 and out["win_rate"] is None
    assert out["sharpe"] is None and out["max_drawdown"] == 0
    assert out["mean_daily_pnl"] == 0


def test_missing_columns_are_named() -> None:
    with pytest.raises(metrics.MetricsError, match="pnl"):
        metrics.trade_stats(pd.DataFrame({"action": [], "count": [], "price": [], "fee": []}))

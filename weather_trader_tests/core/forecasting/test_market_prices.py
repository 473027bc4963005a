"""A bracket's market probability at an instant: hour VWAP, else the last trade before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.market_prices import (
    MarketPriceError,
    add_market_probabilities,
    bracket_prices,
    normalise_by_event,
)

T = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)


def _trades(rows: list[tuple[str, datetime, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ticker", "traded_at", "yes_price", "count"])


def _ask(ticker: str, at: datetime = T) -> pd.DataFrame:
    return pd.DataFrame({"ticker": [ticker], "at": [at]})


def test_volume_weighted_over_the_last_hour() -> None:
    trades = _trades(
        [
            ("A", T - timedelta(minutes=90), 0.90, 100),  # older than the hour: ignored
            ("A", T - timedelta(minutes=50), 0.20, 1),
            ("A", T - timedelta(minutes=10), 0.50, 3),
        ]
    )
    assert bracket_prices(trades, _ask("A"))[0] == pytest.approx((0.20 + 1.5) / 4)


def test_window_start_is_inclusive_and_the_instant_exclusive() -> None:
    trades = _trades(
        [("A", T - timedelta(minutes=60), 0.30, 1), ("A", T, 0.99, 1000)]  # at T: unseen
    )
    assert bracket_prices(trades, _ask("A"))[0] == pytest.approx(0.30)


def test_last_trade_before_when_the_hour_is_quiet() -> None:
    trades = _trades(
        [("A", T - timedelta(hours=5), 0.10, 2), ("A", T - timedelta(hours=3), 0.40, 1)]
    )
    assert bracket_prices(trades, _ask("A"))[0] == pytest.approx(0.40)


def test_no_trade_before_means_no_price() -> None:
    trades = _trades([("A", T + timedelta(minutes=1), 0.10, 2), ("B", T - timedelta(1), 0.5, 1)])
    prices = bracket_prices(trades, pd.concat([_ask("A"), _ask("C")], ignore_index=True))
    assert np.isnan(prices).all()


def test_later_trades_never_change_a_price() -> None:
    base = [("A", T - timedelta(minutes=m), 0.01 * m, 1) for m in (5, 30, 70, 200)]
    later = [("A", T + timedelta(minutes=m), 0.99, 500) for m in (0, 1, 60)]
    assert (
        bracket_prices(_trades(base), _ask("A"))[0]
        == bracket_prices(_trades(base + later), _ask("A"))[0]
    )


def test_naive_times_are_refused() -> None:
    trades = _trades([("A", datetime(2025, 1, 1), 0.5, 1)])
    with pytest.raises(MarketPriceError, match="tz-aware"):
        bracket_prices(trades, _ask("A"))


def test_normalised_per_event_only_when_complete() -> None:
    p = normalise_by_event(np.array([0.2, 0.3, 0.1, np.nan]), np.array(["E", "E", "F", "F"]))
    assert p[:2] == pytest.approx([0.4, 0.6])
    assert np.isnan(p[2:]).all()


def test_add_market_probabilities_keys_events_by_instant() -> None:
    trades = _trades(
        [
            ("E-1", T - timedelta(minutes=5), 0.6, 1),
            ("E-2", T - timedelta(minutes=5), 0.6, 1),
            ("E-1", T + timedelta(hours=2), 0.2, 1),
        ]
    )
    later = T + timedelta(hours=3)
    brackets = pd.DataFrame(
        {
            "event_ticker": ["E"] * 4,
            "ticker": ["E-1", "E-2", "E-1", "E-2"],
            "decided_at": [T, T, later, later],
        }
    )
    out = add_market_probabilities(brackets, trades)
    assert out["p_market_raw"].tolist() == pytest.approx([0.6, 0.6, 0.2, 0.6])
    assert out["p_market"].tolist() == pytest.approx([0.5, 0.5, 0.25, 0.75])

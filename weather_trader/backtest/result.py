"""What a backtest returns, and the column schemas of its input and output frames.

Inside the engine money is ``Decimal``: the ``price``, ``fee`` and ``pnl`` columns of
:attr:`BacktestResult.trades` and ``equity`` of :attr:`BacktestResult.equity` hold ``Decimal``
dollars (object dtype). Reports convert to floats rounded to the cent on output. Times are
tz-aware UTC ``Timestamp``s; climate days and equity dates are ``datetime.date``.

Input frames (``run_backtest``):

- ``predictions``: one row per (decision instant, bracket market), the walk-forward's
  point-in-time probabilities (``WalkResult.brackets`` renamed by
  :func:`weather_trader.backtest.inputs.predictions_from_brackets`):
  ``instant`` (label, ``"D-1 16:00"``), ``decided_at``, ``event_ticker``, ``market_ticker``,
  ``city``, ``kind``, ``climate_date``, ``lo``, ``hi`` (inclusive YES integers), ``p_market``,
  ``p_<predictor>`` for each predictor (``p_ours``, ``p_weather``, ...), ``outcome`` (1/0/NaN),
  optionally ``model_version`` (default: the weekly refit instant).
- ``tape``: ``store.repo_history.trade_history`` (``trade_id, ticker, traded_at, yes_price,
  count, taker_side``).
- ``quotes`` (optional): recorded top of book, ``ticker, at, yes_bid, yes_ask, yes_bid_size,
  yes_ask_size`` (dollars, contracts).
- ``markets``: ``store.repo_history.market_history`` (``series_ticker``, ``close_time``,
  ``result`` are used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from weather_trader.backtest.config import BacktestConfig

TRADE_COLUMNS = (
    "decided_at", "filled_at", "market_ticker", "event_ticker", "city", "climate_date",
    "instant", "action", "side", "count", "price", "fee", "liquidity", "p_model", "p_market",
    "settled_yes", "pnl",
)  # fmt: skip
"""One row per fill. ``action`` buy/sell, ``side`` yes/no, ``price`` the side's price per
contract (Decimal dollars, slippage included), ``fee`` the fill's fee, ``liquidity``
taker/maker, ``p_model`` and ``p_market`` the model's and the market's probability of YES at
the decision (not of the side), ``settled_yes`` bool, ``pnl`` Decimal: for a buy, payout
of its contracts held to settlement minus their cost minus the fill's fee; for a sell, proceeds
minus the (FIFO) cost of the contracts sold minus its fee. The sum of ``pnl`` is the run's P&L."""

TRADE_EXTRA_COLUMNS = (
    "order_id", "strategy", "bankroll", "expected_log_growth", "realised_log_growth",
)  # fmt: skip
"""After :data:`TRADE_COLUMNS`: the order, the strategy, the Kelly bankroll at the decision and,
for buys, the expected and realised log growth of that bankroll from this fill alone (Kelly
effectiveness: realised vs expected); NaN for sells."""

ORDER_COLUMNS = (
    "order_id", "decided_at", "sent_at", "expires_at", "market_ticker", "event_ticker", "city",
    "climate_date", "instant", "action", "side", "count", "limit", "liquidity", "filled",
    "p_model", "reason",
)  # fmt: skip
"""Every order sent (filled or not): ``limit`` the side's limit price, ``filled`` contracts."""

EQUITY_COLUMNS = ("date", "equity")
"""Equity at the end of each UTC day (cash plus open positions at cost), Decimal dollars; by the
last row every position is settled, so its equity is bankroll plus the sum of trade P&L."""


@dataclass
class BacktestResult:
    """A finished replay.

    Attributes:
        config: The config it ran with.
        trades: Fills, :data:`TRADE_COLUMNS` then :data:`TRADE_EXTRA_COLUMNS`, by fill time.
        equity: :data:`EQUITY_COLUMNS`, one row per UTC day from the first decision to the last
            settlement.
        orders: Every order, :data:`ORDER_COLUMNS`.
        stats: Counts (events, decisions, orders, fills, events skipped and why, ...).
        seconds: Where time went.
    """

    config: BacktestConfig
    trades: pd.DataFrame
    equity: pd.DataFrame
    orders: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORDER_COLUMNS))
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def empty_trades() -> pd.DataFrame:
    """A trades frame with no rows and every column."""
    return pd.DataFrame(columns=[*TRADE_COLUMNS, *TRADE_EXTRA_COLUMNS])

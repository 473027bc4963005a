"""The walk-forward replay (first version: signature only; the engine lands next)."""

from __future__ import annotations

import pandas as pd

from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.result import BacktestResult


def run_backtest(
    config: BacktestConfig,
    predictions: pd.DataFrame,
    tape: pd.DataFrame,
    quotes: pd.DataFrame | None,
    markets: pd.DataFrame,
) -> BacktestResult:
    """Replay ``config`` over the inputs (schemas in :mod:`weather_trader.backtest.result`)."""
    raise NotImplementedError("the engine is being written")

"""Backtests on recorded Kalshi markets: the production decision code replayed on real tapes.

``run_backtest(config, predictions, tape, quotes, markets)`` (:mod:`.engine`) walks forward
over the decision instants, decides with ``core.trading`` through a strategy (:mod:`.strategies`),
fills against the recorded tape or quotes (:mod:`.fills`), applies the risk limits
(:mod:`.risk`) and returns a :class:`BacktestResult` (:mod:`.result`). Everything here is pure
except :mod:`.load`, which reads the archive.
"""

from weather_trader.backtest.config import BacktestConfig, ConfigError, FeeConfig, RiskConfig
from weather_trader.backtest.result import (
    EQUITY_COLUMNS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    TRADE_EXTRA_COLUMNS,
    BacktestResult,
)

__all__ = [
    "EQUITY_COLUMNS",
    "ORDER_COLUMNS",
    "TRADE_COLUMNS",
    "TRADE_EXTRA_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "ConfigError",
    "FeeConfig",
    "RiskConfig",
]

"""Small hand-made backtest frames (the engine's schemas) for the metrics and report tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

from weather_trader.backtest import metrics

BANK = Decimal("100")


def equity(*values: float, start: date = date(2024, 8, 16)) -> pd.DataFrame:
    """End-of-day equity, one value per day from ``start``."""
    days = pd.date_range(start, periods=len(values), freq="D").date
    return pd.DataFrame({"date": days, "equity": [Decimal(str(v)) for v in values]})


def trade(**overrides: object) -> dict:
    """One fill: 10 YES at $0.40 in Chicago, won (+$5.83 after the $0.17 fee)."""
    row = {
        "decided_at": datetime(2024, 8, 15, 22, tzinfo=UTC),
        "filled_at": datetime(2024, 8, 15, 22, 0, 5, tzinfo=UTC),
        "market_ticker": "KXHIGHCHI-24AUG16-B80.5",
        "event_ticker": "KXHIGHCHI-24AUG16",
        "city": "CHI",
        "climate_date": date(2024, 8, 16),
        "instant": "D-1 16:00",
        "action": "buy",
        "side": "yes",
        "count": 10,
        "price": Decimal("0.40"),
        "fee": Decimal("0.17"),
        "liquidity": "taker",
        "p_model": 0.6,
        "p_market": 0.42,
        "settled_yes": True,
        "pnl": Decimal("5.83"),
    }
    return row | overrides


def frame(*rows: dict) -> pd.DataFrame:
    """A trades frame with the engine's columns."""
    return pd.DataFrame(list(rows), columns=list(metrics.TRADE_COLUMNS))

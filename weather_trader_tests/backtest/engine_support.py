"""Builders of small backtest inputs: markets, predictions and tapes written by hand.

Times are written relative to the decision instant of a Chicago event (UTC-6 standard time):
``D-1 16:00`` of climate day 2025-01-10 is 2025-01-09T22:00Z and ``D 08:00`` is
2025-01-10T14:00Z; the markets close 2025-01-11T05:59Z and settle 2025-01-11T13:00Z (07:00 LST).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from weather_trader.backtest.config import BacktestConfig

DAY = date(2025, 1, 10)
EVENT = "KXHIGHCHI-25JAN10"
D1_16 = pd.Timestamp("2025-01-09T22:00:00Z")
D_08 = pd.Timestamp("2025-01-10T14:00:00Z")
CLOSE = pd.Timestamp("2025-01-11T05:59:00Z")
SETTLES = pd.Timestamp("2025-01-11T13:00:00Z")
BRACKETS = ((-80, 40), (41, 42), (43, 150))


def ticker(i: int, event: str = EVENT) -> str:
    """The i-th market of ``event``."""
    return f"{event}-M{i}"


def markets(
    winner: int | None = 1,
    event: str = EVENT,
    day: date = DAY,
    city: str = "CHI",
    close: pd.Timestamp = CLOSE,
    n: int = len(BRACKETS),
) -> pd.DataFrame:
    """``market_history``-like rows of one event; ``winner`` settles YES (None: unsettled)."""
    return pd.DataFrame(
        {
            "ticker": [ticker(i, event) for i in range(n)],
            "event_ticker": event,
            "series_ticker": "KXHIGHCHI" if city == "CHI" else "KXHIGHNY",
            "city": city,
            "kind": "high",
            "climate_date": day,
            "result": [
                None if winner is None else ("yes" if i == winner else "no") for i in range(n)
            ],
            "close_time": close,
        }
    )


def predictions(
    probs: dict[str, Sequence[float]],
    winner: int | None = 1,
    event: str = EVENT,
    day: date = DAY,
    city: str = "CHI",
    instants: dict[str, pd.Timestamp] | None = None,
    p_market: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Prediction rows: ``probs`` maps an instant label to P(YES) per bracket."""
    instants = instants or {"D-1 16:00": D1_16, "D 08:00": D_08}
    rows = []
    for label, ps in probs.items():
        for i, p in enumerate(ps):
            lo, hi = BRACKETS[i]
            rows.append(
                {
                    "instant": label,
                    "decided_at": instants[label],
                    "event_ticker": event,
                    "market_ticker": ticker(i, event),
                    "city": city,
                    "kind": "high",
                    "climate_date": day,
                    "lo": lo,
                    "hi": hi,
                    "p_market": np.nan if p_market is None else p_market[i],
                    "p_ours": p,
                    "outcome": np.nan if winner is None else float(i == winner),
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Print:
    """One recorded trade, ``seconds`` after ``at``."""

    market: int
    seconds: float
    yes_price: float
    count: float
    taker_side: str
    at: pd.Timestamp = D1_16
    event: str = EVENT


def tape(prints: Sequence[Print]) -> pd.DataFrame:
    """A ``trade_history``-like frame."""
    return pd.DataFrame(
        {
            "trade_id": [f"t{i}" for i in range(len(prints))],
            "ticker": [ticker(p.market, p.event) for p in prints],
            "traded_at": [p.at + pd.Timedelta(seconds=p.seconds) for p in prints],
            "yes_price": [p.yes_price for p in prints],
            "count": [p.count for p in prints],
            "taker_side": [p.taker_side for p in prints],
        },
        columns=["trade_id", "ticker", "traded_at", "yes_price", "count", "taker_side"],
    )


def references(prices: Sequence[float], at: pd.Timestamp = D1_16) -> list[Print]:
    """One print per market 30 minutes before ``at``: the reference prices of the decision."""
    return [Print(i, -1800, p, 1, "yes", at) for i, p in enumerate(prices)]


def config(**changes: object) -> BacktestConfig:
    """Chicago, the one test day, both instants; loose money limits unless changed."""
    base: dict[str, object] = {
        "cities": ["CHI"],
        "start": DAY,
        "end": DAY,
        "risk": {
            "max_order_cost": "1000",
            "max_event_exposure": "1000",
            "max_total_exposure": "1000",
            "max_contracts_per_order": 10,
        },
    }
    return BacktestConfig.model_validate(base | changes)

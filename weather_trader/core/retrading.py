"""When a city-day's markets moved enough since they were last priced to trade them again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from weather_trader.core.records import MarketSnapshot

PRICE_MOVE_TRIGGER = Decimal("0.02")
"""A mid-price move at least this large since the last pricing triggers a trading run."""


class PricedQuote(Protocol):
    """The book a market was last priced against (a row of the bracket probabilities)."""

    ticker: str
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    as_of: datetime


def moved_markets(
    priced: Iterable[PricedQuote],
    latest: Mapping[str, MarketSnapshot],
    trigger: Decimal = PRICE_MOVE_TRIGGER,
) -> list[str]:
    """Tickers whose latest book, newer than their pricing, moved its mid by ``trigger`` or more.

    Args:
        priced: The quotes each market was last priced against.
        latest: The newest recorded book of each market, by ticker.
        trigger: The smallest mid move that counts.
    """
    moved = []
    for quote in priced:
        book = latest.get(quote.ticker)
        if book is None or quote.yes_bid is None or quote.yes_ask is None:
            continue
        if (
            book.captured_at > quote.as_of
            and abs(book.mid - (quote.yes_bid + quote.yes_ask) / 2) >= trigger
        ):
            moved.append(quote.ticker)
    return moved

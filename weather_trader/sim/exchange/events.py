"""What the exchange tells its listeners, and the journal that makes each operation atomic.

The event records say what one operation did (an order changed, a fill, a trade, a market's
lifecycle, a new minute); the WebSocket hub turns them into Kalshi's messages. The
:class:`Journal` runs every operation under one lock, writes the records it changed to the
store in one transaction and only then tells the listeners.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from weather_trader.sim.exchange.catalog import MarketRef
from weather_trader.sim.exchange.models import (
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    Trade,
)
from weather_trader.sim.exchange.store import ExchangeStore


@dataclass(frozen=True)
class BookChanged:
    """The books of ``tickers`` changed (an order rested, filled or left)."""

    tickers: tuple[str, ...]
    user_id: str | None = None
    client_order_id: str | None = None


@dataclass(frozen=True)
class OrderUpdated:
    """An order was created or changed (a copy of its new state)."""

    order: ExchangeOrder


@dataclass(frozen=True)
class FillExecuted:
    """A user's order filled."""

    fill: ExchangeFill


@dataclass(frozen=True)
class PositionChanged:
    """A user's position changed (a copy of its new state)."""

    position: ExchangePosition


@dataclass(frozen=True)
class TradeExecuted:
    """A public trade happened."""

    trade: Trade


@dataclass(frozen=True)
class Lifecycle:
    """A market lifecycle event (``created``, ``determined``, ``settled``)."""

    event_type: str
    market: MarketRef
    at: datetime
    result: str = ""
    value: int | None = None


@dataclass(frozen=True)
class MinuteTick:
    """The clock entered a new minute: the crowd re-quoted every book."""

    now: datetime


ExchangeEvent = (
    BookChanged
    | OrderUpdated
    | FillExecuted
    | PositionChanged
    | TradeExecuted
    | Lifecycle
    | MinuteTick
)

Listener = Callable[[ExchangeEvent], None]


class Journal:
    """The exchange's one lock, and what the running operation changed and announced.

    Operations nest (an order opens the account it trades from); the outermost one writes.

    Args:
        store: Where records persist; None keeps them in memory.

    Attributes:
        lock: Held for every operation and every consistent read.
        listeners: Called with each event once its operation has been written.
    """

    def __init__(self, store: ExchangeStore | None) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self._depth = 0
        self._pending: dict[tuple[str, str], Any] = {}
        self._pending_meta: dict[str, str] = {}
        self._events: list[ExchangeEvent] = []

    @contextmanager
    def op(self) -> Iterator[None]:
        """One atomic operation: records written together, listeners told afterwards."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                events: list[ExchangeEvent] = []
                if self._depth == 0:
                    records = [(k, i, rec.to_dict()) for (k, i), rec in self._pending.items()]
                    meta = self._pending_meta
                    self._pending, self._pending_meta = {}, {}
                    events, self._events = self._events, []
                    if self.store is not None:
                        self.store.write(records, meta)
        for event in events:
            for listener in list(self.listeners):
                listener(event)

    def save(self, kind: str, key: str, record: Any) -> None:
        """Write ``record`` (anything with ``to_dict``) as ``(kind, key)`` when the op ends."""
        self._pending[(kind, key)] = record

    def save_meta(self, key: str, value: str) -> None:
        """Write the meta value ``key`` when the op ends."""
        self._pending_meta[key] = value

    def emit(self, event: ExchangeEvent) -> None:
        """Tell the listeners about ``event`` when the op ends."""
        self._events.append(event)

"""What the exchange tells its listeners, and the journal that makes each operation atomic.

The event records say what one operation did (an order changed, a fill, a trade, a market's
lifecycle, a new minute); the WebSocket hub turns them into Kalshi's messages. The
:class:`Journal` runs every operation under one lock, writes the records it changed to the
store in one transaction and only then tells the listeners; a failed operation is rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from weather_trader.sim.exchange.catalog import MarketRef
from weather_trader.sim.exchange.errors import ExchangeError
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
    A change counts only once it is stored: when an operation fails (or its write does), its
    records and events are dropped and :attr:`restore` rebuilds the in-memory state from the
    last committed records, as a restart would.

    Args:
        store: Where records persist; None keeps them in memory.

    Attributes:
        lock: Held for every operation and every consistent read.
        listeners: Called with each event once its operation has been written.
        restore: Rebuilds the in-memory state from :meth:`committed` (set by the engine).
    """

    def __init__(self, store: ExchangeStore | None) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self.restore: Callable[[], None] | None = None
        self._depth = 0
        self._pending: dict[tuple[str, str], Any] = {}
        self._pending_meta: dict[str, str] = {}
        self._events: list[ExchangeEvent] = []
        # The committed records (what the store holds), to roll back to without a store read.
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        self._meta: dict[str, str] = {}
        self._number = 0
        if store is not None:
            self._records = {(k, i): d for k, i, d in store.records()}
            self._meta = store.meta()
        for n, data in enumerate(self._records.values(), 1):
            # Records stored before numbers existed: insertion order is creation order.
            data.setdefault("number", n)
            self._number = max(self._number, data["number"])

    def next_number(self) -> int:
        """A number above every record's: the creation sequence of orders, fills, trades
        and settlements (gaps after a rollback are harmless)."""
        self._number += 1
        return self._number

    def committed(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
        """The committed records by kind (oldest first) and the meta values."""
        out: dict[str, list[dict[str, Any]]] = {}
        for (kind, _), data in self._records.items():
            out.setdefault(kind, []).append(data)
        return out, dict(self._meta)

    @contextmanager
    def op(self) -> Iterator[None]:
        """One atomic operation: records written together, listeners told afterwards."""
        events: list[ExchangeEvent] = []
        with self.lock:
            self._depth += 1
            try:
                yield
                if self._depth == 1:
                    events = self._commit()
            except BaseException as exc:
                if self._depth == 1:
                    self._abort(exc)
                raise
            finally:
                self._depth -= 1
        for event in events:
            for listener in list(self.listeners):
                listener(event)

    def _commit(self) -> list[ExchangeEvent]:
        records = [(k, i, rec.to_dict()) for (k, i), rec in self._pending.items()]
        meta = self._pending_meta
        if self.store is not None:
            self.store.write(records, meta)  # raises before anything counts as committed
        self._records.update(((k, i), d) for k, i, d in records)
        self._meta.update(meta)
        events = self._events
        self._pending, self._pending_meta, self._events = {}, {}, []
        return events

    def _abort(self, exc: BaseException) -> None:
        changed = bool(self._pending or self._pending_meta or self._events)
        self._pending, self._pending_meta, self._events = {}, {}, []
        # A refusal raised before anything changed (the usual validation error) needs no
        # rollback; anything else may have left objects half-changed in memory.
        if self.restore is not None and (changed or not isinstance(exc, ExchangeError)):
            self.restore()

    def save(self, kind: str, key: str, record: Any) -> None:
        """Write ``record`` (anything with ``to_dict``) as ``(kind, key)`` when the op ends."""
        self._pending[(kind, key)] = record

    def save_meta(self, key: str, value: str) -> None:
        """Write the meta value ``key`` when the op ends."""
        self._pending_meta[key] = value

    def emit(self, event: ExchangeEvent) -> None:
        """Tell the listeners about ``event`` when the op ends."""
        self._events.append(event)

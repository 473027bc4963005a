"""The WebSocket client's bounded event queue and its back-pressure policy.

Events go to one bounded queue, in arrival order. Market data (:class:`BookUpdate`,
:class:`TickerUpdate`, :class:`TradeEvent`) is *droppable*: when the queue is full, the oldest
droppable event is evicted (or, if none is queued, the new one is discarded) and counted in
:attr:`WsStats.dropped`. That loses nothing of substance: the books are maintained before
queueing, so a dropped :class:`BookUpdate` is only a lost notification, and ticker and trade
prints are superseded by the next ones. Every other event (fills, orders, positions, lifecycle,
connection and book-validity notices, server errors) is never dropped: the reader *blocks*
(which also stops reading the socket, pushing back on the server) until the consumer makes room,
and if no room appears within ``overflow_timeout`` the client stops and
:meth:`KalshiWebSocket.events` raises :class:`EventQueueOverflow` after handing out everything
already queued. Blocking first keeps a briefly slow consumer lossless; the timeout turns a stuck
consumer into a loud failure rather than an ever-growing queue or a silently missed fill.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from weather_trader.sources.kalshi.ws_messages import KalshiWebSocketError, WsEvent


class EventQueueOverflow(KalshiWebSocketError):
    """A non-droppable event found the queue full for ``overflow_timeout``: the client stopped."""


@dataclass
class WsStats:
    """Counters of one client (cumulative over reconnects).

    Attributes:
        connects: Successful handshakes.
        messages: Messages received.
        book_messages: Snapshots and deltas applied to the local books.
        gaps: ``seq`` gaps detected on book subscriptions.
        resyncs: Book subscriptions re-subscribed (gaps and other invalid books).
        dropped: Droppable events discarded by the queue, by event class name.
        unknown: Messages of unknown type, by type.
        queue_high_water: Largest queue length seen.
    """

    connects: int = 0
    messages: int = 0
    book_messages: int = 0
    gaps: int = 0
    resyncs: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    queue_high_water: int = 0


class QueueClosed(Exception):
    """The queue is closed and drained: no event will come any more."""


class EventQueue:
    """Bounded FIFO of events with the drop/block policy described in the module docstring."""

    def __init__(self, maxsize: int, overflow_timeout: float, stats: WsStats) -> None:
        self._items: deque[tuple[WsEvent, bool]] = deque()
        self._maxsize = maxsize
        self._overflow_timeout = overflow_timeout
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._closed = False
        self._stats = stats

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, event: WsEvent) -> None:
        name = type(event).__name__
        dropped = self._stats.dropped
        dropped[name] = dropped.get(name, 0) + 1

    def _evict(self) -> bool:
        items = self._items
        for index, (event, droppable) in enumerate(items):
            if droppable:
                del items[index]
                self._drop(event)
                return True
        return False

    def _append(self, event: WsEvent, droppable: bool) -> None:
        self._items.append((event, droppable))
        if len(self._items) > self._stats.queue_high_water:
            self._stats.queue_high_water = len(self._items)
        self._not_empty.set()

    def put_droppable(self, event: WsEvent) -> None:
        """Queue market data; when full, evict the oldest droppable event (or drop this one)."""
        if self._closed:
            return
        if len(self._items) >= self._maxsize and not self._evict():
            self._drop(event)
            return
        self._append(event, True)

    async def put(self, event: WsEvent) -> None:
        """Queue an event that must not be lost; blocks up to ``overflow_timeout`` when full.

        Raises:
            EventQueueOverflow: If no room appeared in time.
        """
        if self._closed:
            return
        if len(self._items) >= self._maxsize and not self._evict():
            try:
                async with asyncio.timeout(self._overflow_timeout):
                    while len(self._items) >= self._maxsize:
                        self._not_full.clear()
                        await self._not_full.wait()
            except TimeoutError:
                raise EventQueueOverflow(
                    f"event queue full ({self._maxsize}) of non-droppable events for "
                    f"{self._overflow_timeout}s; cannot queue {type(event).__name__}"
                ) from None
        self._append(event, False)

    async def get(self) -> WsEvent:
        """The next event; raises ``QueueClosed`` once closed and empty."""
        while not self._items:
            if self._closed:
                raise QueueClosed
            self._not_empty.clear()
            await self._not_empty.wait()
        event, _ = self._items.popleft()
        self._not_full.set()
        return event

    def close(self) -> None:
        """No more events; readers drain what is queued, then stop."""
        self._closed = True
        self._not_empty.set()

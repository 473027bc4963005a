"""The live feed: one background tailer of the ``events`` outbox fanning out to WebSocket clients.

The tailer polls the outbox every ``poll_interval`` seconds and pushes new events into one
bounded :class:`asyncio.Queue` per subscribed client. A client whose queue overflows is dropped
(its queue is replaced by a single "overflow" marker) so that a stalled browser cannot make the
sidecar buffer without bound; it reconnects with its last event id and catches up from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable

from api.metrics import SidecarMetrics
from api.schemas import EventOut

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Events read from the outbox per query."""

MAX_BACKOFF_SECONDS = 30.0


class Signal(enum.Enum):
    """Control markers put in a subscriber's queue instead of an event."""

    OVERFLOW = "overflow"
    SHUTDOWN = "shutdown"


class Subscription:
    """One client's bounded queue of pending events.

    Args:
        maxsize: Events buffered before the client is dropped as too slow.
    """

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[EventOut | Signal] = asyncio.Queue(maxsize=maxsize)
        self.dropped = False

    def _replace_with(self, signal: Signal) -> None:
        """Discard every pending event and leave only ``signal`` in the queue."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(signal)


FetchEvents = Callable[[int, int], list[EventOut]]
"""``fetch(after_id, limit)``: events with id > ``after_id`` in id order (blocking)."""


class OutboxHub:
    """Tails the events outbox and fans new events out to subscribers.

    Args:
        fetch: Reads events after an id from the database (blocking; run in a thread).
        head: Returns the latest event id in the database, 0 when empty (blocking).
        poll_interval: Seconds between polls.
        queue_size: Per-subscriber queue bound.
        metrics: Where to record the outbox position and poll errors.
    """

    def __init__(
        self,
        fetch: FetchEvents,
        head: Callable[[], int],
        poll_interval: float,
        queue_size: int,
        metrics: SidecarMetrics,
    ) -> None:
        self._fetch = fetch
        self._head = head
        self._poll_interval = poll_interval
        self._queue_size = queue_size
        self._metrics = metrics
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._at_head = False
        self.last_id = 0

    @property
    def subscriber_count(self) -> int:
        """Number of clients currently receiving live events."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Start tailing from the current head of the outbox (history is served on demand).

        When the database is unreachable the tailer keeps retrying and starts from the head
        once it answers, so an outage never replays the whole history to live clients.
        """
        try:
            await self._seek_head()
        except Exception as exc:
            logger.warning(
                "outbox head unavailable at startup; will retry",
                extra={"error": type(exc).__name__},
            )
        self._task = asyncio.create_task(self._run(), name="outbox-tailer")
        logger.info("outbox tailer started", extra={"last_event_id": self.last_id})

    async def stop(self) -> None:
        """Stop the tailer and tell every subscriber the server is going away."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in list(self._subscribers):
            sub._replace_with(Signal.SHUTDOWN)
        self._subscribers.clear()
        logger.info("outbox tailer stopped", extra={"last_event_id": self.last_id})

    def subscribe(self) -> Subscription:
        """Register a new client; it receives every event the tailer publishes from now on."""
        sub = Subscription(self._queue_size)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a client (idempotent)."""
        self._subscribers.discard(sub)

    async def read(self, after_id: int, limit: int = PAGE_SIZE) -> list[EventOut]:
        """Events with id > ``after_id`` straight from the table, for catch-up."""
        return await asyncio.to_thread(self._fetch, after_id, limit)

    async def _seek_head(self) -> None:
        self.last_id = await asyncio.to_thread(self._head)
        self._at_head = True
        self._metrics.outbox_last_event_id.set(self.last_id)

    async def poll_once(self) -> int:
        """Read every new event, publish it, and return how many there were."""
        if not self._at_head:
            await self._seek_head()
            return 0
        total = 0
        while True:
            page = await self.read(self.last_id)
            if not page:
                break
            self._publish(page)
            self.last_id = page[-1].id
            self._metrics.outbox_last_event_id.set(self.last_id)
            total += len(page)
            if len(page) < PAGE_SIZE:
                break
        return total

    def _publish(self, events: list[EventOut]) -> None:
        for sub in list(self._subscribers):
            for event in events:
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self._drop(sub)
                    break

    def _drop(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)
        sub.dropped = True
        sub._replace_with(Signal.OVERFLOW)
        logger.warning(
            "websocket client too slow; dropping it",
            extra={"queue_size": self._queue_size, "last_event_id": self.last_id},
        )

    async def _run(self) -> None:
        delay = self._poll_interval
        while True:
            try:
                await self.poll_once()
                delay = self._poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._metrics.outbox_poll_errors.inc()
                delay = min(max(delay * 2, self._poll_interval), MAX_BACKOFF_SECONDS)
                logger.warning(
                    "outbox poll failed",
                    extra={"error": type(exc).__name__, "retry_in_s": delay},
                )
            await asyncio.sleep(delay)

"""The live feed: one background tailer of the ``events`` outbox fanning out to WebSocket clients.

The tailer polls the outbox every ``poll_interval`` seconds, one query per page of up to
:data:`PAGE_SIZE` events, and serialises each new event to JSON once (a :class:`Frame`, shared
by every client). It appends each page to a bounded buffer per subscribed client (one append
per client and page, not per event) and keeps the latest :data:`RECENT_FRAMES` frames in
memory, so that a client resuming from a recent id catches up without querying the database.

A client whose buffer would exceed its bound is dropped (its buffer is replaced by a single
"overflow" marker) so that a stalled browser cannot make the sidecar buffer without bound; it
reconnects with its last event id and catches up from memory, or from the table when its id is
older than the memory reaches. The tailer reads through its own thread, so catch-up reads of
the table never delay the live feed.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import enum
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

from api.metrics import SidecarMetrics
from api.schemas import EventOut

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Events read from the outbox per query."""

RECENT_FRAMES = 10_000
"""Latest frames the hub keeps in memory for catch-up (about 2 MB of small events)."""

MAX_BACKOFF_SECONDS = 30.0

_frame_id = attrgetter("id")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Frame:
    """One outbox event serialised once, as sent on ``/ws``.

    Attributes:
        id: The event id.
        text: The event as a JSON object (:class:`EventOut`), the text of its WebSocket frame.
    """

    id: int
    text: str

    @classmethod
    def of(cls, event: EventOut) -> Frame:
        """Serialise ``event``."""
        return cls(event.id, event.model_dump_json())


class Signal(enum.Enum):
    """Control markers a subscriber receives instead of frames."""

    OVERFLOW = "overflow"
    SHUTDOWN = "shutdown"


class Subscription:
    """One client's bounded buffer of pending frames.

    Args:
        maxsize: Frames buffered before the client is dropped as too slow.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.dropped = False
        self._pending: list[Frame] = []
        self._signal: Signal | None = None
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        """Frames waiting to be sent."""
        return len(self._pending)

    def offer(self, frames: list[Frame]) -> bool:
        """Append ``frames`` unless that would exceed the bound; False when it would."""
        if self._signal is not None:
            return True  # closing anyway; nothing more is delivered
        if len(self._pending) + len(frames) > self.maxsize:
            return False
        self._pending.extend(frames)
        self._wakeup.set()
        return True

    def get_nowait(self) -> list[Frame] | Signal | None:
        """Every pending frame (oldest first), a control signal, or None when there is nothing."""
        if self._signal is not None:
            return self._signal
        if not self._pending:
            return None
        batch, self._pending = self._pending, []
        self._wakeup.clear()
        return batch

    async def get(self) -> list[Frame] | Signal:
        """Wait for frames or a signal; return every pending frame at once, or the signal."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            self._wakeup.clear()
            await self._wakeup.wait()

    def _replace_with(self, signal: Signal) -> None:
        """Discard every pending frame and leave only ``signal``."""
        self._pending = []
        self._signal = signal
        self._wakeup.set()


FetchEvents = Callable[[int, int], list[EventOut]]
"""``fetch(after_id, limit)``: events with id > ``after_id`` in id order (blocking)."""


class OutboxHub:
    """Tails the events outbox and fans new events out to subscribers.

    Args:
        fetch: Reads events after an id from the database (blocking; run in a thread).
        head: Returns the latest event id in the database, 0 when empty (blocking).
        poll_interval: Seconds between polls.
        queue_size: Per-subscriber bound, in frames.
        metrics: Where to record the outbox position and poll errors.
        recent: Latest frames kept in memory for catch-up.
    """

    def __init__(
        self,
        fetch: FetchEvents,
        head: Callable[[], int],
        poll_interval: float,
        queue_size: int,
        metrics: SidecarMetrics,
        recent: int = RECENT_FRAMES,
    ) -> None:
        self._fetch = fetch
        self._head = head
        self._poll_interval = poll_interval
        self._queue_size = queue_size
        self._metrics = metrics
        self._recent_size = recent
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._at_head = False
        self._recent: list[Frame] = []
        self._floor = 0
        self.last_id = 0

    @property
    def subscriber_count(self) -> int:
        """Number of clients currently receiving live events."""
        return len(self._subscribers)

    @property
    def queue_size(self) -> int:
        """Per-subscriber bound, in frames."""
        return self._queue_size

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
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        for sub in list(self._subscribers):
            sub._replace_with(Signal.SHUTDOWN)
        self._subscribers.clear()
        logger.info("outbox tailer stopped", extra={"last_event_id": self.last_id})

    def subscribe(self, backlog: Iterable[Frame] = ()) -> Subscription:
        """Register a new client; it receives ``backlog`` then every frame published from now on.

        ``backlog`` is not counted against the bound when it is longer (callers pass at most
        :attr:`queue_size` frames).
        """
        sub = Subscription(self._queue_size)
        sub._pending.extend(backlog)
        if sub._pending:
            sub._wakeup.set()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a client (idempotent)."""
        self._subscribers.discard(sub)

    def recent_after(self, after_id: int) -> list[Frame] | None:
        """Frames with id > ``after_id`` from memory, or None when memory does not reach back.

        Memory holds every event with an id in ``(floor, last_id]`` once the tailer has found
        the head, so the answer is complete whenever ``after_id >= floor``.
        """
        if not self._at_head or after_id < self._floor:
            return None
        start = bisect.bisect_right(self._recent, after_id, key=_frame_id)
        return self._recent[start:]

    async def read(self, after_id: int, limit: int = PAGE_SIZE) -> list[EventOut]:
        """Events with id > ``after_id`` straight from the table, for catch-up."""
        return await asyncio.to_thread(self._fetch, after_id, limit)

    async def read_frames(self, after_id: int, limit: int = PAGE_SIZE) -> list[Frame]:
        """Like :meth:`read`, serialised (in the worker thread, off the event loop)."""

        def fetch() -> list[Frame]:
            return [Frame.of(event) for event in self._fetch(after_id, limit)]

        return await asyncio.to_thread(fetch)

    async def _in_tailer_thread(self, func: Callable[[], _T]) -> _T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def _seek_head(self) -> None:
        head = await self._in_tailer_thread(self._head)
        self.last_id = self._floor = head
        self._recent = []
        self._at_head = True
        self._metrics.outbox_last_event_id.set(self.last_id)

    async def poll_once(self) -> int:
        """Read every new event, publish it, and return how many there were."""
        if not self._at_head:
            await self._seek_head()
            return 0
        total = 0
        while True:
            after = self.last_id

            def fetch(after: int = after) -> list[Frame]:
                return [Frame.of(event) for event in self._fetch(after, PAGE_SIZE)]

            page = await self._in_tailer_thread(fetch)
            if not page:
                break
            self._publish(page)
            total += len(page)
            if len(page) < PAGE_SIZE:
                break
        return total

    def _publish(self, frames: list[Frame]) -> None:
        self._remember(frames)
        self.last_id = frames[-1].id
        self._metrics.outbox_last_event_id.set(self.last_id)
        for sub in list(self._subscribers):
            if not sub.offer(frames):
                self._drop(sub)

    def _remember(self, frames: list[Frame]) -> None:
        self._recent.extend(frames)
        excess = len(self._recent) - self._recent_size
        if excess > self._recent_size // 4:
            # Trim in chunks so that the copy is amortised over many pages.
            self._floor = self._recent[excess - 1].id
            self._recent = self._recent[excess:]

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

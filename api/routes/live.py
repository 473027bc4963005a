"""``/ws``: the live feed of outbox events.

Protocol: the client passes ``?last_event_id=N`` (or sends ``{"last_event_id": N}`` as its first
message within ``ws_hello_timeout`` seconds) and receives, one JSON text frame each and in id
order, every event with id > N, then live events as they are appended. Without an id the feed
starts at the current head. A client too slow to keep up is closed with code
:data:`CLOSE_SLOW_CONSUMER` and should reconnect with the last id it received.

With ``?batch=true`` each text frame is instead a JSON array of one or more consecutive events
(at most :data:`api.outbox.PAGE_SIZE`), in id order. A burst then costs a few frames per client
instead of one per event, which is what lets it reach hundreds of clients in about a second;
clients that can handle arrays should ask for it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from collections.abc import Sequence
from operator import attrgetter

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from api.deps import get_hub, get_metrics, get_settings
from api.metrics import SidecarMetrics
from api.outbox import PAGE_SIZE, Frame, OutboxHub, Signal, Subscription

logger = logging.getLogger(__name__)

router = APIRouter(tags=["feed"])

_frame_id = attrgetter("id")

CLOSE_SLOW_CONSUMER = 1013
"""WebSocket close code "Try Again Later": the client fell behind; reconnect with its last id."""
CLOSE_INTERNAL_ERROR = 1011
"""WebSocket close code "Internal Error": reading the outbox failed."""
CLOSE_GOING_AWAY = 1001
"""WebSocket close code "Going Away": the sidecar is shutting down."""


def _hello_id(text: str | None) -> int | None:
    """The ``last_event_id`` of a first message like ``{"last_event_id": 12}``, if valid."""
    if not text:
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    value = message.get("last_event_id") if isinstance(message, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


async def _receive_loop(websocket: WebSocket, hello: asyncio.Future[int | None]) -> None:
    """Read client messages until it disconnects; the first one may carry ``last_event_id``."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            if not hello.done():
                hello.set_result(None)
            return
        if not hello.done():
            hello.set_result(_hello_id(message.get("text")))


class _Sender:
    """Sends catch-up then live events to one client, tracking the last id it sent."""

    def __init__(
        self, websocket: WebSocket, hub: OutboxHub, metrics: SidecarMetrics, batch: bool = False
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.metrics = metrics
        self.batch = batch
        self.last_id = 0

    async def _send(self, frames: Sequence[Frame]) -> None:
        """Send ``frames``, skipping any the client already has.

        One text frame per event, or with ``batch`` one JSON array of up to
        :data:`PAGE_SIZE` events per text frame. Each event's JSON is the hub's, shared by
        every client.
        """
        if frames and frames[0].id <= self.last_id:
            frames = frames[bisect.bisect_right(frames, self.last_id, key=_frame_id) :]
        send_text = self.websocket.send_text
        sent = 0
        try:
            if self.batch:
                for start in range(0, len(frames), PAGE_SIZE):
                    chunk = frames[start : start + PAGE_SIZE]
                    await send_text("[" + ",".join([f.text for f in chunk]) + "]")
                    self.last_id = chunk[-1].id
                    sent += len(chunk)
            else:
                for frame in frames:
                    await send_text(frame.text)
                    self.last_id = frame.id
                    sent += 1
        finally:
            if sent:
                self.metrics.ws_events_sent.inc(sent)

    async def _from_table(self, until_covered: bool = True) -> bool:
        """Send pages from the table until a short page (the end of the table).

        With ``until_covered``, stop earlier, as soon as the hub's memory reaches back to the
        last id sent. Returns whether it does.
        """
        while True:
            page = await self.hub.read_frames(self.last_id)
            await self._send(page)
            covered = self.hub.recent_after(self.last_id) is not None
            if (covered and until_covered) or len(page) < PAGE_SIZE:
                return covered

    async def _subscribe(self) -> Subscription:
        """Catch up and subscribe, so that no event is lost or repeated.

        While the hub's memory does not reach back to the client's id, pages come from the
        table; then the rest comes from memory, and the subscription starts with what is left
        (at most a queue's worth) in the same step, with no await in between. Should the table
        be exhausted while memory still does not reach back (the tailer has not found the head
        yet), it subscribes first and reads the table once more: events committed between the
        two reads come from the table and later ones through the queue; duplicates are skipped
        by id.
        """
        covered = self.hub.recent_after(self.last_id) is not None or await self._from_table()
        if not covered:
            sub = self.hub.subscribe()
            try:
                await self._from_table(until_covered=False)
            except BaseException:
                self.hub.unsubscribe(sub)
                raise
            return sub
        while True:
            recent = self.hub.recent_after(self.last_id)
            if recent is None:  # fell out of memory while sending
                return await self._subscribe()
            if len(recent) <= self.hub.queue_size:
                return self.hub.subscribe(recent)
            await self._send(recent[:PAGE_SIZE])

    async def run(self, last_id: int) -> str:
        """Stream events after ``last_id`` until overflow or shutdown; return the reason."""
        self.last_id = last_id
        sub = await self._subscribe()
        try:
            while True:
                item = await sub.get()
                if item is Signal.OVERFLOW:
                    await self.websocket.close(
                        CLOSE_SLOW_CONSUMER, "slow consumer; resume with last_event_id"
                    )
                    return "slow_consumer"
                if item is Signal.SHUTDOWN:
                    await self.websocket.close(CLOSE_GOING_AWAY, "server shutting down")
                    return "shutdown"
                await self._send(item)
        finally:
            self.hub.unsubscribe(sub)


@router.websocket("/ws")
async def live_feed(
    websocket: WebSocket,
    last_event_id: int | None = Query(default=None, ge=0),
    batch: bool = Query(default=False),
) -> None:
    """Stream outbox events after ``last_event_id`` (see the module docstring for the protocol)."""
    app = websocket.app
    hub = get_hub(app)
    metrics = get_metrics(app)
    await websocket.accept()
    metrics.ws_clients.inc()
    hello: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    receiver = asyncio.create_task(_receive_loop(websocket, hello))
    sender: asyncio.Task[str] | None = None
    reason = "client_closed"
    try:
        if last_event_id is None:
            with contextlib.suppress(TimeoutError):
                last_event_id = await asyncio.wait_for(
                    asyncio.shield(hello), get_settings(app).ws_hello_timeout
                )
        start = hub.last_id if last_event_id is None else last_event_id
        logger.info("websocket client connected", extra={"last_event_id": start})
        sender = asyncio.create_task(_Sender(websocket, hub, metrics, batch).run(start))
        done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
        if sender in done:
            reason = sender.result()
    except (WebSocketDisconnect, RuntimeError) as exc:
        # The client went away mid-send (RuntimeError: send after close).
        reason = "send_failed"
        logger.info("websocket send failed", extra={"error": type(exc).__name__})
    except Exception as exc:
        reason = "error"
        logger.warning("websocket feed failed", extra={"error": type(exc).__name__})
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_INTERNAL_ERROR, "feed error; resume with last_event_id")
    finally:
        for task in (receiver, sender):
            if task is not None:  # cancel if running; either way retrieve its outcome
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        metrics.ws_clients.dec()
        metrics.ws_disconnects.labels(reason).inc()
        logger.info("websocket client disconnected", extra={"reason": reason})

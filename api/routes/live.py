"""``/ws``: the live feed of outbox events.

Protocol: the client passes ``?last_event_id=N`` (or sends ``{"last_event_id": N}`` as its first
message within ``ws_hello_timeout`` seconds) and receives, one JSON text frame each and in id
order, every event with id > N, then live events as they are appended. Without an id the feed
starts at the current head. A client too slow to keep up is closed with code
:data:`CLOSE_SLOW_CONSUMER` and should reconnect with the last id it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from api.deps import get_hub, get_metrics, get_settings
from api.metrics import SidecarMetrics
from api.outbox import PAGE_SIZE, OutboxHub, Signal
from api.schemas import EventOut

logger = logging.getLogger(__name__)

router = APIRouter(tags=["feed"])

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

    def __init__(self, websocket: WebSocket, hub: OutboxHub, metrics: SidecarMetrics) -> None:
        self.websocket = websocket
        self.hub = hub
        self.metrics = metrics

    async def _send(self, event: EventOut) -> None:
        await self.websocket.send_text(event.model_dump_json())
        self.metrics.ws_events_sent.inc()

    async def _catch_up(self, last_id: int) -> int:
        while True:
            page = await self.hub.read(last_id)
            for event in page:
                await self._send(event)
                last_id = event.id
            if len(page) < PAGE_SIZE:
                return last_id

    async def run(self, last_id: int) -> str:
        """Stream events after ``last_id`` until overflow or shutdown; return the reason."""
        # Catch up from the table first, subscribe, then read once more: events committed
        # between the two reads come from the table and later ones through the queue;
        # duplicates are skipped by id, so nothing is lost or repeated.
        last_id = await self._catch_up(last_id)
        sub = self.hub.subscribe()
        try:
            last_id = await self._catch_up(last_id)
            while True:
                item = await sub.queue.get()
                if item is Signal.OVERFLOW:
                    await self.websocket.close(
                        CLOSE_SLOW_CONSUMER, "slow consumer; resume with last_event_id"
                    )
                    return "slow_consumer"
                if item is Signal.SHUTDOWN:
                    await self.websocket.close(CLOSE_GOING_AWAY, "server shutting down")
                    return "shutdown"
                if item.id <= last_id:
                    continue
                await self._send(item)
                last_id = item.id
        finally:
            self.hub.unsubscribe(sub)


@router.websocket("/ws")
async def live_feed(
    websocket: WebSocket,
    last_event_id: int | None = Query(default=None, ge=0),
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
        sender = asyncio.create_task(_Sender(websocket, hub, metrics).run(start))
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

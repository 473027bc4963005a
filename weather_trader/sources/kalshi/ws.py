"""Async Kalshi WebSocket client: signed connection, subscriptions, local books, typed events.

* The handshake carries ``KALSHI-ACCESS-KEY``/``-TIMESTAMP``/``-SIGNATURE`` signing
  ``timestamp + "GET" + "/trade-api/ws/v2"``; it is signed afresh for every (re)connect, with a
  timestamp strictly later than the previous one.
* Books are kept by :class:`~weather_trader.sources.kalshi.book.BookKeeper`. A ``seq`` gap (or
  any other reason a book can no longer be trusted) drops that subscription's books, emits
  :class:`BookInvalidated`, unsubscribes the sid and subscribes its markets again; the new
  snapshots rebuild the books. :meth:`KalshiWebSocket.book` returns None meanwhile.
* On connection loss: every book is dropped, the client reconnects with exponential backoff and
  jitter (``sleep`` and ``rng`` are injectable), re-signs, and re-subscribes everything.
* Keep-alive: websockets answers the server's pings itself; the client also pings
  (``ping_interval``/``ping_timeout``) so a silently dead link is noticed.

The commands and events are :mod:`~weather_trader.sources.kalshi.ws_messages`; the queue between
the socket and the consumer, and what it drops when the consumer is slow, is
:mod:`~weather_trader.sources.kalshi.ws_queue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidURI, WebSocketException

from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.book import (
    BookInvalid,
    BookKeeper,
    BookMessageError,
    OrderBook,
    SequenceGap,
    count_to_decimal,
    parse_count,
    parse_price,
    price_to_decimal,
)
from weather_trader.sources.kalshi.urls import PROD_WS_URL
from weather_trader.sources.kalshi.wire import loads
from weather_trader.sources.kalshi.ws_messages import (
    CONTROL_TYPES,
    EVENT_TYPES,
    BookInvalidated,
    BookUpdate,
    ConnectionStatus,
    KalshiWebSocketError,
    MessageParseError,
    ServerError,
    Subscription,
    UnparsedMessage,
    WsEvent,
    parse_event,
)
from weather_trader.sources.kalshi.ws_queue import EventQueue, QueueClosed, WsStats

logger = logging.getLogger(__name__)


class ConnectionFailed(KalshiWebSocketError):
    """The connection could not be (re)established within the allowed attempts."""


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    factor: float = 2.0,
    jitter: float = 0.5,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (1 = first retry).

    ``min(maximum, initial * factor ** (attempt - 1))`` scaled by a random factor in
    ``[1 - jitter, 1]`` so many clients do not reconnect in lockstep.
    """
    base = min(maximum, initial * factor ** min(max(attempt - 1, 0), 64))
    return base * (1.0 - jitter * rng())


@dataclass(frozen=True)
class _SidInfo:
    channel: str
    market_tickers: tuple[str, ...] | None


class KalshiWebSocket:
    """Kalshi WebSocket client with local order books and a bounded queue of typed events.

    Example::

        subs = [Subscription(channels=("orderbook_delta", "ticker"), market_tickers=tickers),
                Subscription(channels=("fill", "user_orders"))]
        async with KalshiWebSocket(PROD_WS_URL, credentials, subs) as client:
            async for event in client.events():
                if isinstance(event, BookUpdate):
                    book = client.book(event.market_ticker)

    Args:
        url: ``wss://.../trade-api/ws/v2`` (or ``ws://127.0.0.1:PORT/trade-api/ws/v2`` for the
            local exchange); the signed path is the URL's path.
        credentials: API key; None connects unsigned (public channels on servers that allow it).
        subscriptions: What to subscribe after every connect.
        queue_size: Bound of the event queue.
        ping_interval: Seconds between client pings (None: no client pings).
        ping_timeout: Seconds to wait for a pong before dropping the connection.
        open_timeout: Seconds allowed for the TCP + TLS + WebSocket handshake.
        max_message_size: Largest accepted message in bytes (snapshots of many markets are big).
        backoff_initial: First reconnect delay in seconds.
        backoff_max: Largest reconnect delay in seconds.
        backoff_factor: Growth of the delay per consecutive failure.
        backoff_jitter: Fraction of the delay randomly taken off (0 = none).
        max_reconnect_attempts: Consecutive failed attempts before giving up (None: never).
        overflow_timeout: Seconds a non-droppable event may wait for room in the queue.
        sleep: Awaitable sleep used for backoff (injectable for tests).
        rng: Uniform [0, 1) source for the jitter (injectable for tests).
        clock_ms: Milliseconds since the epoch for the signature timestamp.
    """

    def __init__(
        self,
        url: str = PROD_WS_URL,
        credentials: KalshiCredentials | None = None,
        subscriptions: Iterable[Subscription] = (),
        *,
        queue_size: int = 10_000,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        max_message_size: int | None = 16 * 1024 * 1024,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        backoff_factor: float = 2.0,
        backoff_jitter: float = 0.5,
        max_reconnect_attempts: int | None = None,
        overflow_timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError(f"not a WebSocket URL: {url!r}")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._url = url
        self._sign_path = parts.path or "/"
        self._credentials = credentials
        self._subscriptions: list[Subscription] = list(subscriptions)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._open_timeout = open_timeout
        self._max_message_size = max_message_size
        self._backoff = {
            "initial": backoff_initial,
            "maximum": backoff_max,
            "factor": backoff_factor,
            "jitter": backoff_jitter,
        }
        self._max_attempts = max_reconnect_attempts
        self._sleep = sleep
        self._rng = rng
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.stats = WsStats()
        self._queue = EventQueue(queue_size, overflow_timeout, self.stats)
        self._keeper = BookKeeper()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._error: BaseException | None = None
        self._next_id = 1
        self._last_timestamp = 0
        self._commands: dict[int, Subscription] = {}
        self._sids: dict[int, _SidInfo] = {}

    # -- public API ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kalshi-ws")

    async def close(self) -> None:
        """Close the connection and stop; :meth:`events` ends after the queued events."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await ws.close()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def events(self) -> AsyncIterator[WsEvent]:
        """Yield events in arrival order until the client is closed.

        Raises:
            EventQueueOverflow: The consumer left the queue full of non-droppable events.
            ConnectionFailed: Reconnecting failed ``max_reconnect_attempts`` times in a row.
        """
        while True:
            try:
                event = await self._queue.get()
            except QueueClosed:
                if self._error is not None:
                    raise self._error from None
                return
            yield event

    def book(self, ticker: str) -> OrderBook | None:
        """A copy of the current book of ``ticker``; None until its snapshot or while invalid."""
        book = self._keeper.book(ticker)
        return book.copy() if book is not None else None

    def tickers(self) -> list[str]:
        """Markets with a valid book, sorted."""
        return self._keeper.tickers()

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._ws is not None

    @property
    def queued(self) -> int:
        """Events waiting in the queue."""
        return len(self._queue)

    async def subscribe(
        self, channels: Sequence[str], market_tickers: Sequence[str] | None = None
    ) -> None:
        """Add a subscription (sent now if connected, and after every reconnect)."""
        subscription = Subscription(
            channels=tuple(channels),
            market_tickers=None if market_tickers is None else tuple(market_tickers),
        )
        self._subscriptions.append(subscription)
        if self._ws is not None:
            await self._send_subscribe(self._ws, subscription)

    # -- connection loop -----------------------------------------------------------------------

    def _handshake_headers(self) -> dict[str, str] | None:
        """Fresh auth headers; the timestamp is strictly later than the previous handshake's."""
        if self._credentials is None:
            return None
        timestamp = max(self._clock_ms(), self._last_timestamp + 1)
        self._last_timestamp = timestamp
        return self._credentials.headers("GET", self._sign_path, timestamp_ms=timestamp)

    async def _run(self) -> None:
        try:
            await self._connect_forever()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = exc
            logger.error(
                "kalshi ws stopped: %s",
                exc,
                extra={"ws_url": self._url, "error_type": type(exc).__name__},
            )
        finally:
            self._ws = None
            self._queue.close()

    async def _connect_forever(self) -> None:
        failures = 0
        while not self._closing:
            detail = ""
            try:
                async with connect(
                    self._url,
                    additional_headers=self._handshake_headers(),
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_timeout,
                    open_timeout=self._open_timeout,
                    max_size=self._max_message_size,
                ) as ws:
                    failures = 0
                    await self._session(ws)
                detail = "closed by server"
            except InvalidURI as exc:
                raise ConnectionFailed(f"invalid WebSocket URL: {exc}") from None
            except (OSError, TimeoutError, WebSocketException) as exc:
                detail = f"{type(exc).__name__}: {exc}"
            finally:
                if self._ws is not None:
                    self._ws = None
                    await self._connection_lost(detail or "closed")
            if self._closing:
                return
            failures += 1
            logger.warning(
                "kalshi ws disconnected: %s",
                detail,
                extra={"ws_url": self._url, "attempt": failures},
            )
            if self._max_attempts is not None and failures > self._max_attempts:
                raise ConnectionFailed(
                    f"could not connect to {self._url} after {self._max_attempts} retries: {detail}"
                )
            await self._sleep(backoff_delay(failures, rng=self._rng, **self._backoff))

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.stats.connects += 1
        self._keeper.reset()
        self._commands.clear()
        self._sids.clear()
        logger.info("kalshi ws connected", extra={"ws_url": self._url})
        await self._queue.put(ConnectionStatus(state="connected", attempt=self.stats.connects))
        for subscription in self._subscriptions:
            await self._send_subscribe(ws, subscription)
        async for raw in ws:
            await self._handle(ws, raw)

    async def _connection_lost(self, detail: str) -> None:
        dropped = self._keeper.reset()
        self._sids.clear()
        self._commands.clear()
        if self._closing:
            return
        if dropped:
            await self._queue.put(
                BookInvalidated(market_tickers=tuple(dropped), reason="connection lost")
            )
        await self._queue.put(ConnectionStatus(state="disconnected", detail=detail))

    async def _send(self, ws: ClientConnection, command: dict[str, Any]) -> int:
        command_id = self._next_id
        self._next_id += 1
        await ws.send(json.dumps({"id": command_id, **command}))
        return command_id

    async def _send_subscribe(self, ws: ClientConnection, subscription: Subscription) -> None:
        command_id = self._next_id
        self._commands[command_id] = subscription
        await self._send(ws, {"cmd": "subscribe", "params": subscription.params()})

    # -- messages ------------------------------------------------------------------------------

    async def _handle(self, ws: ClientConnection, raw: str | bytes) -> None:
        self.stats.messages += 1
        try:
            message = loads(raw)  # too deep nesting is a ValueError, not a RecursionError
        except ValueError:
            logger.warning("kalshi ws: message is not JSON", extra={"ws_url": self._url})
            return
        if not isinstance(message, dict):
            logger.warning("kalshi ws: message is not an object", extra={"ws_url": self._url})
            return
        kind = message.get("type")
        if not isinstance(kind, str):
            kind = repr(kind)
        if kind == "orderbook_delta" or kind == "orderbook_snapshot":
            await self._handle_book(ws, message)
        elif kind in EVENT_TYPES:
            try:
                event = parse_event(message)
            except MessageParseError as exc:
                logger.error(
                    "kalshi ws: unparseable %s message: %s",
                    kind,
                    exc,
                    extra={"message_type": kind},
                )
                event = UnparsedMessage(message_type=kind, error=str(exc), raw=json.dumps(message))
            if event is not None:
                await self._emit(event)
        elif kind in CONTROL_TYPES:
            await self._handle_control(message)
        else:
            self.stats.unknown[kind] = self.stats.unknown.get(kind, 0) + 1
            logger.debug("kalshi ws: unknown message type", extra={"message_type": kind})

    async def _emit(self, event: WsEvent) -> None:
        if event.droppable:
            self._queue.put_droppable(event)
        else:
            await self._queue.put(event)

    async def _handle_book(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        try:
            ticker = self._keeper.apply(message)
        except BookInvalid as exc:
            await self._resync(ws, exc)
            return
        except BookMessageError as exc:
            logger.warning("kalshi ws: bad book message: %s", exc, extra={"ws_url": self._url})
            return
        if ticker is None:
            return
        self.stats.book_messages += 1
        msg = message["msg"]
        if message["type"] == "orderbook_snapshot":
            event = BookUpdate.model_construct(
                market_ticker=ticker, kind="snapshot", sid=message["sid"], seq=message["seq"]
            )
        else:
            price = msg.get("price_dollars")
            delta = msg.get("delta_fp")
            event = BookUpdate.model_construct(
                market_ticker=ticker,
                kind="delta",
                sid=message["sid"],
                seq=message["seq"],
                side=msg["side"],
                price=price_to_decimal(parse_price(msg["price"] if price is None else price)),
                delta=count_to_decimal(parse_count(msg["delta"] if delta is None else delta)),
                client_order_id=msg.get("client_order_id"),
            )
        self._queue.put_droppable(event)

    async def _resync(self, ws: ClientConnection, exc: BookInvalid) -> None:
        self.stats.resyncs += 1
        if isinstance(exc, SequenceGap):
            self.stats.gaps += 1
        info = self._sids.pop(exc.sid, None)
        logger.warning(
            "kalshi ws: books invalid, resubscribing: %s",
            exc.reason,
            extra={"sid": exc.sid, "market_count": len(exc.tickers)},
        )
        tickers = exc.tickers or (info.market_tickers if info and info.market_tickers else ())
        await self._queue.put(BookInvalidated(market_tickers=tuple(tickers), reason=exc.reason))
        if info is None:
            logger.error("kalshi ws: cannot resubscribe unknown sid", extra={"sid": exc.sid})
            return
        await self._send(ws, {"cmd": "unsubscribe", "params": {"sids": [exc.sid]}})
        await self._send_subscribe(
            ws, Subscription(channels=(info.channel,), market_tickers=info.market_tickers)
        )

    async def _handle_control(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        msg = message.get("msg") if isinstance(message.get("msg"), dict) else {}
        if kind == "subscribed":
            sid = msg.get("sid", message.get("sid"))
            channel = msg.get("channel")
            subscription = self._commands.get(message.get("id"))  # type: ignore[arg-type]
            if isinstance(sid, int) and isinstance(channel, str):
                tickers = subscription.market_tickers if subscription else None
                self._sids[sid] = _SidInfo(channel, tickers)
                logger.info("kalshi ws subscribed", extra={"sid": sid, "channel": channel})
        elif kind == "unsubscribed":
            sid = message.get("sid", msg.get("sid"))
            if isinstance(sid, int):
                self._sids.pop(sid, None)
                self._keeper.forget_sid(sid)
        elif kind == "error":
            code = msg.get("code")
            text = str(msg.get("msg", ""))
            command_id = message.get("id")
            sid = message.get("sid")
            logger.warning(
                "kalshi ws error %s: %s",
                code,
                text,
                extra={"error_code": code, "command_id": command_id},
            )
            await self._queue.put(
                ServerError(
                    code=code if isinstance(code, int) else None,
                    message=text,
                    command_id=command_id if isinstance(command_id, int) else None,
                    sid=sid if isinstance(sid, int) else None,
                )
            )

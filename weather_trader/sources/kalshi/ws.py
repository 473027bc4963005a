"""Async Kalshi WebSocket client: signed connection, subscriptions, local books, typed events.

Protocol (``/trade-api/ws/v2``; docs.kalshi.com "Quick Start: WebSockets" and the AsyncAPI):

* The handshake carries ``KALSHI-ACCESS-KEY``/``-TIMESTAMP``/``-SIGNATURE`` signing
  ``timestamp + "GET" + "/trade-api/ws/v2"``; it is signed afresh for every (re)connect, with a
  timestamp strictly later than the previous one.
* Commands: ``{"id", "cmd": "subscribe", "params": {"channels", "market_tickers"?}}`` and
  ``{"id", "cmd": "unsubscribe", "params": {"sids": [...]}}``. Each channel of a subscribe is
  answered by ``{"type": "subscribed", "id", "msg": {"channel", "sid"}}``; failures by
  ``{"type": "error", "id", "msg": {"code", "msg"}}``.
* Data messages are ``{"type", "sid", "seq"?, "msg"}``. Channel -> message type:
  ``orderbook_delta`` -> ``orderbook_snapshot`` + ``orderbook_delta``; ``ticker`` -> ``ticker``;
  ``trade`` -> ``trade``; ``fill`` -> ``fill``; ``user_orders`` -> ``user_order``;
  ``market_positions`` -> ``market_position``; ``market_lifecycle_v2`` ->
  ``market_lifecycle_v2`` and ``event_lifecycle``.

Behaviour:

* Books are kept by :class:`~weather_trader.sources.kalshi.book.BookKeeper`. A ``seq`` gap (or
  any other reason a book can no longer be trusted) drops that subscription's books, emits
  :class:`BookInvalidated`, unsubscribes the sid and subscribes its markets again; the new
  snapshots rebuild the books. :meth:`KalshiWebSocket.book` returns None meanwhile.
* On connection loss: every book is dropped, the client reconnects with exponential backoff and
  jitter (``sleep`` and ``rng`` are injectable), re-signs, and re-subscribes everything.
* Keep-alive: websockets answers the server's pings itself; the client also pings
  (``ping_interval``/``ping_timeout``) so a silently dead link is noticed.

Back-pressure: events go to one bounded queue, in arrival order. Market data
(:class:`BookUpdate`, :class:`TickerUpdate`, :class:`TradeEvent`) is *droppable*: when the queue
is full, the oldest droppable event is evicted (or, if none is queued, the new one is discarded)
and counted in :attr:`WsStats.dropped`. That loses nothing of substance: the books are maintained
before queueing, so a dropped :class:`BookUpdate` is only a lost notification, and ticker and
trade prints are superseded by the next ones. Every other event (fills, orders, positions,
lifecycle, connection and book-validity notices, server errors) is never dropped: the reader
*blocks* (which also stops reading the socket, pushing back on the server) until the consumer
makes room, and if no room appears within ``overflow_timeout`` the client stops and
:meth:`KalshiWebSocket.events` raises :class:`EventQueueOverflow` after handing out everything
already queued. Blocking first keeps a briefly slow consumer lossless; the timeout turns a stuck
consumer into a loud failure rather than an ever-growing queue or a silently missed fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
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
from weather_trader.sources.kalshi.errors import KalshiError
from weather_trader.sources.kalshi.wire import count, money, to_decimal

logger = logging.getLogger(__name__)

PROD_WS_URL = "wss://api.elections.kalshi.com/trade-api/ws/v2"
DEMO_WS_URL = "wss://demo-api.kalshi.co/trade-api/ws/v2"

_CENTI_CENTS = 4  # legacy market_position money fields are in 1/10,000 dollar


# -- errors ------------------------------------------------------------------------------------


class KalshiWebSocketError(KalshiError):
    """Base class of the WebSocket client's errors."""


class EventQueueOverflow(KalshiWebSocketError):
    """A non-droppable event found the queue full for ``overflow_timeout``: the client stopped."""


class ConnectionFailed(KalshiWebSocketError):
    """The connection could not be (re)established within the allowed attempts."""


class MessageParseError(KalshiWebSocketError):
    """A data message does not match its channel's documented shape."""


# -- subscriptions -----------------------------------------------------------------------------


class Subscription(BaseModel):
    """Channels to subscribe, optionally restricted to some markets.

    ``orderbook_delta`` needs market tickers; ``fill``, ``user_orders``, ``market_positions``,
    ``ticker``, ``trade`` and ``market_lifecycle_v2`` may omit them (all markets).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: tuple[str, ...] = Field(min_length=1)
    market_tickers: tuple[str, ...] | None = None

    @field_validator("channels")
    @classmethod
    def _channels_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not channel for channel in value):
            raise ValueError("channel names must be non-empty")
        return value

    def params(self) -> dict[str, Any]:
        """The ``params`` object of the subscribe command."""
        params: dict[str, Any] = {"channels": list(self.channels)}
        if self.market_tickers is not None:
            params["market_tickers"] = list(self.market_tickers)
        return params


# -- events ------------------------------------------------------------------------------------


class WsEvent(BaseModel):
    """Base of every event :meth:`KalshiWebSocket.events` yields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    droppable: ClassVar[bool] = False
    """Whether the queue may evict this kind of event when the consumer is slow."""


def _timestamp(msg: Mapping[str, Any]) -> datetime | None:
    """The message time: ``ts_ms`` (ms), else ``ts`` (seconds, ms, or an ISO string)."""
    value = msg.get("ts_ms")
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    value = msg.get("ts")
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise MessageParseError(f"ts {value!r} is not an ISO timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MessageParseError(f"ts {value!r} is not a timestamp")


def _seconds(msg: Mapping[str, Any], name: str) -> datetime | None:
    value = msg.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise MessageParseError(f"{name} {value!r} is not a Unix time in seconds")


def _text(msg: Mapping[str, Any], *names: str, required: bool = False) -> str | None:
    for name in names:
        value = msg.get(name)
        if isinstance(value, str) and value:
            return value
    if required:
        raise MessageParseError(f"missing {' / '.join(names)}")
    return None


def _required(value: Decimal | None, name: str) -> Decimal:
    if value is None:
        raise MessageParseError(f"missing {name}")
    return value


def _legacy_money(msg: Mapping[str, Any], name: str, legacy_places: int) -> Decimal | None:
    """``name_dollars`` as dollars, else the legacy integer ``name`` in 10**-places dollars."""
    value = msg.get(f"{name}_dollars")
    if value is not None and value != "":
        return to_decimal(value, f"{name}_dollars")
    value = msg.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).scaleb(-legacy_places)
    return None if value is None or value == "" else to_decimal(value, name)


class ConnectionStatus(WsEvent):
    """The connection came up (subscriptions are being sent) or went down."""

    state: Literal["connected", "disconnected"]
    attempt: int = 0
    detail: str = ""


class BookUpdate(WsEvent):
    """The book of ``market_ticker`` changed; read it with :meth:`KalshiWebSocket.book`."""

    droppable: ClassVar[bool] = True

    market_ticker: str
    kind: Literal["snapshot", "delta"]
    sid: int
    seq: int
    side: Literal["yes", "no"] | None = None
    price: Decimal | None = None
    delta: Decimal | None = None
    client_order_id: str | None = None


class BookInvalidated(WsEvent):
    """These markets' books were dropped; they come back with the next snapshots."""

    market_tickers: tuple[str, ...]
    reason: str


class TickerUpdate(WsEvent):
    """``ticker`` channel: top of book, last price, volume, open interest (dollars, contracts)."""

    droppable: ClassVar[bool] = True

    market_ticker: str
    market_id: str | None = None
    price: Decimal | None = None
    yes_bid: Decimal | None = None
    yes_ask: Decimal | None = None
    yes_bid_size: Decimal | None = None
    yes_ask_size: Decimal | None = None
    last_trade_size: Decimal | None = None
    volume: Decimal | None = None
    open_interest: Decimal | None = None
    ts: datetime | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``ticker`` message body (fixed-point or legacy integer cents)."""
        return cls(
            market_ticker=_text(msg, "market_ticker", required=True),
            market_id=_text(msg, "market_id"),
            price=money(msg, "price"),
            yes_bid=money(msg, "yes_bid"),
            yes_ask=money(msg, "yes_ask"),
            yes_bid_size=count(msg, "yes_bid_size"),
            yes_ask_size=count(msg, "yes_ask_size"),
            last_trade_size=count(msg, "last_trade_size"),
            volume=count(msg, "volume"),
            open_interest=count(msg, "open_interest"),
            ts=_timestamp(msg),
        )


class TradeEvent(WsEvent):
    """``trade`` channel: a public trade print."""

    droppable: ClassVar[bool] = True

    trade_id: str | None = None
    market_ticker: str
    yes_price: Decimal
    no_price: Decimal | None = None
    count: Decimal
    taker_side: str | None = None
    ts: datetime | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``trade`` message body (fixed-point or legacy integer cents)."""
        return cls(
            trade_id=_text(msg, "trade_id"),
            market_ticker=_text(msg, "market_ticker", required=True),
            yes_price=_required(money(msg, "yes_price"), "yes_price_dollars"),
            no_price=money(msg, "no_price"),
            count=_required(count(msg, "count"), "count_fp"),
            taker_side=_text(msg, "taker_outcome_side", "taker_side"),
            ts=_timestamp(msg),
        )


class FillEvent(WsEvent):
    """``fill`` channel: one execution of one of our orders. Never dropped."""

    trade_id: str
    order_id: str
    client_order_id: str | None = None
    market_ticker: str
    is_taker: bool
    side: str | None = None
    action: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    yes_price: Decimal
    count: Decimal
    fee: Decimal | None = None
    post_position: Decimal | None = None
    ts: datetime | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``fill`` message body (fixed-point or legacy integer cents)."""
        is_taker = msg.get("is_taker")
        if not isinstance(is_taker, bool):
            raise MessageParseError(f"is_taker {is_taker!r} is not a boolean")
        return cls(
            trade_id=_text(msg, "trade_id", required=True),
            order_id=_text(msg, "order_id", required=True),
            client_order_id=_text(msg, "client_order_id"),
            market_ticker=_text(msg, "market_ticker", "ticker", required=True),
            is_taker=is_taker,
            side=_text(msg, "side", "purchased_side"),
            action=_text(msg, "action"),
            outcome_side=_text(msg, "outcome_side"),
            book_side=_text(msg, "book_side"),
            yes_price=_required(money(msg, "yes_price"), "yes_price_dollars"),
            count=_required(count(msg, "count"), "count_fp"),
            fee=money(msg, "fee_cost"),
            post_position=count(msg, "post_position"),
            ts=_timestamp(msg),
        )


class UserOrderEvent(WsEvent):
    """``user_orders`` channel (message type ``user_order``): an order created or updated."""

    order_id: str
    client_order_id: str | None = None
    market_ticker: str
    status: str
    side: str | None = None
    action: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    yes_price: Decimal | None = None
    initial_count: Decimal | None = None
    fill_count: Decimal | None = None
    remaining_count: Decimal | None = None
    taker_fees: Decimal | None = None
    maker_fees: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``user_order`` message body."""

        def ms(name: str) -> datetime | None:
            value = msg.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return datetime.fromtimestamp(value / 1000, UTC)
            return None

        return cls(
            order_id=_text(msg, "order_id", required=True),
            client_order_id=_text(msg, "client_order_id"),
            market_ticker=_text(msg, "ticker", "market_ticker", required=True),
            status=_text(msg, "status", required=True),
            side=_text(msg, "side"),
            action=_text(msg, "action"),
            outcome_side=_text(msg, "outcome_side"),
            book_side=_text(msg, "book_side"),
            yes_price=money(msg, "yes_price"),
            initial_count=count(msg, "initial_count"),
            fill_count=count(msg, "fill_count"),
            remaining_count=count(msg, "remaining_count"),
            taker_fees=money(msg, "taker_fees"),
            maker_fees=money(msg, "maker_fees"),
            created_at=ms("created_ts_ms"),
            updated_at=ms("last_updated_ts_ms") or ms("updated_ts_ms"),
        )


class MarketPositionEvent(WsEvent):
    """``market_positions`` channel (type ``market_position``): our position in one market.

    ``position`` > 0 is YES contracts, < 0 NO contracts. Legacy integer money fields are
    centi-cents (1/10,000 dollar).
    """

    market_ticker: str
    position: Decimal
    position_cost: Decimal | None = None
    realized_pnl: Decimal | None = None
    fees_paid: Decimal | None = None
    position_fee_cost: Decimal | None = None
    volume: Decimal | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``market_position`` message body."""
        return cls(
            market_ticker=_text(msg, "market_ticker", "ticker", required=True),
            position=_required(count(msg, "position"), "position_fp"),
            position_cost=_legacy_money(msg, "position_cost", _CENTI_CENTS),
            realized_pnl=_legacy_money(msg, "realized_pnl", _CENTI_CENTS),
            fees_paid=_legacy_money(msg, "fees_paid", _CENTI_CENTS),
            position_fee_cost=_legacy_money(msg, "position_fee_cost", _CENTI_CENTS),
            volume=count(msg, "volume"),
        )


class MarketLifecycleEvent(WsEvent):
    """``market_lifecycle_v2`` channel: a market was created, opened, paused, closed, settled."""

    market_ticker: str
    event_type: str
    open_ts: datetime | None = None
    close_ts: datetime | None = None
    determination_ts: datetime | None = None
    settled_ts: datetime | None = None
    result: str | None = None
    settlement_value: Decimal | None = None
    is_deactivated: bool | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse a ``market_lifecycle_v2`` message body."""
        deactivated = msg.get("is_deactivated")
        return cls(
            market_ticker=_text(msg, "market_ticker", required=True),
            event_type=_text(msg, "event_type", required=True),
            open_ts=_seconds(msg, "open_ts"),
            close_ts=_seconds(msg, "close_ts"),
            determination_ts=_seconds(msg, "determination_ts"),
            settled_ts=_seconds(msg, "settled_ts"),
            result=_text(msg, "result"),
            settlement_value=money(msg, "settlement_value"),
            is_deactivated=deactivated if isinstance(deactivated, bool) else None,
        )


class EventLifecycleEvent(WsEvent):
    """``event_lifecycle`` (on the ``market_lifecycle_v2`` channel): an event was created."""

    event_ticker: str
    series_ticker: str | None = None
    title: str | None = None
    sub_title: str | None = None

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> Self:
        """Parse an ``event_lifecycle`` message body."""
        return cls(
            event_ticker=_text(msg, "event_ticker", required=True),
            series_ticker=_text(msg, "series_ticker"),
            title=_text(msg, "title"),
            sub_title=_text(msg, "sub_title"),
        )


class ServerError(WsEvent):
    """The server answered a command with ``{"type": "error"}``."""

    code: int | None = None
    message: str = ""
    command_id: int | None = None
    sid: int | None = None


class UnparsedMessage(WsEvent):
    """A private or lifecycle message that did not match its schema (kept, never dropped)."""

    message_type: str
    error: str
    raw: str


_PARSERS: dict[str, Callable[[Mapping[str, Any]], WsEvent]] = {
    "ticker": TickerUpdate.from_wire,
    "trade": TradeEvent.from_wire,
    "fill": FillEvent.from_wire,
    "user_order": UserOrderEvent.from_wire,
    "user_orders": UserOrderEvent.from_wire,
    "market_position": MarketPositionEvent.from_wire,
    "market_positions": MarketPositionEvent.from_wire,
    "market_lifecycle_v2": MarketLifecycleEvent.from_wire,
    "event_lifecycle": EventLifecycleEvent.from_wire,
}
_CONTROL = frozenset({"subscribed", "unsubscribed", "ok", "error", "list_subscriptions"})


def parse_event(message: Mapping[str, Any]) -> WsEvent | None:
    """The typed event of one non-book data message, None for other message types.

    Raises:
        MessageParseError: If the message body does not match its type's shape.
    """
    kind = message.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return None
    msg = message.get("msg")
    if not isinstance(msg, Mapping):
        raise MessageParseError(f"{message.get('type')}: msg is not an object")
    try:
        return parser(msg)
    except MessageParseError:
        raise
    except ValueError as exc:  # pydantic.ValidationError and the decimal helpers
        raise MessageParseError(f"{message.get('type')}: {exc}") from None


# -- queue -------------------------------------------------------------------------------------


class _QueueClosed(Exception):
    pass


class _EventQueue:
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
        """The next event; raises ``_QueueClosed`` once closed and empty."""
        while not self._items:
            if self._closed:
                raise _QueueClosed
            self._not_empty.clear()
            await self._not_empty.wait()
        event, _ = self._items.popleft()
        self._not_full.set()
        return event

    def close(self) -> None:
        """No more events; readers drain what is queued, then stop."""
        self._closed = True
        self._not_empty.set()


# -- client ------------------------------------------------------------------------------------


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
        self._queue = _EventQueue(queue_size, overflow_timeout, self.stats)
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
            except _QueueClosed:
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
            message = json.loads(raw)
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
        elif kind in _PARSERS:
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
        elif kind in _CONTROL:
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

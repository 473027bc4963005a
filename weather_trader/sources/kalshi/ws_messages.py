"""Kalshi WebSocket messages: the subscribe command, and typed events parsed from data messages.

Protocol (``/trade-api/ws/v2``; docs.kalshi.com "Quick Start: WebSockets" and the AsyncAPI):

* Commands: ``{"id", "cmd": "subscribe", "params": {"channels", "market_tickers"?}}`` and
  ``{"id", "cmd": "unsubscribe", "params": {"sids": [...]}}``. Each channel of a subscribe is
  answered by ``{"type": "subscribed", "id", "msg": {"channel", "sid"}}``; failures by
  ``{"type": "error", "id", "msg": {"code", "msg"}}``.
* Data messages are ``{"type", "sid", "seq"?, "msg"}``. Channel -> message type:
  ``orderbook_delta`` -> ``orderbook_snapshot`` + ``orderbook_delta``; ``ticker`` -> ``ticker``;
  ``trade`` -> ``trade``; ``fill`` -> ``fill``; ``user_orders`` -> ``user_order``;
  ``market_positions`` -> ``market_position``; ``market_lifecycle_v2`` ->
  ``market_lifecycle_v2`` and ``event_lifecycle``.

Bodies are read in both formats (fixed-point strings and legacy integer cents) by the rules of
:mod:`weather_trader.sources.kalshi.wire`. Book messages are applied by
:class:`~weather_trader.sources.kalshi.book.BookKeeper`, not parsed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weather_trader.sources.kalshi.errors import KalshiError
from weather_trader.sources.kalshi.wire import count, describe, money, to_decimal, unix_time

_CENTI_CENTS = 4  # legacy market_position money fields are in 1/10,000 dollar


# -- errors ------------------------------------------------------------------------------------


class KalshiWebSocketError(KalshiError):
    """Base class of the WebSocket client's errors."""


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
        return unix_time(value, "ts_ms", unit="ms")
    value = msg.get("ts")
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return unix_time(value, "ts", unit="ms" if value > 10**11 else "s")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise MessageParseError(f"ts {describe(value)} is not an ISO timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MessageParseError(f"ts {describe(value)} is not a timestamp")


def _seconds(msg: Mapping[str, Any], name: str) -> datetime | None:
    value = msg.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return unix_time(value, name)
    raise MessageParseError(f"{name} {describe(value)} is not a Unix time in seconds")


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


def _legacy_money(
    msg: Mapping[str, Any], name: str, legacy_places: int, *, signed: bool = False
) -> Decimal | None:
    """``name_dollars`` as dollars, else the legacy integer ``name`` in 10**-places dollars."""
    value = msg.get(f"{name}_dollars")
    if value is not None and value != "":
        return to_decimal(value, f"{name}_dollars", signed=signed)
    value = msg.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return to_decimal(value, name, signed=signed).scaleb(-legacy_places)
    return None if value is None or value == "" else to_decimal(value, name, signed=signed)


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
            raise MessageParseError(f"is_taker {describe(is_taker)} is not a boolean")
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
            post_position=count(msg, "post_position", signed=True),
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
                return unix_time(value, name, unit="ms")
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
            position=_required(count(msg, "position", signed=True), "position_fp"),
            position_cost=_legacy_money(msg, "position_cost", _CENTI_CENTS, signed=True),
            realized_pnl=_legacy_money(msg, "realized_pnl", _CENTI_CENTS, signed=True),
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
EVENT_TYPES = frozenset(_PARSERS)
"""Message types :func:`parse_event` turns into events."""
CONTROL_TYPES = frozenset({"subscribed", "unsubscribed", "ok", "error", "list_subscriptions"})
"""Replies to commands (handled by the client, never queued as data)."""


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
        raise MessageParseError(f"{kind}: msg is not an object")
    try:
        return parser(msg)
    except MessageParseError:
        raise
    # pydantic.ValidationError and the wire helpers raise ValueError; the others are guards.
    except (ValueError, ArithmeticError, RecursionError) as exc:
        raise MessageParseError(f"{kind}: {type(exc).__name__}: {exc}") from None

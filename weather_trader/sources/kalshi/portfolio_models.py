"""Kalshi's portfolio payloads: our orders and their write acknowledgements, fills, positions,
settlements and balance.

The ``Kalshi`` prefix keeps these wire models apart from the project's own records of the same
names. Both API vintages are read by the rules of :mod:`weather_trader.sources.kalshi.wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, field_validator, model_validator

from weather_trader.sources.kalshi.wire import (
    MAX_UNIX_SECONDS,
    ONE,
    ZERO,
    KalshiModel,
    blank_to_none,
    check_price,
    count,
    describe,
    list_or_empty,
    money,
    to_decimal,
    unix_time,
)

UnixSeconds = Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)]
UnixMillis = Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS * 1000)]

# -- orders ---------------------------------------------------------------------------------------

_ORDER_MONEY = (
    "yes_price",
    "no_price",
    "taker_fees",
    "maker_fees",
    "taker_fill_cost",
    "maker_fill_cost",
)
_ORDER_COUNTS = ("fill_count", "remaining_count", "initial_count")


class KalshiOrder(KalshiModel):
    """An order as ``GET /portfolio/orders`` reports it.

    ``side``/``action`` follow the V1 shape (``yes``/``no``, ``buy``/``sell``); an order in the
    V2 shape (``bid``/``ask`` with a YES ``price``) is read too. :attr:`book_side` and
    :attr:`book_price` give the YES-book view either way.
    """

    order_id: str
    client_order_id: str = ""
    ticker: str
    user_id: str | None = None
    side: str | None = None
    action: str | None = None
    type: str | None = None
    status: str | None = None
    yes_price: Decimal | None = None
    no_price: Decimal | None = None
    fill_count: Decimal = ZERO
    remaining_count: Decimal = ZERO
    initial_count: Decimal | None = None
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    taker_fill_cost: Decimal = ZERO
    maker_fill_cost: Decimal = ZERO
    created_time: AwareDatetime | None = None
    last_update_time: AwareDatetime | None = None
    expiration_time: AwareDatetime | None = None
    order_group_id: str | None = None
    self_trade_prevention_type: str | None = None
    cancel_order_on_pause: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in _ORDER_MONEY:
            raw[name] = money(data, name)
        if raw["yes_price"] is None and data.get("side") in ("bid", "ask"):
            raw["yes_price"] = money(data, "price")
        for name in _ORDER_COUNTS:
            raw[name] = count(data, name)
        for name in (*_ORDER_MONEY[2:], "fill_count", "remaining_count"):
            if raw[name] is None:
                del raw[name]
        if raw.get("client_order_id") is None:
            raw.pop("client_order_id", None)
        blank_to_none(raw, "created_time", "last_update_time", "expiration_time")
        return raw

    @field_validator("yes_price", "no_price")
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return check_price(value, info.field_name)

    @property
    def book_side(self) -> str | None:
        """``bid`` (buys YES / sells NO) or ``ask`` (sells YES / buys NO) on the YES book."""
        if self.side in ("bid", "ask"):
            return self.side
        if self.side in ("yes", "no") and self.action in ("buy", "sell"):
            buys_yes = (self.side == "yes") == (self.action == "buy")
            return "bid" if buys_yes else "ask"
        return None

    @property
    def book_price(self) -> Decimal | None:
        """The order's YES price in dollars (1 - NO price for orders quoted on NO)."""
        if self.yes_price is not None:
            return self.yes_price
        return None if self.no_price is None else ONE - self.no_price

    @property
    def is_resting(self) -> bool:
        """Whether the order still rests on the book."""
        return self.status == "resting"


class ErrorBody(KalshiModel):
    """Kalshi's error object, as found in batch results."""

    code: str = ""
    message: str = ""
    details: str = ""
    service: str = ""

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"message": data}
        if isinstance(data, Mapping):
            return {
                k: "" if v is None else v if isinstance(v, str) else describe(v, limit=300)
                for k, v in data.items()
            }
        return data


class OrderAck(KalshiModel):
    """What a V2 order write (create, amend, decrease) reports back.

    Attributes:
        order_id: Exchange order id.
        client_order_id: Our deterministic client id.
        fill_count: Contracts filled by this write (None when not reported).
        remaining_count: Contracts left resting after it (None when not reported).
        average_fill_price: Volume-weighted fill price in dollars, when fills occurred.
        average_fee_paid: Average fee per filled contract in dollars, when fills occurred.
        ts_ms: Matching-engine timestamp, epoch milliseconds.
        recovered: True when the outcome was unknown (timeout, 5xx, 409 duplicate) and the
            order was found by looking up its ``client_order_id`` instead.
        order: The full order, when it was looked up.
    """

    order_id: str
    client_order_id: str = ""
    fill_count: Decimal | None = None
    remaining_count: Decimal | None = None
    average_fill_price: Decimal | None = None
    average_fee_paid: Decimal | None = None
    ts_ms: UnixMillis | None = None
    recovered: bool = False
    order: KalshiOrder | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in ("fill_count", "remaining_count"):
            raw[name] = count(data, name)
        for name in ("average_fill_price", "average_fee_paid"):
            value = data.get(name)
            raw[name] = (
                None if value is None or value == "" else to_decimal(value, name, signed=False)
            )
        if raw.get("client_order_id") is None:
            raw.pop("client_order_id", None)
        return raw

    @classmethod
    def from_order(cls, order: KalshiOrder, *, recovered: bool = True) -> OrderAck:
        """An acknowledgement built from a looked-up order."""
        return cls(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            fill_count=order.fill_count,
            remaining_count=order.remaining_count,
            recovered=recovered,
            order=order,
        )


class BatchOrderResult(KalshiModel):
    """One item of a batch create: the acknowledgement or Kalshi's error for that order."""

    client_order_id: str = ""
    ack: OrderAck | None = None
    error: ErrorBody | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "ack" in data:
            return data
        error = data.get("error")
        ack: Any = None
        if isinstance(data.get("order"), Mapping):  # V1 item shape
            ack = OrderAck.from_order(KalshiOrder.model_validate(data["order"]), recovered=False)
        elif data.get("order_id"):
            ack = {k: v for k, v in data.items() if k != "error"}
        return {
            "client_order_id": data.get("client_order_id") or "",
            "ack": ack,
            "error": error if error else None,
        }

    @property
    def ok(self) -> bool:
        """True when the order was accepted."""
        return self.ack is not None and self.error is None


class CancelAck(KalshiModel):
    """The result of cancelling one order (single cancel or one item of a batch cancel)."""

    order_id: str
    client_order_id: str = ""
    reduced_by: Decimal | None = None
    ts_ms: UnixMillis | None = None
    error: ErrorBody | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["reduced_by"] = count(data, "reduced_by")
        if raw.get("client_order_id") is None:
            raw.pop("client_order_id", None)
        if not raw.get("error"):
            raw["error"] = None
        if raw.get("order_id") is None and isinstance(data.get("order"), Mapping):
            raw["order_id"] = data["order"].get("order_id")
        return raw

    @property
    def ok(self) -> bool:
        """True when the cancel succeeded."""
        return self.error is None


class OrderGroup(KalshiModel):
    """An order group: a contracts limit over a rolling 15-second window."""

    id: str
    contracts_limit: Decimal | None = None
    is_auto_cancel_enabled: bool | None = None
    orders: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["id"] = data.get("id") or data.get("order_group_id")
        raw["contracts_limit"] = count(data, "contracts_limit")
        raw["orders"] = list_or_empty(data.get("orders"))
        return raw


# -- portfolio ------------------------------------------------------------------------------------


class KalshiFill(KalshiModel):
    """One execution of one of our orders (``GET /portfolio/fills``)."""

    fill_id: str
    trade_id: str | None = None
    order_id: str
    client_order_id: str | None = None
    ticker: str
    side: str
    action: str | None = None
    count: Decimal
    yes_price: Decimal
    no_price: Decimal | None = None
    is_taker: bool
    fee_cost: Decimal = ZERO
    created_time: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["fill_id"] = data.get("fill_id") or data.get("trade_id")
        raw["ticker"] = data.get("ticker") or data.get("market_ticker")
        raw["count"] = count(data, "count")
        for name in ("yes_price", "no_price", "fee_cost"):
            raw[name] = money(data, name)
        if raw["yes_price"] is None and data.get("side") in ("bid", "ask"):
            raw["yes_price"] = money(data, "price")
        if raw["fee_cost"] is None:
            del raw["fee_cost"]
        blank_to_none(raw, "created_time")
        if raw.get("created_time") is None and isinstance(data.get("ts"), int):
            raw["created_time"] = unix_time(data["ts"], "ts")
        return raw

    @field_validator("yes_price", "no_price")
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return check_price(value, info.field_name)


class KalshiPosition(KalshiModel):
    """Our position in one market; ``position`` > 0 is YES contracts, < 0 is NO contracts."""

    ticker: str
    position: Decimal
    market_exposure: Decimal = ZERO
    total_traded: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    resting_orders_count: int | None = Field(default=None, ge=0)
    last_updated_ts: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["position"] = count(data, "position", signed=True)
        for name in ("market_exposure", "total_traded", "realized_pnl", "fees_paid"):
            value = money(data, name, signed=name == "realized_pnl")
            if value is None:
                raw.pop(name, None)
            else:
                raw[name] = value
        blank_to_none(raw, "last_updated_ts")
        return raw


class KalshiSettlement(KalshiModel):
    """The settlement of one market we held (``GET /portfolio/settlements``)."""

    ticker: str
    event_ticker: str = ""
    market_result: str
    yes_count: Decimal = ZERO
    no_count: Decimal = ZERO
    yes_total_cost: Decimal = ZERO
    no_total_cost: Decimal = ZERO
    revenue: Decimal
    fee_cost: Decimal = ZERO
    value: Decimal | None = None
    settled_time: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in ("yes_count", "no_count"):
            raw[name] = count(data, name)
        for name in ("yes_total_cost", "no_total_cost", "revenue", "fee_cost", "value"):
            raw[name] = money(data, name)
        for name in ("yes_count", "no_count", "yes_total_cost", "no_total_cost", "fee_cost"):
            if raw[name] is None:
                del raw[name]
        if raw.get("event_ticker") is None:
            raw.pop("event_ticker", None)
        return raw


class Balance(KalshiModel):
    """Account balance; Kalshi reports integer cents, converted here to Decimal dollars."""

    balance: Decimal
    portfolio_value: Decimal | None = None
    updated_ts: UnixSeconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["balance"] = money(data, "balance")
        raw["portfolio_value"] = money(data, "portfolio_value")
        return raw

    @property
    def updated_at(self) -> datetime | None:
        """``updated_ts`` as an aware UTC datetime."""
        return None if self.updated_ts is None else datetime.fromtimestamp(self.updated_ts, UTC)

"""Typed models of Kalshi's REST payloads, for both API vintages.

Kalshi moved to fixed-point strings on 2026-03-12: prices and money are dollar strings in
``*_dollars`` fields (``"yes_bid_dollars": "0.3300"``) and counts are ``*_fp`` strings
(``"volume_fp": "10.00"``). Older payloads and the historical archive use integer cents
(``"yes_bid": 33``) and integer counts. Every model here reads both into ``Decimal`` dollars and
``Decimal`` counts; no money ever passes through a float.

Conversion rule for a field ``x`` (applied by every model's "before" validator):

* ``x_dollars`` / ``x_fp`` present -> parsed as a decimal string;
* else ``x`` is an ``int`` -> integer **cents** (money) or a whole count;
* else ``x`` is a ``str`` / ``Decimal`` -> already dollars (so ``model_dump()`` output
  validates back to the same model).

Unknown fields are ignored (Kalshi adds fields often); missing or invalid required fields raise
``pydantic.ValidationError``, which the REST client turns into ``KalshiMalformedResponse``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import Kind
from weather_trader.core.fees import SeriesFees
from weather_trader.core.records import BookLevel, MarketSnapshot

ZERO = Decimal(0)
ONE = Decimal(1)
_CENTS = Decimal(100)

RawPayload = Mapping[str, Any]


# -- conversion helpers --------------------------------------------------------------------------


def to_decimal(value: object, name: str = "value") -> Decimal:
    """An exact Decimal from a JSON scalar: str, int, Decimal, or float (via its shortest repr).

    Raises:
        ValueError: For bools, empty or non-numeric strings, and non-finite values.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name}: expected a number, got {value!r}")
    try:
        if isinstance(value, Decimal):
            out = value
        elif isinstance(value, int):
            out = Decimal(value)
        elif isinstance(value, float):
            out = Decimal(repr(value))
        elif isinstance(value, str) and value.strip():
            out = Decimal(value.strip())
        else:
            raise ValueError(f"{name}: expected a number, got {value!r}")
    except InvalidOperation:
        raise ValueError(f"{name}: {value!r} is not a number") from None
    if not out.is_finite():
        raise ValueError(f"{name}: {value!r} is not finite")
    return out


def money(raw: RawPayload, name: str) -> Decimal | None:
    """Dollars of money field ``name``: ``name_dollars``, else legacy integer cents in ``name``."""
    dollars = raw.get(f"{name}_dollars")
    if dollars is not None and dollars != "":
        return to_decimal(dollars, f"{name}_dollars")
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) / _CENTS
    return to_decimal(value, name)


def count(raw: RawPayload, name: str) -> Decimal | None:
    """Contracts in count field ``name``: ``name_fp``, else the legacy integer ``name``."""
    for key in (f"{name}_fp", name):
        value = raw.get(key)
        if value is not None and value != "":
            return to_decimal(value, key)
    return None


def _blank_to_none(raw: dict[str, Any], *names: str) -> None:
    for name in names:
        if raw.get(name) == "":
            raw[name] = None


def _list_or_empty(value: object) -> Any:
    return [] if value is None else value


def _check_price(value: Decimal | None, name: str) -> Decimal | None:
    if value is not None and not ZERO <= value <= ONE:
        raise ValueError(f"{name} must be a price within [0, 1] dollars, got {value}")
    return value


class KalshiModel(BaseModel):
    """Base of the Kalshi payload models: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# -- markets, events, series -------------------------------------------------------------------

_MARKET_MONEY = (
    "yes_bid",
    "yes_ask",
    "no_bid",
    "no_ask",
    "last_price",
    "previous_yes_bid",
    "previous_yes_ask",
    "previous_price",
    "notional_value",
    "settlement_value",
)
_MARKET_COUNTS = ("volume", "volume_24h", "open_interest", "yes_bid_size", "yes_ask_size")
_MARKET_PRICES = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")


class Market(KalshiModel):
    """One binary market (a temperature bracket of an event).

    Prices are Decimal dollars of one contract; counts are Decimal contracts.
    """

    ticker: str
    event_ticker: str
    market_type: str = "binary"
    title: str = ""
    subtitle: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    status: str
    result: str = ""
    expiration_value: str = ""
    can_close_early: bool | None = None

    open_time: AwareDatetime
    close_time: AwareDatetime
    expiration_time: AwareDatetime | None = None
    expected_expiration_time: AwareDatetime | None = None
    latest_expiration_time: AwareDatetime | None = None
    created_time: AwareDatetime | None = None
    updated_time: AwareDatetime | None = None
    settlement_ts: AwareDatetime | None = None

    yes_bid: Decimal
    yes_ask: Decimal
    no_bid: Decimal
    no_ask: Decimal
    last_price: Decimal | None = None
    previous_yes_bid: Decimal | None = None
    previous_yes_ask: Decimal | None = None
    previous_price: Decimal | None = None
    notional_value: Decimal | None = None
    settlement_value: Decimal | None = None

    volume: Decimal | None = None
    volume_24h: Decimal | None = None
    open_interest: Decimal | None = None
    yes_bid_size: Decimal | None = None
    yes_ask_size: Decimal | None = None

    strike_type: str | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    rules_primary: str = ""
    rules_secondary: str = ""

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in _MARKET_MONEY:
            raw[name] = money(data, name)
        for name in _MARKET_COUNTS:
            raw[name] = count(data, name)
        for name in ("floor_strike", "cap_strike"):
            value = data.get(name)
            raw[name] = None if value is None or value == "" else to_decimal(value, name)
        _blank_to_none(
            raw,
            "expiration_time",
            "expected_expiration_time",
            "latest_expiration_time",
            "created_time",
            "updated_time",
            "settlement_ts",
            "strike_type",
        )
        for name in ("result", "expiration_value", "title", "subtitle", "rules_primary"):
            if raw.get(name) is None:
                raw.pop(name, None)
        return raw

    @field_validator(*_MARKET_PRICES)
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return _check_price(value, info.field_name)

    @property
    def series_ticker(self) -> str:
        """The series ticker, the event ticker's first segment (``KXHIGHNY``)."""
        return self.event_ticker.split("-", 1)[0]

    @property
    def bracket(self) -> Bracket:
        """The temperatures for which the market settles YES.

        From the strike fields when present, else ``yes_sub_title`` / ``subtitle`` ("45° to
        46°"), else ``rules_primary``; cross-checked against the ticker suffix.

        Raises:
            BracketError: If nothing describes a bracket or the ticker contradicts it.
        """
        return Bracket.from_kalshi_market(
            {
                "ticker": self.ticker,
                "strike_type": self.strike_type,
                "floor_strike": self.floor_strike,
                "cap_strike": self.cap_strike,
                "yes_sub_title": self.yes_sub_title,
                "subtitle": self.subtitle,
                "rules_primary": self.rules_primary,
            }
        )

    @property
    def settled_value(self) -> Decimal | None:
        """``expiration_value`` as a number (the reported temperature), None while unset."""
        text = self.expiration_value.strip()
        if not text:
            return None
        try:
            return to_decimal(text, "expiration_value")
        except ValueError:
            return None


class Event(KalshiModel):
    """An event (one city-day: ``KXHIGHNY-26MAY12``), optionally with its markets."""

    event_ticker: str
    series_ticker: str
    title: str = ""
    sub_title: str = ""
    category: str = ""
    mutually_exclusive: bool | None = None
    collateral_return_type: str = ""
    strike_date: AwareDatetime | None = None
    strike_period: str | None = None
    markets: tuple[Market, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        _blank_to_none(raw, "strike_date", "strike_period")
        for name in ("title", "sub_title", "category", "collateral_return_type"):
            if raw.get(name) is None:
                raw.pop(name, None)
        return raw

    @classmethod
    def from_response(cls, payload: RawPayload) -> Event:
        """An event from a ``GET /events/{ticker}`` body: ``{"event": {...}, "markets": [...]}``.

        Markets nested in the event win over the (deprecated) top-level ``markets`` list.

        Raises:
            pydantic.ValidationError: If the payload does not describe an event.
        """
        event = payload.get("event")
        if not isinstance(event, Mapping):
            return cls.model_validate(payload)
        data = dict(event)
        if data.get("markets") is None and payload.get("markets") is not None:
            data["markets"] = payload["markets"]
        return cls.model_validate(data)


class SettlementSource(KalshiModel):
    """A settlement source named by a series (NWS CLI, The Weather Company ...)."""

    name: str = ""
    url: str = ""


class Series(KalshiModel):
    """A series (``KXHIGHNY``): the template of its daily events, with its fee parameters."""

    ticker: str
    title: str = ""
    frequency: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    settlement_sources: tuple[SettlementSource, ...] = ()
    contract_url: str = ""
    contract_terms_url: str = ""
    fee_type: str
    fee_multiplier: Decimal
    additional_prohibitions: tuple[str, ...] = ()
    volume: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in ("tags", "settlement_sources", "additional_prohibitions"):
            raw[name] = _list_or_empty(raw.get(name))
        for name in ("title", "frequency", "category", "contract_url", "contract_terms_url"):
            if raw.get(name) is None:
                raw.pop(name, None)
        if raw.get("fee_multiplier") is not None:
            raw["fee_multiplier"] = to_decimal(raw["fee_multiplier"], "fee_multiplier")
        raw["volume"] = count(data, "volume")
        return raw

    @property
    def fees(self) -> SeriesFees:
        """The series' fee schedule.

        Raises:
            FeeError: For fee types the fee model does not support (``flat``).
        """
        return SeriesFees.from_series(self.fee_type, self.fee_multiplier)


# -- order book ----------------------------------------------------------------------------------


def _levels(raw: object, side: str) -> list[BookLevel]:
    """Parse ``[[price, count], ...]``: dollar strings (2026) or integer cents (legacy)."""
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ValueError(f"{side} levels must be a list of [price, count], got {raw!r}")
    out = []
    for level in raw:
        if isinstance(level, BookLevel):
            out.append(level)
            continue
        if isinstance(level, Mapping):
            price_raw, size_raw = level.get("price"), level.get("count")
        elif isinstance(level, Sequence) and not isinstance(level, str) and len(level) >= 2:
            price_raw, size_raw = level[0], level[1]
        else:
            raise ValueError(f"{side} level must be [price, count], got {level!r}")
        if isinstance(price_raw, int) and not isinstance(price_raw, bool):
            price = Decimal(price_raw) / _CENTS
        else:
            price = to_decimal(price_raw, f"{side} price")
        size = to_decimal(size_raw, f"{side} count")
        if not ZERO <= price <= ONE or size < 0:
            raise ValueError(f"{side} level {level!r} is outside price [0, 1] / count >= 0")
        out.append(BookLevel(price=price, count=size))
    return sorted(out, key=lambda lv: lv.price, reverse=True)


class Orderbook(KalshiModel):
    """A market's order book: bids for YES and bids for NO, each best (highest) first.

    Kalshi returns bids only: a NO bid at p is a YES ask at 1 - p. Built from the 2026
    ``orderbook_fp`` (``{"yes_dollars": [["0.1500", "100.00"]], "no_dollars": ...}``) or the
    legacy ``orderbook`` (``{"yes": [[15, 100]], "no": ...}``).
    """

    ticker: str = ""
    yes_bids: tuple[BookLevel, ...] = ()
    no_bids: tuple[BookLevel, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if "yes_bids" in data or "no_bids" in data:
            return {
                "ticker": data.get("ticker") or "",
                "yes_bids": _levels(data.get("yes_bids"), "yes"),
                "no_bids": _levels(data.get("no_bids"), "no"),
            }
        book = data.get("orderbook_fp")
        if book is None:
            book = data.get("orderbook")
        if book is None:
            raise ValueError("no 'orderbook_fp' or 'orderbook' object in the payload")
        if not isinstance(book, Mapping):
            raise ValueError(f"orderbook must be an object, got {type(book).__name__}")
        sides = {}
        for side in ("yes", "no"):
            key = f"{side}_dollars" if book.get(f"{side}_dollars") is not None else side
            sides[side] = _levels(book.get(key), side)
        return {
            "ticker": data.get("ticker") or "",
            "yes_bids": sides["yes"],
            "no_bids": sides["no"],
        }

    @classmethod
    def empty(cls, ticker: str = "") -> Orderbook:
        """A book with no bids on either side (reads bid 0 / ask 1)."""
        return cls(ticker=ticker, yes_bids=(), no_bids=())

    @property
    def yes_bid(self) -> Decimal:
        """Best YES bid in dollars; 0 when nobody bids."""
        return self.yes_bids[0].price if self.yes_bids else ZERO

    @property
    def no_bid(self) -> Decimal:
        """Best NO bid in dollars; 0 when nobody bids."""
        return self.no_bids[0].price if self.no_bids else ZERO

    @property
    def yes_ask(self) -> Decimal:
        """Best YES ask in dollars: 1 - best NO bid; 1 when the NO side is empty."""
        return ONE - self.no_bid

    @property
    def no_ask(self) -> Decimal:
        """Best NO ask in dollars: 1 - best YES bid; 1 when the YES side is empty."""
        return ONE - self.yes_bid

    @property
    def mid(self) -> Decimal:
        """Midpoint of the best YES bid and ask."""
        return (self.yes_bid + self.yes_ask) / 2

    @property
    def spread(self) -> Decimal:
        """YES ask minus YES bid."""
        return self.yes_ask - self.yes_bid

    @property
    def is_empty(self) -> bool:
        """True when neither side has a bid."""
        return not self.yes_bids and not self.no_bids


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


class Order(KalshiModel):
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
        _blank_to_none(raw, "created_time", "last_update_time", "expiration_time")
        return raw

    @field_validator("yes_price", "no_price")
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return _check_price(value, info.field_name)

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
            return {k: ("" if v is None else str(v)) for k, v in data.items()}
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
    ts_ms: int | None = None
    recovered: bool = False
    order: Order | None = None

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
            raw[name] = None if value is None or value == "" else to_decimal(value, name)
        if raw.get("client_order_id") is None:
            raw.pop("client_order_id", None)
        return raw

    @classmethod
    def from_order(cls, order: Order, *, recovered: bool = True) -> OrderAck:
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
            ack = OrderAck.from_order(Order.model_validate(data["order"]), recovered=False)
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
    ts_ms: int | None = None
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
        raw["orders"] = _list_or_empty(data.get("orders"))
        return raw


# -- portfolio ------------------------------------------------------------------------------------


class Fill(KalshiModel):
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
        _blank_to_none(raw, "created_time")
        if raw.get("created_time") is None and isinstance(data.get("ts"), int):
            raw["created_time"] = datetime.fromtimestamp(data["ts"], UTC)
        return raw

    @field_validator("yes_price", "no_price")
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return _check_price(value, info.field_name)


class Position(KalshiModel):
    """Our position in one market; ``position`` > 0 is YES contracts, < 0 is NO contracts."""

    ticker: str
    position: Decimal
    market_exposure: Decimal = ZERO
    total_traded: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    resting_orders_count: int | None = None
    last_updated_ts: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["position"] = count(data, "position")
        for name in ("market_exposure", "total_traded", "realized_pnl", "fees_paid"):
            value = money(data, name)
            if value is None:
                raw.pop(name, None)
            else:
                raw[name] = value
        _blank_to_none(raw, "last_updated_ts")
        return raw


class Settlement(KalshiModel):
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
    updated_ts: int | None = None

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


# -- market data ---------------------------------------------------------------------------------


class Trade(KalshiModel):
    """One public trade (``GET /markets/trades``)."""

    trade_id: str
    ticker: str
    count: Decimal
    yes_price: Decimal
    no_price: Decimal | None = None
    taker_side: str | None = None
    created_time: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        raw["count"] = count(data, "count")
        raw["yes_price"] = money(data, "yes_price")
        raw["no_price"] = money(data, "no_price")
        return raw

    @field_validator("yes_price", "no_price")
    @classmethod
    def _prices_in_range(cls, value: Decimal | None, info: Any) -> Decimal | None:
        return _check_price(value, info.field_name)


class Ohlc(KalshiModel):
    """Open/high/low/close of a price over one candlestick, in dollars (None: no data)."""

    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None
    mean: Decimal | None = None
    previous: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {
            name: money(data, name) for name in ("open", "high", "low", "close", "mean", "previous")
        }


class Candlestick(KalshiModel):
    """One market candlestick: YES bid/ask and traded-price OHLC, volume, open interest."""

    end_period_ts: int
    yes_bid: Ohlc = Ohlc()
    yes_ask: Ohlc = Ohlc()
    price: Ohlc = Ohlc()
    volume: Decimal = ZERO
    open_interest: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        raw = dict(data)
        for name in ("yes_bid", "yes_ask", "price"):
            if raw.get(name) is None:
                raw.pop(name, None)
        volume = count(data, "volume")
        raw["volume"] = ZERO if volume is None else volume
        raw["open_interest"] = count(data, "open_interest")
        return raw

    @property
    def end_period(self) -> datetime:
        """End of the candlestick period as an aware UTC datetime."""
        return datetime.fromtimestamp(self.end_period_ts, UTC)


class HistoricalCutoff(KalshiModel):
    """Boundaries between live and historical data (``GET /historical/cutoff``)."""

    market_settled_ts: AwareDatetime
    trades_created_ts: AwareDatetime
    orders_updated_ts: AwareDatetime


# -- conversion to the domain record ---------------------------------------------------------------


def to_snapshot(
    market: Market,
    orderbook: Orderbook,
    city: str,
    climate_date: date,
    kind: Kind,
    captured_at: datetime,
    fee_multiplier: Decimal = ONE,
) -> MarketSnapshot:
    """A :class:`~weather_trader.core.records.MarketSnapshot` of a market and its book.

    The bracket comes from :attr:`Market.bracket` (so markets without strike fields work too).

    Args:
        market: The market.
        orderbook: Its order book (bids on both sides); must be the same ticker when named.
        city: Our city code (``NYC``).
        climate_date: The climate day the market settles on.
        kind: ``high`` or ``low``.
        captured_at: When the book was read (timezone-aware).
        fee_multiplier: The series' fee multiplier.

    Raises:
        ValueError: If the order book belongs to another market.
        BracketError: If the market's bracket cannot be determined.
        pydantic.ValidationError: If ``captured_at`` is naive or a field is invalid.
    """
    if orderbook.ticker and orderbook.ticker != market.ticker:
        raise ValueError(f"order book of {orderbook.ticker} given for market {market.ticker}")
    bracket = market.bracket
    return MarketSnapshot(
        ticker=market.ticker,
        event_ticker=market.event_ticker,
        series_ticker=market.series_ticker,
        city=city,
        climate_date=climate_date,
        kind=kind,
        strike_type=bracket.strike_type,
        floor_strike=bracket.floor_strike,
        cap_strike=bracket.cap_strike,
        title=market.yes_sub_title or market.title,
        status=market.status,
        captured_at=captured_at,
        close_time=market.close_time,
        yes_bids=orderbook.yes_bids,
        no_bids=orderbook.no_bids,
        fee_multiplier=fee_multiplier,
    )

"""Kalshi's market data payloads: markets, events, series, order books, trades, candlesticks.

Both API vintages (fixed-point strings and legacy integer cents) are read by the rules of
:mod:`weather_trader.sources.kalshi.wire`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field, field_validator, model_validator

from weather_trader.core.brackets import Bracket
from weather_trader.core.fees import SeriesFees
from weather_trader.core.records import BookLevel
from weather_trader.sources.kalshi.wire import (
    CENTS,
    MAX_UNIX_SECONDS,
    ONE,
    ZERO,
    KalshiModel,
    RawPayload,
    blank_to_none,
    check_price,
    count,
    describe,
    list_or_empty,
    money,
    to_decimal,
)

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
        blank_to_none(
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
        return check_price(value, info.field_name)

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
        blank_to_none(raw, "strike_date", "strike_period")
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
            raw[name] = list_or_empty(raw.get(name))
        for name in ("title", "frequency", "category", "contract_url", "contract_terms_url"):
            if raw.get(name) is None:
                raw.pop(name, None)
        if raw.get("fee_multiplier") is not None:
            raw["fee_multiplier"] = to_decimal(
                raw["fee_multiplier"], "fee_multiplier", signed=False
            )
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
        raise ValueError(f"{side} levels must be a list of [price, count], got {describe(raw)}")
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
            raise ValueError(f"{side} level must be [price, count], got {describe(level)}")
        price = to_decimal(price_raw, f"{side} price", signed=False)
        if isinstance(price_raw, int) and not isinstance(price_raw, bool):
            price /= CENTS
        size = to_decimal(size_raw, f"{side} count", signed=False)
        if not ZERO <= price <= ONE:
            raise ValueError(f"{side} level price {price} is outside [0, 1]")
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


# -- trades, candlesticks, archive ---------------------------------------------------------------


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
        return check_price(value, info.field_name)


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

    end_period_ts: int = Field(ge=0, le=MAX_UNIX_SECONDS)
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

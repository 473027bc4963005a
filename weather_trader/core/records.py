"""Typed records that cross module boundaries (sources/sim -> defs -> store).

Money and contract prices are ``Decimal`` dollars; temperatures are degrees Fahrenheit.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import Kind

OrderSide = Literal["bid", "ask"]
"""Side on the YES book, as Kalshi's V2 orders use it: buy YES = bid p, buy NO = ask 1 - p."""
TimeInForce = Literal["fill_or_kill", "good_till_canceled", "immediate_or_cancel"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ForecastPoint(_Record):
    """One forecast value of a city's daily high or low, as issued by one source/model/member."""

    city: str
    climate_date: date
    kind: Kind
    source: str = Field(description="Provider, e.g. 'sim', 'open-meteo', 'nws'.")
    model: str = Field(description="Model name, e.g. 'gfs', 'ecmwf_ifs'.")
    member: int | None = Field(
        default=None, description="Ensemble member; None for a deterministic run."
    )
    issued_at: AwareDatetime = Field(description="Model run (issue) time.")
    retrieved_at: AwareDatetime = Field(description="When we pulled it; point-in-time key.")
    value_f: float


class Observation(_Record):
    """One station temperature observation."""

    city: str
    station: str
    observed_at: AwareDatetime
    temp_f: float


class ClimateReport(_Record):
    """A Daily Climate Report (CLI) for one station and climate day.

    ``final`` is False for intermediate reports ("VALID TODAY AS OF 0500 PM"); ``correction``
    marks a report that replaces an earlier one for the same day.
    """

    city: str
    product: str
    climate_date: date
    max_f: int | None
    min_f: int | None
    final: bool
    correction: bool = False
    issued_at: AwareDatetime
    text: str = ""

    def value(self, kind: Kind) -> int | None:
        """The reported daily ``high`` (max) or ``low`` (min), None when missing."""
        return self.max_f if kind == "high" else self.min_f


@dataclass(frozen=True)
class RawPayload:
    """One successful response body, as received, for the audit archive.

    Attributes:
        source: Short source name of the client that fetched it (``nws``).
        url: The request URL with secret query parameters redacted.
        retrieved_at: Aware UTC instant the response was received.
        status: HTTP status code (2xx/3xx; failed responses are never captured).
        content_type: The ``Content-Type`` header ("" when absent).
        body: The raw (decompressed transfer-encoding) body bytes.
    """

    source: str
    url: str
    retrieved_at: datetime
    status: int
    content_type: str
    body: bytes


class BookLevel(_Record):
    """One price level of a bid ladder: ``count`` contracts bid at ``price`` dollars."""

    price: Decimal
    count: Decimal


class MarketSnapshot(_Record):
    """A binary bracket market and its order book at ``captured_at``.

    The book is Kalshi's: bids only. ``yes_bids`` are bids for YES, ``no_bids`` bids for NO,
    each sorted best (highest) first. The best YES ask is 1 - best NO bid.
    """

    ticker: str
    event_ticker: str
    series_ticker: str
    city: str
    climate_date: date
    kind: Kind
    strike_type: Literal["between", "less", "greater"]
    floor_strike: int | None
    cap_strike: int | None
    title: str = ""
    status: str = "open"
    captured_at: AwareDatetime
    close_time: AwareDatetime
    yes_bids: tuple[BookLevel, ...] = ()
    no_bids: tuple[BookLevel, ...] = ()
    fee_multiplier: Decimal = Decimal("1")

    @property
    def yes_bid(self) -> Decimal:
        """Best YES bid in dollars; 0 when nobody bids."""
        return self.yes_bids[0].price if self.yes_bids else Decimal("0")

    @property
    def yes_ask(self) -> Decimal:
        """Best YES ask in dollars (1 - best NO bid); 1 when nobody offers."""
        return Decimal("1") - self.no_bids[0].price if self.no_bids else Decimal("1")

    @property
    def mid(self) -> Decimal:
        """Midpoint of the best YES bid and ask: the market's price of YES."""
        return (self.yes_bid + self.yes_ask) / 2

    @property
    def strike_order(self) -> tuple[float, float, str]:
        """Sort key putting an event's markets coldest bracket first (ticker breaks ties)."""
        floor = float("-inf") if self.floor_strike is None else self.floor_strike
        cap = float("inf") if self.cap_strike is None else self.cap_strike
        return floor, cap, self.ticker

    @property
    def bracket(self) -> Bracket:
        """The temperatures for which this market settles YES (checked against the ticker).

        Raises:
            BracketError: If the strikes do not form a valid bracket or contradict the ticker.
        """
        return Bracket.from_kalshi_market(
            {
                "ticker": self.ticker,
                "strike_type": self.strike_type,
                "floor_strike": self.floor_strike,
                "cap_strike": self.cap_strike,
            }
        )


class PublicTrade(_Record):
    """One trade on a market's public tape."""

    trade_id: str
    ticker: str
    traded_at: AwareDatetime
    yes_price: Decimal = Field(description="YES price in dollars at which it traded.")
    count: Decimal
    taker_side: Literal["yes", "no"]


class OrderRequest(_Record):
    """A V2 order on the YES book (Kalshi ``POST /portfolio/events/orders``)."""

    client_order_id: str
    ticker: str
    side: OrderSide
    count: int = Field(gt=0)
    price: Decimal = Field(gt=0, lt=1, description="YES price in dollars.")
    time_in_force: TimeInForce = "immediate_or_cancel"
    post_only: bool = False
    reduce_only: bool = False


class Fill(_Record):
    """An execution of (part of) an order.

    Two fills can agree on everything but their ids (one taker order matching two makers at
    one price), so a fill is identified by ``fill_id`` alone.
    """

    fill_id: str = Field(min_length=1, description="The exchange's unique id of this fill.")
    trade_id: str | None = Field(default=None, description="The exchange's trade id, if any.")
    client_order_id: str
    ticker: str
    side: OrderSide
    count: int
    price: Decimal = Field(description="YES price in dollars at which it filled.")
    fee: Decimal
    is_taker: bool
    filled_at: AwareDatetime


OrderStatus = Literal["filled", "partially_filled", "resting", "canceled", "rejected"]


def order_status(order: OrderRequest, filled: int) -> OrderStatus:
    """An accepted order's status once ``filled`` contracts matched on arrival.

    A GTC remainder rests; an IOC (or FOK) remainder is canceled.
    """
    if filled >= order.count:
        return "filled"
    if order.time_in_force == "good_till_canceled":
        return "resting"
    return "partially_filled" if filled else "canceled"


class OrderResult(_Record):
    """What the broker did with an order."""

    client_order_id: str
    status: OrderStatus
    filled_count: int
    fills: tuple[Fill, ...] = ()
    reason: str = ""

"""The exchange's records: accounts, orders, fills, positions, trades and settlements.

Prices are integer cents of the YES contract (the 1-cent grid), counts whole contracts, money
integer cents. Orders use Kalshi's V2 single-book convention: ``bid`` buys YES at ``price``,
``ask`` sells YES at ``price`` (equivalently buys NO at ``100 - price``). Positions are net
YES contracts: negative means NO contracts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

BookSide = Literal["bid", "ask"]
OrderStatus = Literal["resting", "canceled", "executed"]
R = TypeVar("R", bound="_Record")


class _Record:
    """JSON round trip for the store (datetimes as ISO strings)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Rebuild a record from :meth:`to_dict` output."""
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            value = data[f.name]
            if isinstance(value, str) and "datetime" in str(f.type):
                value = datetime.fromisoformat(value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass
class Account(_Record):
    """A trading account (one per API key).

    Attributes:
        user_id: Account id (a UUID derived from the key id).
        balance: Available cash in cents.
        updated: Last balance change.
    """

    user_id: str
    balance: int
    updated: datetime


@dataclass
class ExchangeOrder(_Record):
    """One V2 order and its execution so far (costs and fees in cents)."""

    order_id: str
    user_id: str
    client_order_id: str
    ticker: str
    event_ticker: str
    book_side: str
    price: int
    initial_count: int
    remaining_count: int
    time_in_force: str
    self_trade_prevention_type: str
    created_time: datetime
    last_update_time: datetime
    seq: int
    fill_count: int = 0
    status: str = "resting"
    post_only: bool = False
    reduce_only: bool = False
    cancel_order_on_pause: bool = False
    order_group_id: str | None = None
    expiration_time: datetime | None = None
    taker_fill_cost: int = 0
    maker_fill_cost: int = 0
    taker_fees: int = 0
    maker_fees: int = 0
    number: int = 0  # place in the exchange's creation sequence (keyset cursors)

    @property
    def outcome_price(self) -> int:
        """Price of the contract the order buys: YES price for bids, NO price for asks."""
        return self.price if self.book_side == "bid" else 100 - self.price


@dataclass
class ExchangeFill(_Record):
    """One execution of one order (the taker's or the maker's side of a trade)."""

    fill_id: str
    trade_id: str
    order_id: str
    user_id: str
    client_order_id: str
    ticker: str
    book_side: str
    price: int
    count: int
    is_taker: bool
    fee: int
    post_position: int
    created_time: datetime
    number: int = 0  # place in the exchange's creation sequence (keyset cursors)


@dataclass
class Trade(_Record):
    """A public trade: ``count`` contracts at YES ``price``; the taker's book side."""

    trade_id: str
    ticker: str
    price: int
    count: int
    taker_book_side: str
    created_time: datetime
    number: int = 0  # place in the exchange's creation sequence (keyset cursors)


@dataclass
class ExchangePosition(_Record):
    """A user's net position in one market (cents for money).

    Attributes:
        position: Net YES contracts (negative = NO contracts).
        cost: Cost basis of the contracts currently held.
        realized: Realized profit and loss (fees excluded).
        fees: Fees paid in this market.
        traded: Total spent buying contracts in this market.
        volume: Contracts traded.
        settled_time: When the market settled this position (None while live).
    """

    user_id: str
    ticker: str
    event_ticker: str
    updated: datetime
    position: int = 0
    cost: int = 0
    realized: int = 0
    fees: int = 0
    traded: int = 0
    volume: int = 0
    settled_time: datetime | None = None


@dataclass
class ExchangeSettlement(_Record):
    """A market's settlement of one user's position."""

    settlement_id: str
    user_id: str
    ticker: str
    event_ticker: str
    market_result: str
    yes_count: int
    yes_cost: int
    no_count: int
    no_cost: int
    revenue: int
    fee_cost: int
    value: int
    settled_time: datetime
    number: int = 0  # place in the exchange's creation sequence (keyset cursors)


@dataclass
class MarketStats:
    """Running trade statistics of one market (rebuilt from trades on load)."""

    volume: int = 0
    last_price: int = 0
    last_size: int = 0
    dollar_volume: int = 0
    trades: list[Trade] = field(default_factory=list)

"""The order books of the local exchange: the crowd's ladders plus the users' resting orders.

Per market the book is the crowd's bid ladders at the exchange clock's current minute
(:meth:`SimMarket.event_markets`) plus the users' resting orders. Liquidity a taker takes from
the crowd is remembered until the crowd re-quotes at the next minute, as :class:`PaperBroker`
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from weather_trader.sim.exchange.catalog import Catalog, MarketRef, minute_of
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.events import Journal
from weather_trader.sim.exchange.models import ExchangeOrder


@dataclass(frozen=True)
class Book:
    """A market's aggregated bid ladders: YES bids and NO bids, cents -> contracts."""

    yes: dict[int, int]
    no: dict[int, int]

    def best(self, side: str) -> tuple[int, int]:
        """Best (highest) bid of ``"yes"`` or ``"no"`` and its size; (0, 0) when empty."""
        ladder = self.yes if side == "yes" else self.no
        if not ladder:
            return 0, 0
        price = max(ladder)
        return price, ladder[price]


def crosses(side: str, limit: int, price: int) -> bool:
    """Whether a ``side`` order with YES ``limit`` trades at YES ``price``."""
    return price <= limit if side == "bid" else price >= limit


class OrderBooks:
    """Every market's book: resting orders and the crowd liquidity already taken.

    Args:
        catalog: Listed markets and crowd books.
        clock: The exchange clock.
        journal: The exchange's lock.

    Attributes:
        resting: Resting orders by ticker, then order id.
        taken: Contracts taken from the crowd by (ticker, minute, ``"yes"``/``"no"`` ladder,
            level in cents).
        deadline: No resting order can expire or close before this (None: not known yet).
    """

    def __init__(self, catalog: Catalog, clock: ExchangeClock, journal: Journal) -> None:
        self.catalog = catalog
        self.clock = clock
        self.journal = journal
        self.resting: dict[str, dict[str, ExchangeOrder]] = {}
        self.taken: dict[tuple[str, int, str, int], int] = {}
        self.deadline: datetime | None = None

    def reset(self) -> None:
        """Empty the books (before the matcher reloads its resting orders)."""
        self.resting, self.taken, self.deadline = {}, {}, None

    def book(self, ticker: str) -> Book:
        """The market's current book: crowd (minus taken liquidity) plus resting orders.

        Raises:
            NotFoundError: If the market is not listed.
        """
        with self.journal.lock:
            now = self.clock.now()
            ref = self.catalog.market_ref(ticker, now)
            if self.catalog.status(ref.event, now) != "open":
                return Book({}, {})
            yes, no = self.crowd_remaining(ref, minute_of(now))
            for order in self.resting.get(ticker, {}).values():
                if order.book_side == "bid":
                    yes[order.price] = yes.get(order.price, 0) + order.remaining_count
                else:
                    no[100 - order.price] = no.get(100 - order.price, 0) + order.remaining_count
            return Book(yes, no)

    # -- the crowd ----------------------------------------------------------------------------

    def crowd_remaining(self, ref: MarketRef, minute: int) -> tuple[dict[int, int], dict[int, int]]:
        """The crowd's YES and NO ladders at ``minute`` minus what takers took from them."""
        yes, no = self.catalog.crowd_book(ref, minute)
        t = ref.ticker
        yes = {p: c - self.taken.get((t, minute, "yes", p), 0) for p, c in yes.items()}
        no = {p: c - self.taken.get((t, minute, "no", p), 0) for p, c in no.items()}
        return {p: c for p, c in yes.items() if c > 0}, {p: c for p, c in no.items() if c > 0}

    def crowd_size(self, ref: MarketRef, minute: int, src: tuple[str, int]) -> int:
        """Contracts left at one crowd level ``(ladder, level)`` at ``minute``."""
        ladder, level = src
        yes, no = self.catalog.crowd_book(ref, minute)
        size = (yes if ladder == "yes" else no).get(level, 0)
        return max(size - self.taken.get((ref.ticker, minute, ladder, level), 0), 0)

    def take_crowd(self, ticker: str, minute: int, ladder: str, level: int, qty: int) -> None:
        """Remember that ``qty`` contracts of a crowd level were taken at ``minute``."""
        key = (ticker, minute, ladder, level)
        self.taken[key] = self.taken.get(key, 0) + qty

    def forget_taken_before(self, minute: int) -> None:
        """Drop taken liquidity of minutes before ``minute`` (the crowd has re-quoted)."""
        self.taken = {k: v for k, v in self.taken.items() if k[1] >= minute}

    def opposite(self, ref: MarketRef, side: str, minute: int) -> list[tuple[int, Any]]:
        """Liquidity a ``side`` taker can hit: (YES price, crowd level or resting order)."""
        crowd_yes, crowd_no = self.crowd_remaining(ref, minute)
        resting = [o for o in self.resting.get(ref.ticker, {}).values() if o.book_side != side]
        if side == "bid":  # buy YES: crowd NO bids (YES ask 1-n) and resting asks
            levels: list[tuple[int, int, int, Any]] = [(100 - n, 1, 0, ("no", n)) for n in crowd_no]
            levels += [(o.price, 0, o.seq, o) for o in resting]
            levels.sort(key=lambda x: (x[0], x[1], x[2]))
        else:  # sell YES: crowd YES bids and resting bids
            levels = [(y, 1, 0, ("yes", y)) for y in crowd_yes]
            levels += [(o.price, 0, o.seq, o) for o in resting]
            levels.sort(key=lambda x: (-x[0], x[1], x[2]))
        return [(price, src) for price, _, _, src in levels]

    def would_cross(self, ref: MarketRef, side: str, price: int, minute: int) -> bool:
        """Whether a ``side`` order at YES ``price`` would take liquidity at ``minute``."""
        levels = self.opposite(ref, side, minute)
        return bool(levels) and crosses(side, price, levels[0][0])

    # -- resting orders -----------------------------------------------------------------------

    def rest(self, order: ExchangeOrder) -> None:
        """Put an order on the book and note when it must leave it at the latest."""
        self.resting.setdefault(order.ticker, {})[order.order_id] = order
        deadline = self.order_deadline(order)
        if self.deadline is not None and deadline < self.deadline:
            self.deadline = deadline

    def remove(self, order: ExchangeOrder) -> None:
        """Take an order off the book (if it is there)."""
        self.resting.get(order.ticker, {}).pop(order.order_id, None)

    def order_deadline(self, order: ExchangeOrder) -> datetime:
        """When the order leaves the book at the latest: its expiration or the market close."""
        close = self.catalog.close_time(self.catalog.market_ref(order.ticker).event)
        expires = order.expiration_time
        return close if expires is None or expires > close else expires

    def resting_count(self, user_id: str, ticker: str) -> int:
        """Contracts the user has resting in ``ticker``."""
        with self.journal.lock:
            return sum(
                o.remaining_count
                for o in self.resting.get(ticker, {}).values()
                if o.user_id == user_id
            )

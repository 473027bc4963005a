"""The engine of the local exchange (pure Python: no FastAPI, no I/O but the store): one object
that the app, the WebSocket hub and tests call, composed of the parts that do the work.

* :class:`~weather_trader.sim.exchange.events.Journal` - one lock; each operation's records
  written in one transaction, then its events told to the listeners.
* :class:`~weather_trader.sim.exchange.accounts.Ledger` - balances and positions.
* :class:`~weather_trader.sim.exchange.book.OrderBooks` - crowd ladders plus resting orders.
* :class:`~weather_trader.sim.exchange.matching.Matcher` - order entry and matching.
* :class:`~weather_trader.sim.exchange.clock_sync.ClockSync` - the clock moving: expiries,
  closes, crowd crossings of resting orders and settlement.
"""

from __future__ import annotations

from datetime import datetime

from weather_trader.sim.exchange.accounts import DEFAULT_BALANCE_CENTS, Ledger
from weather_trader.sim.exchange.book import Book, OrderBooks
from weather_trader.sim.exchange.catalog import Catalog
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.clock_sync import ClockSync
from weather_trader.sim.exchange.errors import NotFoundError
from weather_trader.sim.exchange.events import Journal, Listener
from weather_trader.sim.exchange.matching import Execution, Matcher, NewOrder
from weather_trader.sim.exchange.models import (
    Account,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    ExchangeSettlement,
    MarketStats,
    Trade,
)
from weather_trader.sim.exchange.store import ExchangeStore


class ExchangeEngine:
    """Accounts, orders, matching, positions and settlement of the local exchange.

    Every order change first brings the exchange up to the clock (:meth:`sync`).

    Args:
        catalog: Listed markets and crowd books.
        clock: The exchange clock.
        store: Where records persist; None keeps them in memory.
        starting_balance_cents: Balance of a new account.
        crossing_minutes_limit: Most minute steps checked for resting-order crossings in one
            clock move; longer moves are sampled evenly.

    Attributes:
        journal: The lock, pending writes and listeners.
        ledger: Balances and positions.
        books: The order books.
        matcher: Orders and matching.
        clock_sync: Clock moves and settlement.
    """

    def __init__(
        self,
        catalog: Catalog,
        clock: ExchangeClock,
        *,
        store: ExchangeStore | None = None,
        starting_balance_cents: int = DEFAULT_BALANCE_CENTS,
        crossing_minutes_limit: int = 1440,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.store = store
        self.journal = Journal(store)
        self.ledger = Ledger(catalog, clock, self.journal, starting_balance_cents)
        self.books = OrderBooks(catalog, clock, self.journal)
        self.matcher = Matcher(catalog, clock, self.journal, self.ledger, self.books, self.sync)
        self.clock_sync = ClockSync(
            catalog,
            clock,
            self.journal,
            self.ledger,
            self.books,
            self.matcher,
            crossing_minutes_limit=crossing_minutes_limit,
        )
        self.journal.restore = self._restore
        if store is not None:
            self._restore()

    def _restore(self) -> None:
        """Rebuild the in-memory state from the committed records (start-up and rollback).

        What the store does not keep starts afresh, as after a restart: crowd liquidity taken
        this minute and which events were already announced as settled.
        """
        data, meta = self.journal.committed()
        self.ledger.load(data)
        self.books.reset()
        self.matcher.load(data)
        self.clock_sync.load(data, meta.get("synced_to"))

    # -- state --------------------------------------------------------------------------------

    @property
    def listeners(self) -> list[Listener]:
        """Called with every event once its operation is written (append to subscribe)."""
        return self.journal.listeners

    @property
    def starting_balance_cents(self) -> int:
        """Balance of a new account."""
        return self.ledger.starting_balance_cents

    @property
    def crossing_minutes_limit(self) -> int:
        """Most minute steps checked for resting-order crossings in one clock move."""
        return self.clock_sync.crossing_minutes_limit

    @crossing_minutes_limit.setter
    def crossing_minutes_limit(self, value: int) -> None:
        self.clock_sync.crossing_minutes_limit = value

    @property
    def accounts(self) -> dict[str, Account]:
        """Accounts by user id."""
        return self.ledger.accounts

    @property
    def positions(self) -> dict[tuple[str, str], ExchangePosition]:
        """Positions by (user id, ticker)."""
        return self.ledger.positions

    @property
    def orders(self) -> dict[str, ExchangeOrder]:
        """Every order by id."""
        return self.matcher.orders

    @property
    def fills(self) -> list[ExchangeFill]:
        """Every fill, oldest first."""
        return self.matcher.fills

    @property
    def stats(self) -> dict[str, MarketStats]:
        """Trade statistics by ticker."""
        return self.matcher.stats

    @property
    def settlements(self) -> list[ExchangeSettlement]:
        """Every settlement, oldest first."""
        return self.clock_sync.settlements

    @property
    def synced_to(self) -> datetime | None:
        """How far the exchange has processed (None before the first sync)."""
        return self.clock_sync.synced_to

    # -- accounts and positions ---------------------------------------------------------------

    def account(self, user_id: str) -> Account:
        """The account ``user_id`` (opened with the starting balance on first use)."""
        return self.ledger.account(user_id)

    def position(self, user_id: str, ticker: str) -> ExchangePosition | None:
        """The user's position record in ``ticker``, or None."""
        return self.ledger.position(user_id, ticker)

    def open_interest(self, ticker: str) -> int:
        """Contracts held by users in a market (the crowd holds the other side)."""
        return self.ledger.open_interest(ticker)

    def user_positions(self, user_id: str) -> list[ExchangePosition]:
        """The user's positions (copies), by ticker."""
        return self.ledger.user_positions(user_id)

    def portfolio_value(self, user_id: str) -> int:
        """Mark-to-market value of the user's live positions in cents (held side's best bid;
        cost basis when the market is not trading)."""
        now = self.clock.now()
        total = 0
        for pos in self.user_positions(user_id):
            if pos.position == 0 or pos.settled_time is not None:
                continue
            try:
                book = self.book(pos.ticker)
            except NotFoundError:
                total += pos.cost
                continue
            side = "yes" if pos.position > 0 else "no"
            bid, _ = book.best(side)
            ref = self.catalog.market_ref(pos.ticker)
            open_ = self.catalog.status(ref.event, now) == "open"
            total += abs(pos.position) * bid if open_ else pos.cost
        return total

    # -- books and orders ---------------------------------------------------------------------

    def book(self, ticker: str) -> Book:
        """The market's current book: crowd (minus taken liquidity) plus resting orders.

        Raises:
            NotFoundError: If the market is not listed.
        """
        return self.books.book(ticker)

    def resting_count(self, user_id: str, ticker: str) -> int:
        """Contracts the user has resting in ``ticker``."""
        return self.books.resting_count(user_id, ticker)

    def create_order(self, user_id: str, req: NewOrder) -> Execution:
        """Place a V2 order (see :meth:`Matcher.create_order`)."""
        return self.matcher.create_order(user_id, req)

    def get_order(self, user_id: str, order_id: str) -> ExchangeOrder:
        """One of the user's orders (see :meth:`Matcher.get_order`)."""
        return self.matcher.get_order(user_id, order_id)

    def cancel_order(self, user_id: str, order_id: str) -> tuple[ExchangeOrder, int]:
        """Cancel a resting order (see :meth:`Matcher.cancel_order`)."""
        return self.matcher.cancel_order(user_id, order_id)

    def decrease_order(
        self, user_id: str, order_id: str, *, reduce_by: int | None, reduce_to: int | None
    ) -> ExchangeOrder:
        """Lower a resting order's remaining count (see :meth:`Matcher.decrease_order`)."""
        return self.matcher.decrease_order(
            user_id, order_id, reduce_by=reduce_by, reduce_to=reduce_to
        )

    def amend_order(
        self,
        user_id: str,
        order_id: str,
        *,
        ticker: str,
        book_side: str,
        price: int,
        count: int,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> Execution:
        """Change a resting order's price and/or count (see :meth:`Matcher.amend_order`)."""
        return self.matcher.amend_order(
            user_id,
            order_id,
            ticker=ticker,
            book_side=book_side,
            price=price,
            count=count,
            client_order_id=client_order_id,
            updated_client_order_id=updated_client_order_id,
        )

    def user_orders(self, user_id: str) -> list[ExchangeOrder]:
        """The user's orders, newest first."""
        return self.matcher.user_orders(user_id)

    def user_fills(self, user_id: str) -> list[ExchangeFill]:
        """The user's fills, newest first."""
        return self.matcher.user_fills(user_id)

    def trades(self) -> list[Trade]:
        """All public trades, newest first."""
        return self.matcher.trades()

    # -- the clock and settlement -------------------------------------------------------------

    def sync(self, now: datetime | None = None) -> None:
        """Bring the exchange up to ``now`` (default the clock's time).

        See :meth:`ClockSync.sync`.
        """
        self.clock_sync.sync(now)

    def user_settlements(self, user_id: str) -> list[ExchangeSettlement]:
        """The user's settlements, newest first."""
        return self.clock_sync.user_settlements(user_id)

    def settled_events(self) -> set[str]:
        """Event tickers the exchange has settled since it started."""
        return self.clock_sync.settled_events()

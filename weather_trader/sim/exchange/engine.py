"""The matching engine of the local exchange (pure Python: no FastAPI, no I/O but the store).

Per market the book is the crowd's bid ladders at the exchange clock's current minute
(:meth:`SimMarket.event_markets`) plus the users' resting orders. A taker walks the best
prices first (user orders before the crowd at one price); liquidity it takes from the crowd is
remembered until the crowd re-quotes at the next minute, as :class:`PaperBroker` does. When
the clock moves, resting orders that the crowd's new quotes cross fill as makers at their own
price; orders expire, markets close (resting orders are canceled) and settle once the final
climate report is out, paying $1 per winning contract.

Orders follow Kalshi's V2 convention: ``bid`` buys YES at ``price``; ``ask`` sells YES at
``price``, i.e. buys NO at ``1 - price`` (positions are netted: buying NO while long YES closes
YES contracts). Taker fees per series (:mod:`weather_trader.core.fees`, rounded up per fill);
weather series charge no maker fee. Money is integer cents throughout.

Every operation runs under one lock, writes the records it changed to the store in one
transaction and then tells the listeners (the WebSocket hub) what happened.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from weather_trader.sim.exchange.catalog import (
    Catalog,
    EventRef,
    Final,
    MarketRef,
    minute_of,
    minute_start,
)
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.errors import BadRequestError, ConflictError, NotFoundError
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
from weather_trader.sim.exchange.wire import cents_of

DEFAULT_BALANCE_CENTS = 100_000
TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
STP_TYPES = ("taker_at_cross", "maker")


# -- events for listeners -------------------------------------------------------------------


@dataclass(frozen=True)
class BookChanged:
    """The books of ``tickers`` changed (an order rested, filled or left)."""

    tickers: tuple[str, ...]
    user_id: str | None = None
    client_order_id: str | None = None


@dataclass(frozen=True)
class OrderUpdated:
    """An order was created or changed (a copy of its new state)."""

    order: ExchangeOrder


@dataclass(frozen=True)
class FillExecuted:
    """A user's order filled."""

    fill: ExchangeFill


@dataclass(frozen=True)
class PositionChanged:
    """A user's position changed (a copy of its new state)."""

    position: ExchangePosition


@dataclass(frozen=True)
class TradeExecuted:
    """A public trade happened."""

    trade: Trade


@dataclass(frozen=True)
class Lifecycle:
    """A market lifecycle event (``created``, ``determined``, ``settled``)."""

    event_type: str
    market: MarketRef
    at: datetime
    result: str = ""
    value: int | None = None


@dataclass(frozen=True)
class MinuteTick:
    """The clock entered a new minute: the crowd re-quoted every book."""

    now: datetime


ExchangeEvent = (
    BookChanged
    | OrderUpdated
    | FillExecuted
    | PositionChanged
    | TradeExecuted
    | Lifecycle
    | MinuteTick
)


# -- requests and results -------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    """A validated V2 create-order request (prices in YES cents)."""

    ticker: str
    client_order_id: str
    book_side: str
    count: int
    price: int
    time_in_force: str
    self_trade_prevention_type: str
    post_only: bool = False
    reduce_only: bool = False
    cancel_order_on_pause: bool = False
    order_group_id: str | None = None
    expiration_time: datetime | None = None


@dataclass(frozen=True)
class Execution:
    """What one request did to an order: the order after it and the fills it caused."""

    order: ExchangeOrder
    fills: tuple[ExchangeFill, ...]

    @property
    def fill_count(self) -> int:
        """Contracts filled by this request."""
        return sum(f.count for f in self.fills)

    @property
    def average_price(self) -> Decimal | None:
        """Volume-weighted YES fill price in dollars, or None without fills."""
        n = self.fill_count
        return Decimal(sum(f.price * f.count for f in self.fills)) / 100 / n if n else None

    @property
    def average_fee(self) -> Decimal | None:
        """Fee per contract filled by this request in dollars, or None without fills."""
        n = self.fill_count
        return Decimal(sum(f.fee for f in self.fills)) / 100 / n if n else None


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


Listener = Callable[[ExchangeEvent], None]


class ExchangeEngine:
    """Accounts, orders, matching, positions and settlement of the local exchange.

    Args:
        catalog: Listed markets and crowd books.
        clock: The exchange clock.
        store: Where records persist; None keeps them in memory.
        starting_balance_cents: Balance of a new account.
        crossing_minutes_limit: Most minute steps checked for resting-order crossings in one
            clock move; longer moves are sampled evenly.
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
        self.starting_balance_cents = starting_balance_cents
        self.crossing_minutes_limit = max(1, crossing_minutes_limit)
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: dict[tuple[str, str], Any] = {}
        self._pending_meta: dict[str, str] = {}
        self._events: list[ExchangeEvent] = []
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, ExchangeOrder] = {}
        self.fills: list[ExchangeFill] = []
        self.positions: dict[tuple[str, str], ExchangePosition] = {}
        self.settlements: list[ExchangeSettlement] = []
        self.stats: dict[str, MarketStats] = {}
        self._coids: dict[tuple[str, str], str] = {}
        self._resting: dict[str, dict[str, ExchangeOrder]] = {}
        self._by_ticker: dict[str, list[ExchangePosition]] = {}
        self._taken: dict[tuple[str, int, str, int], int] = {}
        self._known_settled: set[str] = set()
        self._seq = 0
        self._deadline: datetime | None = None  # no resting order can expire or close before
        self.synced_to: datetime | None = None
        self._load()

    # -- infrastructure -----------------------------------------------------------------------

    def _load(self) -> None:
        if self.store is None:
            return
        data = self.store.load()
        for row in data.get("account", []):
            acct = Account.from_dict(row)
            self.accounts[acct.user_id] = acct
        for row in data.get("order", []):
            order = ExchangeOrder.from_dict(row)
            self.orders[order.order_id] = order
            self._coids[(order.user_id, order.client_order_id)] = order.order_id
            self._seq = max(self._seq, order.seq)
            if order.status == "resting":
                self._rest(order)
        for row in data.get("coid", []):
            self._coids[(row["user_id"], row["client_order_id"])] = row["order_id"]
        self.fills = [ExchangeFill.from_dict(row) for row in data.get("fill", [])]
        for row in data.get("position", []):
            pos = ExchangePosition.from_dict(row)
            self.positions[(pos.user_id, pos.ticker)] = pos
            self._by_ticker.setdefault(pos.ticker, []).append(pos)
        self.settlements = [ExchangeSettlement.from_dict(row) for row in data.get("settlement", [])]
        for row in data.get("trade", []):
            self._count_trade(Trade.from_dict(row))
        synced = self.store.get_meta("synced_to")
        self.synced_to = datetime.fromisoformat(synced) if synced else None

    @contextmanager
    def _op(self) -> Iterator[None]:
        """One atomic operation: records written together, listeners told afterwards."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                events: list[ExchangeEvent] = []
                if self._depth == 0:
                    records = [(k, i, rec.to_dict()) for (k, i), rec in self._pending.items()]
                    meta = self._pending_meta
                    self._pending, self._pending_meta = {}, {}
                    events, self._events = self._events, []
                    if self.store is not None:
                        self.store.write(records, meta)
        for event in events:
            for listener in list(self.listeners):
                listener(event)

    def _save(self, kind: str, key: str, record: Any) -> None:
        self._pending[(kind, key)] = record

    def _emit(self, event: ExchangeEvent) -> None:
        self._events.append(event)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- accounts -----------------------------------------------------------------------------

    def account(self, user_id: str) -> Account:
        """The account ``user_id`` (opened with the starting balance on first use)."""
        with self._op():
            acct = self.accounts.get(user_id)
            if acct is None:
                acct = Account(user_id, self.starting_balance_cents, self.clock.now())
                self.accounts[user_id] = acct
                self._save("account", user_id, acct)
            return acct

    def _credit(self, acct: Account, cents: int, now: datetime) -> None:
        acct.balance += cents
        acct.updated = now
        self._save("account", acct.user_id, acct)

    def position(self, user_id: str, ticker: str) -> ExchangePosition | None:
        """The user's position record in ``ticker``, or None."""
        return self.positions.get((user_id, ticker))

    def _position(self, user_id: str, ref: MarketRef, now: datetime) -> ExchangePosition:
        key = (user_id, ref.ticker)
        pos = self.positions.get(key)
        if pos is None:
            pos = ExchangePosition(user_id, ref.ticker, ref.event.event_ticker, now)
            self.positions[key] = pos
            self._by_ticker.setdefault(ref.ticker, []).append(pos)
        return pos

    # -- books --------------------------------------------------------------------------------

    def _crowd_remaining(
        self, ref: MarketRef, minute: int
    ) -> tuple[dict[int, int], dict[int, int]]:
        yes, no = self.catalog.crowd_book(ref, minute)
        t = ref.ticker
        yes = {p: c - self._taken.get((t, minute, "yes", p), 0) for p, c in yes.items()}
        no = {p: c - self._taken.get((t, minute, "no", p), 0) for p, c in no.items()}
        return {p: c for p, c in yes.items() if c > 0}, {p: c for p, c in no.items() if c > 0}

    def book(self, ticker: str) -> Book:
        """The market's current book: crowd (minus taken liquidity) plus resting orders.

        Raises:
            NotFoundError: If the market is not listed.
        """
        with self._lock:
            now = self.clock.now()
            ref = self.catalog.market_ref(ticker, now)
            if self.catalog.status(ref.event, now) != "open":
                return Book({}, {})
            yes, no = self._crowd_remaining(ref, minute_of(now))
            for order in self._resting.get(ticker, {}).values():
                if order.book_side == "bid":
                    yes[order.price] = yes.get(order.price, 0) + order.remaining_count
                else:
                    no[100 - order.price] = no.get(100 - order.price, 0) + order.remaining_count
            return Book(yes, no)

    def _opposite(self, ref: MarketRef, side: str, minute: int) -> list[tuple[int, Any]]:
        """Liquidity a ``side`` taker can hit: (YES price, crowd level or resting order)."""
        crowd_yes, crowd_no = self._crowd_remaining(ref, minute)
        resting = [o for o in self._resting.get(ref.ticker, {}).values() if o.book_side != side]
        if side == "bid":  # buy YES: crowd NO bids (YES ask 1-n) and resting asks
            levels: list[tuple[int, int, int, Any]] = [(100 - n, 1, 0, ("no", n)) for n in crowd_no]
            levels += [(o.price, 0, o.seq, o) for o in resting]
            levels.sort(key=lambda x: (x[0], x[1], x[2]))
        else:  # sell YES: crowd YES bids and resting bids
            levels = [(y, 1, 0, ("yes", y)) for y in crowd_yes]
            levels += [(o.price, 0, o.seq, o) for o in resting]
            levels.sort(key=lambda x: (-x[0], x[1], x[2]))
        return [(price, src) for price, _, _, src in levels]

    @staticmethod
    def _crosses(side: str, limit: int, price: int) -> bool:
        return price <= limit if side == "bid" else price >= limit

    # -- cash ---------------------------------------------------------------------------------

    def _fee(self, count: int, price: int, is_taker: bool) -> int:
        fees = self.catalog.fees
        p = Decimal(price) / 100
        fee = fees.taker(count, p) if is_taker else fees.maker(count, p)
        return cents_of(fee)

    def _cash_needed(
        self, user_id: str, ticker: str, side: str, price: int, qty: int, is_taker: bool
    ) -> int:
        """Cash a fill of ``qty`` at YES ``price`` costs the user (negative: it pays out)."""
        pos = self.positions.get((user_id, ticker))
        held = 0 if pos is None else (pos.position if side == "bid" else -pos.position)
        q = price if side == "bid" else 100 - price
        closing = min(qty, -held) if held < 0 else 0
        return (qty - closing) * q - closing * (100 - q) + self._fee(qty, price, is_taker)

    def _affordable(
        self, user_id: str, ticker: str, side: str, price: int, qty: int, is_taker: bool
    ) -> int:
        """The most of ``qty`` contracts the user's balance pays for."""
        balance = self.accounts[user_id].balance
        if self._cash_needed(user_id, ticker, side, price, qty, is_taker) <= balance:
            return qty
        lo, hi = 0, qty
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._cash_needed(user_id, ticker, side, price, mid, is_taker) <= balance:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # -- fills --------------------------------------------------------------------------------

    def _apply_fill(
        self,
        order: ExchangeOrder,
        ref: MarketRef,
        price: int,
        qty: int,
        is_taker: bool,
        now: datetime,
    ) -> ExchangeFill:
        """Book one fill of ``order``: its cash, fee, position, order counts and records."""
        acct = self.accounts[order.user_id]
        pos = self._position(order.user_id, ref, now)
        side = order.book_side
        q = price if side == "bid" else 100 - price
        fee = self._fee(qty, price, is_taker)
        held = pos.position if side == "bid" else -pos.position
        cash = 0
        if held < 0:
            closing = min(qty, -held)
            removed = pos.cost if closing == -held else pos.cost * closing // -held
            proceeds = closing * (100 - q)
            pos.realized += proceeds - removed
            pos.cost -= removed
            cash += proceeds
            opening = qty - closing
        else:
            opening = qty
        pos.cost += opening * q
        cash -= opening * q + fee
        pos.position += qty if side == "bid" else -qty
        pos.fees += fee
        pos.traded += qty * q
        pos.volume += qty
        pos.updated = now
        self._credit(acct, cash, now)
        order.fill_count += qty
        order.remaining_count -= qty
        if is_taker:
            order.taker_fill_cost += qty * q
            order.taker_fees += fee
        else:
            order.maker_fill_cost += qty * q
            order.maker_fees += fee
        order.last_update_time = now
        if order.remaining_count == 0:
            order.status = "executed"
            self._resting.get(order.ticker, {}).pop(order.order_id, None)
        fill_id = str(uuid.uuid4())
        fill = ExchangeFill(
            fill_id=fill_id,
            trade_id=fill_id,
            order_id=order.order_id,
            user_id=order.user_id,
            client_order_id=order.client_order_id,
            ticker=order.ticker,
            book_side=side,
            price=price,
            count=qty,
            is_taker=is_taker,
            fee=fee,
            post_position=pos.position,
            created_time=now,
        )
        self.fills.append(fill)
        self._save("fill", fill_id, fill)
        self._save("order", order.order_id, order)
        self._save("position", f"{pos.user_id}|{pos.ticker}", pos)
        self._emit(FillExecuted(fill))
        self._emit(PositionChanged(dataclasses.replace(pos)))
        return fill

    def _trade(self, ticker: str, price: int, qty: int, taker_side: str, now: datetime) -> None:
        trade = Trade(str(uuid.uuid4()), ticker, price, qty, taker_side, now)
        self._count_trade(trade)
        self._save("trade", trade.trade_id, trade)
        self._emit(TradeExecuted(trade))

    def _count_trade(self, trade: Trade) -> None:
        stats = self.stats.setdefault(trade.ticker, MarketStats())
        stats.volume += trade.count
        stats.last_price = trade.price
        stats.last_size = trade.count
        stats.dollar_volume += trade.count * trade.price
        stats.trades.append(trade)

    def open_interest(self, ticker: str) -> int:
        """Contracts held by users in a market (the crowd holds the other side)."""
        return sum(abs(p.position) for p in self._by_ticker.get(ticker, []))

    # -- orders -------------------------------------------------------------------------------

    def create_order(self, user_id: str, req: NewOrder) -> Execution:
        """Place a V2 order: match what crosses, then rest (GTC) or cancel the remainder.

        Raises:
            ConflictError: Duplicate ``client_order_id`` (the first order is untouched and
                retrievable), or the market is not open.
            NotFoundError: Unknown market.
            BadRequestError: post_only would cross, reduce_only cannot reduce, bad
                expiration, or insufficient balance.
        """
        self.sync()
        with self._op():
            now = self.clock.now()
            self.account(user_id)
            if (user_id, req.client_order_id) in self._coids:
                raise ConflictError(
                    "order already exists",
                    code="order_already_exists",
                    details=f"client_order_id {req.client_order_id!r} was already used",
                )
            ref = self.catalog.market_ref(req.ticker, now)
            self._require_open(ref, now)
            if req.expiration_time is not None:
                if req.time_in_force != "good_till_canceled":
                    raise BadRequestError(
                        "expiration_time needs time_in_force good_till_canceled",
                        code="invalid_parameters",
                    )
                if req.expiration_time <= now:
                    raise BadRequestError("expiration_time is in the past", code="invalid_order")
            count = req.count
            if req.reduce_only:
                count = self._reduce_only_count(user_id, req.ticker, req.book_side, count)
            minute = minute_of(now)
            if req.post_only and self._would_cross(ref, req.book_side, req.price, minute):
                raise BadRequestError(
                    "post only order would cross the book", code="post_only_cross"
                )
            if self._cash_needed(user_id, req.ticker, req.book_side, req.price, count, True) > (
                self.accounts[user_id].balance
            ):
                raise BadRequestError("insufficient balance", code="insufficient_balance")
            order = ExchangeOrder(
                order_id=str(uuid.uuid4()),
                user_id=user_id,
                client_order_id=req.client_order_id,
                ticker=req.ticker,
                event_ticker=ref.event.event_ticker,
                book_side=req.book_side,
                price=req.price,
                initial_count=count,
                remaining_count=count,
                time_in_force=req.time_in_force,
                self_trade_prevention_type=req.self_trade_prevention_type,
                created_time=now,
                last_update_time=now,
                seq=self._next_seq(),
                post_only=req.post_only,
                reduce_only=req.reduce_only,
                cancel_order_on_pause=req.cancel_order_on_pause,
                order_group_id=req.order_group_id,
                expiration_time=req.expiration_time,
            )
            self.orders[order.order_id] = order
            self._coids[(user_id, order.client_order_id)] = order.order_id
            fills = self._take(order, ref, now)
            self._finish(order, now)
            self._save("order", order.order_id, order)
            self._emit(OrderUpdated(dataclasses.replace(order)))
            if fills or order.status == "resting":
                self._emit(BookChanged((order.ticker,), user_id, order.client_order_id))
            return Execution(dataclasses.replace(order), tuple(fills))

    def _require_open(self, ref: MarketRef, now: datetime) -> None:
        status = self.catalog.status(ref.event, now)
        if status != "open":
            raise ConflictError(
                f"market {ref.ticker} is {status}",
                code="market_closed",
                details=f"trading closed at {self.catalog.close_time(ref.event).isoformat()}"
                if status != "unopened"
                else "market is not open yet",
            )

    def _reduce_only_count(self, user_id: str, ticker: str, side: str, count: int) -> int:
        pos = self.positions.get((user_id, ticker))
        held = 0 if pos is None else pos.position
        reduces = held > 0 if side == "ask" else held < 0
        if not reduces:
            raise BadRequestError(
                f"reduce_only order would not reduce the position ({held})",
                code="invalid_order",
            )
        return min(count, abs(held))

    def _would_cross(self, ref: MarketRef, side: str, price: int, minute: int) -> bool:
        levels = self._opposite(ref, side, minute)
        return bool(levels) and self._crosses(side, price, levels[0][0])

    def _take(self, order: ExchangeOrder, ref: MarketRef, now: datetime) -> list[ExchangeFill]:
        """Match ``order`` as a taker against the book; returns its fills."""
        minute = minute_of(now)
        side, limit = order.book_side, order.price
        levels = self._opposite(ref, side, minute)
        if order.time_in_force == "fill_or_kill":
            available = 0
            for price, src in levels:
                if not self._crosses(side, limit, price):
                    break
                if isinstance(src, ExchangeOrder):
                    if src.user_id == order.user_id:
                        if order.self_trade_prevention_type == "taker_at_cross":
                            break
                        continue
                    available += src.remaining_count
                else:
                    available += self._crowd_size(ref, minute, src)
            if available < order.remaining_count:
                order.status = "canceled"
                return []
        fills: list[ExchangeFill] = []
        for price, src in levels:
            if order.remaining_count == 0 or not self._crosses(side, limit, price):
                break
            if isinstance(src, ExchangeOrder):
                if src.status != "resting" or src.remaining_count == 0:
                    continue
                if src.user_id == order.user_id:
                    if order.self_trade_prevention_type == "taker_at_cross":
                        order.status = "canceled"  # the taker's remainder is canceled
                        break
                    self._cancel(src, now)
                    continue
                qty = min(order.remaining_count, src.remaining_count)
                qty = self._affordable(order.user_id, ref.ticker, side, price, qty, True)
                if qty == 0:
                    break
                maker_qty = self._affordable(
                    src.user_id, ref.ticker, src.book_side, price, qty, False
                )
                if maker_qty < qty:
                    self._cancel(src, now)
                    if maker_qty == 0:
                        continue
                    qty = maker_qty
                fills.append(self._apply_fill(order, ref, price, qty, True, now))
                self._apply_fill(src, ref, price, qty, False, now)
                self._emit(OrderUpdated(dataclasses.replace(src)))
            else:
                size = self._crowd_size(ref, minute, src)
                qty = min(order.remaining_count, size)
                qty = self._affordable(order.user_id, ref.ticker, side, price, qty, True)
                if qty == 0:
                    break
                ladder, level = src
                key = (ref.ticker, minute, ladder, level)
                self._taken[key] = self._taken.get(key, 0) + qty
                fills.append(self._apply_fill(order, ref, price, qty, True, now))
            self._trade(ref.ticker, price, qty, side, now)
        return fills

    def _crowd_size(self, ref: MarketRef, minute: int, src: tuple[str, int]) -> int:
        ladder, level = src
        yes, no = self.catalog.crowd_book(ref, minute)
        size = (yes if ladder == "yes" else no).get(level, 0)
        return max(size - self._taken.get((ref.ticker, minute, ladder, level), 0), 0)

    def _finish(self, order: ExchangeOrder, now: datetime) -> None:
        """Rest or cancel what is left of a freshly matched order."""
        if order.remaining_count == 0:
            order.status = "executed"
        elif order.status == "canceled" or order.time_in_force != "good_till_canceled":
            order.status = "canceled"
            order.remaining_count = 0
        else:
            order.status = "resting"
            self._rest(order)
        order.last_update_time = now

    def _rest(self, order: ExchangeOrder) -> None:
        """Put an order on the book and note when it must leave it at the latest."""
        self._resting.setdefault(order.ticker, {})[order.order_id] = order
        deadline = self._order_deadline(order)
        if self._deadline is not None and deadline < self._deadline:
            self._deadline = deadline

    def _order_deadline(self, order: ExchangeOrder) -> datetime:
        close = self.catalog.close_time(self.catalog.market_ref(order.ticker).event)
        expires = order.expiration_time
        return close if expires is None or expires > close else expires

    def _cancel(self, order: ExchangeOrder, now: datetime) -> int:
        """Cancel a resting order; returns the contracts canceled."""
        reduced = order.remaining_count
        order.remaining_count = 0
        order.status = "canceled"
        order.last_update_time = now
        self._resting.get(order.ticker, {}).pop(order.order_id, None)
        self._save("order", order.order_id, order)
        self._emit(OrderUpdated(dataclasses.replace(order)))
        self._emit(BookChanged((order.ticker,), order.user_id, order.client_order_id))
        return reduced

    def _own_order(self, user_id: str, order_id: str) -> ExchangeOrder:
        order = self.orders.get(order_id)
        if order is None or order.user_id != user_id:
            raise NotFoundError(f"order {order_id} not found")
        return order

    def _own_resting(self, user_id: str, order_id: str) -> ExchangeOrder:
        order = self._own_order(user_id, order_id)
        if order.status != "resting":
            raise NotFoundError(
                f"order {order_id} is {order.status}, not resting", code="order_not_resting"
            )
        return order

    def get_order(self, user_id: str, order_id: str) -> ExchangeOrder:
        """One of the user's orders.

        Raises:
            NotFoundError: If the user has no such order.
        """
        with self._lock:
            return dataclasses.replace(self._own_order(user_id, order_id))

    def cancel_order(self, user_id: str, order_id: str) -> tuple[ExchangeOrder, int]:
        """Cancel a resting order; returns it and the contracts canceled.

        Raises:
            NotFoundError: Unknown order, or not resting any more.
        """
        self.sync()
        with self._op():
            order = self._own_resting(user_id, order_id)
            reduced = self._cancel(order, self.clock.now())
            return dataclasses.replace(order), reduced

    def decrease_order(
        self, user_id: str, order_id: str, *, reduce_by: int | None, reduce_to: int | None
    ) -> ExchangeOrder:
        """Lower a resting order's remaining count (to 0 cancels it).

        Raises:
            NotFoundError: Unknown or not resting order.
            BadRequestError: Not exactly one of ``reduce_by``/``reduce_to``, or an increase.
        """
        if (reduce_by is None) == (reduce_to is None):
            raise BadRequestError(
                "exactly one of reduce_by or reduce_to must be provided",
                code="invalid_parameters",
            )
        self.sync()
        with self._op():
            now = self.clock.now()
            order = self._own_resting(user_id, order_id)
            target = (
                max(order.remaining_count - reduce_by, 0) if reduce_by is not None else reduce_to
            )
            assert target is not None
            if target > order.remaining_count:
                raise BadRequestError(
                    f"reduce_to {target} exceeds the remaining count {order.remaining_count}",
                    code="invalid_parameters",
                )
            if target == 0:
                self._cancel(order, now)
            elif target < order.remaining_count:
                order.remaining_count = target
                order.last_update_time = now
                self._save("order", order.order_id, order)
                self._emit(OrderUpdated(dataclasses.replace(order)))
                self._emit(BookChanged((order.ticker,), user_id, order.client_order_id))
            return dataclasses.replace(order)

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
        """Change a resting order's price and/or max fillable count (filled + new remaining).

        A decrease in size keeps the order's queue priority; any other change moves it to the
        back. If the new price crosses, the order trades at once.

        Raises:
            NotFoundError: Unknown or not resting order.
            BadRequestError: Ticker/side/client_order_id mismatch, a count not above the filled
                count, or a post_only order that would cross.
            ConflictError: ``updated_client_order_id`` already used, or market not open.
        """
        self.sync()
        with self._op():
            now = self.clock.now()
            order = self._own_resting(user_id, order_id)
            if ticker != order.ticker or book_side != order.book_side:
                raise BadRequestError(
                    "ticker and side must match the order", code="invalid_parameters"
                )
            if client_order_id and client_order_id != order.client_order_id:
                raise BadRequestError(
                    "client_order_id does not match the order", code="invalid_parameters"
                )
            if count <= order.fill_count:
                raise BadRequestError(
                    f"count {count} must exceed the filled count {order.fill_count}",
                    code="invalid_parameters",
                )
            new_coid = updated_client_order_id or order.client_order_id
            if new_coid != order.client_order_id and (user_id, new_coid) in self._coids:
                raise ConflictError(
                    "order already exists",
                    code="order_already_exists",
                    details=f"client_order_id {new_coid!r} was already used",
                )
            ref = self.catalog.market_ref(ticker, now)
            self._require_open(ref, now)
            remaining = count - order.fill_count
            self._resting.get(order.ticker, {}).pop(order.order_id, None)
            if order.post_only and self._would_cross(ref, book_side, price, minute_of(now)):
                self._rest(order)
                raise BadRequestError(
                    "post only order would cross the book", code="post_only_cross"
                )
            keeps_priority = price == order.price and remaining <= order.remaining_count
            order.price = price
            order.remaining_count = remaining
            order.initial_count = count
            if not keeps_priority:
                order.seq = self._next_seq()
            if new_coid != order.client_order_id:
                self._save(
                    "coid",
                    f"{user_id}|{order.client_order_id}",
                    _CoidAlias(user_id, order.client_order_id, order.order_id),
                )
                order.client_order_id = new_coid
                self._coids[(user_id, new_coid)] = order.order_id
            order.last_update_time = now
            fills = self._take(order, ref, now) if remaining else []
            if order.status == "canceled":  # self-trade prevention stopped it
                order.remaining_count = 0
            elif order.remaining_count:
                self._rest(order)
            self._save("order", order.order_id, order)
            self._emit(OrderUpdated(dataclasses.replace(order)))
            self._emit(BookChanged((order.ticker,), user_id, order.client_order_id))
            return Execution(dataclasses.replace(order), tuple(fills))

    # -- queries ------------------------------------------------------------------------------

    def user_orders(self, user_id: str) -> list[ExchangeOrder]:
        """The user's orders, newest first."""
        with self._lock:
            mine = [dataclasses.replace(o) for o in self.orders.values() if o.user_id == user_id]
        return sorted(mine, key=lambda o: o.seq, reverse=True)

    def user_fills(self, user_id: str) -> list[ExchangeFill]:
        """The user's fills, newest first."""
        with self._lock:
            return [f for f in reversed(self.fills) if f.user_id == user_id]

    def user_positions(self, user_id: str) -> list[ExchangePosition]:
        """The user's positions (copies), by ticker."""
        with self._lock:
            mine = [dataclasses.replace(p) for p in self.positions.values() if p.user_id == user_id]
        return sorted(mine, key=lambda p: p.ticker)

    def user_settlements(self, user_id: str) -> list[ExchangeSettlement]:
        """The user's settlements, newest first."""
        with self._lock:
            return [s for s in reversed(self.settlements) if s.user_id == user_id]

    def resting_count(self, user_id: str, ticker: str) -> int:
        """Contracts the user has resting in ``ticker``."""
        with self._lock:
            return sum(
                o.remaining_count
                for o in self._resting.get(ticker, {}).values()
                if o.user_id == user_id
            )

    def trades(self) -> list[Trade]:
        """All public trades, newest first."""
        with self._lock:
            out = [t for s in self.stats.values() for t in s.trades]
        return sorted(out, key=lambda t: t.created_time, reverse=True)

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

    # -- the clock moves ----------------------------------------------------------------------

    def sync(self, now: datetime | None = None) -> None:
        """Bring the exchange up to ``now`` (default the clock's time).

        Processes, minute by minute since the last sync: order expirations, market closes
        (resting orders canceled) and resting orders crossed by the crowd's new quotes; then
        new listings and settlements. Moving the clock backwards undoes nothing.
        """
        now = self.clock.now() if now is None else now
        with self._op():
            prev = self.synced_to
            if prev is None:
                self._settle_due(now, announce=False)
                self._mark_synced(now)
                return
            if minute_of(now) == minute_of(prev) and now >= prev:
                self._expire_and_close(now)
                self.synced_to = now
                return
            if now > prev:
                self._advance(prev, now)
                for ev in self.catalog.events_opening(prev, now):
                    for ref in self.catalog.markets_of(ev):
                        self._emit(Lifecycle("created", ref, self.catalog.open_time(ev)))
            self._taken = {k: v for k, v in self._taken.items() if k[1] >= minute_of(now)}
            self._settle_due(now, announce=True)
            self._mark_synced(now)
            self._emit(MinuteTick(now))

    def _mark_synced(self, now: datetime) -> None:
        """Record how far the exchange has processed (and the sim clock, to resume it)."""
        self.synced_to = now
        self._pending_meta["synced_to"] = now.isoformat()
        # An empty value: the clock runs on wall time (so a restart does not freeze it).
        self._pending_meta["clock"] = now.isoformat() if self.clock.is_simulated else ""

    def _advance(self, prev: datetime, now: datetime) -> None:
        first, last = minute_of(prev) + 1, minute_of(now)
        steps = last - first + 1
        stride = max(1, -(-steps // self.crossing_minutes_limit))
        minute = first
        while minute <= last and any(self._resting.values()):
            at = minute_start(minute)
            self._expire_and_close(at)
            self._cross_resting(minute, at)
            minute += stride
        self._expire_and_close(now)

    def _expire_and_close(self, at: datetime) -> None:
        if self._deadline is not None and at < self._deadline:
            return
        deadline: datetime | None = None
        for orders in list(self._resting.values()):
            for order in list(orders.values()):
                due = self._order_deadline(order)
                if due <= at:
                    self._cancel(order, at)
                elif deadline is None or due < deadline:
                    deadline = due
        self._deadline = deadline or datetime.max.replace(tzinfo=UTC)

    def _cross_resting(self, minute: int, at: datetime) -> None:
        """Fill resting orders that the crowd's quotes at ``minute`` cross (user = maker)."""
        for ticker, orders in list(self._resting.items()):
            if not orders:
                continue
            ref = self.catalog.market_ref(ticker)
            if self.catalog.status(ref.event, at) != "open":
                continue
            yes, no = self._crowd_remaining(ref, minute)
            bids = sorted(
                (o for o in orders.values() if o.book_side == "bid"),
                key=lambda o: (-o.price, o.seq),
            )
            asks = sorted(
                (o for o in orders.values() if o.book_side == "ask"), key=lambda o: (o.price, o.seq)
            )
            for order in bids:  # crowd NO bids at n sell YES at 1-n
                for n in sorted(no, reverse=True):
                    if order.remaining_count == 0 or 100 - n > order.price:
                        break
                    self._maker_fill(order, ref, minute, at, "no", n, no)
            for order in asks:  # crowd YES bids at y buy YES
                for y in sorted(yes, reverse=True):
                    if order.remaining_count == 0 or y < order.price:
                        break
                    self._maker_fill(order, ref, minute, at, "yes", y, yes)

    def _maker_fill(
        self,
        order: ExchangeOrder,
        ref: MarketRef,
        minute: int,
        at: datetime,
        ladder: str,
        level: int,
        crowd: dict[int, int],
    ) -> None:
        size = crowd.get(level, 0)
        wanted = min(order.remaining_count, size)
        if wanted <= 0:
            return
        qty = self._affordable(
            order.user_id, ref.ticker, order.book_side, order.price, wanted, False
        )
        if qty > 0:
            crowd[level] = size - qty
            key = (ref.ticker, minute, ladder, level)
            self._taken[key] = self._taken.get(key, 0) + qty
            self._apply_fill(order, ref, order.price, qty, False, at)
            self._emit(OrderUpdated(dataclasses.replace(order)))
            self._emit(BookChanged((ref.ticker,), order.user_id, order.client_order_id))
            taker = "ask" if order.book_side == "bid" else "bid"
            self._trade(ref.ticker, order.price, qty, taker, at)
        if qty < wanted and order.status == "resting":  # the account cannot pay for more
            self._cancel(order, at)

    # -- settlement ---------------------------------------------------------------------------

    def _settle_due(self, now: datetime, *, announce: bool) -> None:
        """Settle every closed event whose final report is out (positions and lifecycle)."""
        candidates: dict[str, EventRef] = {}
        for ticker, positions in self._by_ticker.items():
            if any(p.settled_time is None for p in positions):
                ref = self.catalog.market_ref(ticker)
                candidates[ref.event.event_ticker] = ref.event
        for ev in self.catalog.listed_events(now):
            if ev.event_ticker not in self._known_settled:
                candidates.setdefault(ev.event_ticker, ev)
        for ev in candidates.values():
            if now < self.catalog.close_time(ev):
                continue
            final = self.catalog.final(ev, now)
            if final is None:
                continue
            self._settle_event(ev, final, now, announce=announce)

    def _settle_event(self, ev: EventRef, final: Final, now: datetime, *, announce: bool) -> None:
        first = ev.event_ticker not in self._known_settled
        self._known_settled.add(ev.event_ticker)
        for ref in self.catalog.markets_of(ev):
            yes = ref.bracket.settles_yes(final.value)
            result = "yes" if yes else "no"
            for order in list(self._resting.get(ref.ticker, {}).values()):
                self._cancel(order, now)
            for pos in self._by_ticker.get(ref.ticker, []):
                if pos.settled_time is None:
                    self._settle_position(pos, ref, result, final.issued_at, now)
            if first and announce:
                self._emit(Lifecycle("determined", ref, final.issued_at, result, final.value))
                self._emit(Lifecycle("settled", ref, final.issued_at, result, final.value))

    def _settle_position(
        self,
        pos: ExchangePosition,
        ref: MarketRef,
        result: str,
        settled_at: datetime,
        now: datetime,
    ) -> None:
        held = pos.position
        wins = (held > 0 and result == "yes") or (held < 0 and result == "no")
        revenue = abs(held) * 100 if wins else 0
        settlement = ExchangeSettlement(
            settlement_id=str(uuid.uuid4()),
            user_id=pos.user_id,
            ticker=pos.ticker,
            event_ticker=pos.event_ticker,
            market_result=result,
            yes_count=max(held, 0),
            yes_cost=pos.cost if held > 0 else 0,
            no_count=max(-held, 0),
            no_cost=pos.cost if held < 0 else 0,
            revenue=revenue,
            fee_cost=pos.fees,
            value=100 if result == "yes" else 0,
            settled_time=settled_at,
        )
        pos.realized += revenue - pos.cost
        pos.position = 0
        pos.cost = 0
        pos.settled_time = settled_at
        pos.updated = now
        self._credit(self.accounts[pos.user_id], revenue, now)
        self.settlements.append(settlement)
        self._save("settlement", settlement.settlement_id, settlement)
        self._save("position", f"{pos.user_id}|{pos.ticker}", pos)
        self._emit(PositionChanged(dataclasses.replace(pos)))

    def settled_events(self) -> set[str]:
        """Event tickers the exchange has settled since it started."""
        with self._lock:
            return set(self._known_settled)


@dataclass
class _CoidAlias:
    """A client order id an amend replaced: kept reserved so it is never reused."""

    user_id: str
    client_order_id: str
    order_id: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def validate_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``.

    Raises:
        BadRequestError: Otherwise.
    """
    if value not in choices:
        raise BadRequestError(f"{name} must be one of {list(choices)}, got {value!r}")
    return str(value)


def expiration_from_seconds(value: object) -> datetime | None:
    """A V2 ``expiration_time`` (Unix seconds) as a datetime; None when absent.

    Raises:
        BadRequestError: If it is not an integer.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"expiration_time must be Unix seconds, got {value!r}")
    return datetime.fromtimestamp(value, UTC)

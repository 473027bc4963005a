"""Order entry and matching of the local exchange: taking liquidity, resting, cancel, amend
and decrease.

A taker walks the best prices first (user orders before the crowd at one price); what it
leaves rests (good-till-canceled) or is canceled. Orders follow Kalshi's V2 convention:
``bid`` buys YES at ``price``; ``ask`` sells YES at ``price``, i.e. buys NO at ``1 - price``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from weather_trader.sim.exchange.accounts import Ledger
from weather_trader.sim.exchange.book import OrderBooks, crosses
from weather_trader.sim.exchange.catalog import Catalog, MarketRef, minute_of
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.errors import BadRequestError, ConflictError, NotFoundError
from weather_trader.sim.exchange.events import (
    BookChanged,
    FillExecuted,
    Journal,
    OrderUpdated,
    PositionChanged,
    TradeExecuted,
)
from weather_trader.sim.exchange.models import ExchangeFill, ExchangeOrder, MarketStats, Trade
from weather_trader.sim.exchange.wire import time_from_seconds

TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
STP_TYPES = ("taker_at_cross", "maker")


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


class Matcher:
    """Every order of the exchange and what matching them does to books, cash and positions.

    Args:
        catalog: Listed markets and crowd books.
        clock: The exchange clock.
        journal: The exchange's lock and pending writes.
        ledger: Balances and positions.
        books: The order books.
        sync: Brings the exchange up to the clock; called before every order change.

    Attributes:
        orders: Every order by id.
        coids: Order id by (user id, client order id), including ids an amend replaced.
        fills: Every fill, oldest first.
        stats: Trade statistics by ticker.
    """

    def __init__(
        self,
        catalog: Catalog,
        clock: ExchangeClock,
        journal: Journal,
        ledger: Ledger,
        books: OrderBooks,
        sync: Callable[[], None],
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.journal = journal
        self.ledger = ledger
        self.books = books
        self._sync = sync
        self.orders: dict[str, ExchangeOrder] = {}
        self.coids: dict[tuple[str, str], str] = {}
        self.fills: list[ExchangeFill] = []
        self.stats: dict[str, MarketStats] = {}
        self._seq = 0

    def load(self, data: dict[str, list[dict[str, Any]]]) -> None:
        """Replace orders (resting ones back on the book), fills and trades with the store's
        records (the books must have been reset)."""
        self.orders, self.coids, self.fills, self.stats, self._seq = {}, {}, [], {}, 0
        for row in data.get("order", []):
            order = ExchangeOrder.from_dict(row)
            self.orders[order.order_id] = order
            self.coids[(order.user_id, order.client_order_id)] = order.order_id
            self._seq = max(self._seq, order.seq)
            if order.status == "resting":
                self.books.rest(order)
        for row in data.get("coid", []):
            self.coids[(row["user_id"], row["client_order_id"])] = row["order_id"]
        self.fills = [ExchangeFill.from_dict(row) for row in data.get("fill", [])]
        for row in data.get("trade", []):
            self.count_trade(Trade.from_dict(row))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- fills --------------------------------------------------------------------------------

    def apply_fill(
        self,
        order: ExchangeOrder,
        ref: MarketRef,
        price: int,
        qty: int,
        is_taker: bool,
        now: datetime,
    ) -> ExchangeFill:
        """Book one fill of ``order``: its cash, fee, position, order counts and records."""
        side = order.book_side
        pos, fee = self.ledger.book_fill(order.user_id, ref, side, price, qty, is_taker, now)
        q = price if side == "bid" else 100 - price
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
            self.books.remove(order)
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
            number=self.journal.next_number(),
        )
        self.fills.append(fill)
        self.journal.save("fill", fill_id, fill)
        self.journal.save("order", order.order_id, order)
        self.ledger.save_position(pos)
        self.journal.emit(FillExecuted(fill))
        self.journal.emit(PositionChanged(dataclasses.replace(pos)))
        return fill

    def record_trade(
        self, ticker: str, price: int, qty: int, taker_side: str, now: datetime
    ) -> None:
        """Record a public trade of ``qty`` contracts at YES ``price``."""
        trade = Trade(
            str(uuid.uuid4()), ticker, price, qty, taker_side, now, self.journal.next_number()
        )
        self.count_trade(trade)
        self.journal.save("trade", trade.trade_id, trade)
        self.journal.emit(TradeExecuted(trade))

    def count_trade(self, trade: Trade) -> None:
        """Add a trade to its market's statistics."""
        stats = self.stats.setdefault(trade.ticker, MarketStats())
        stats.volume += trade.count
        stats.last_price = trade.price
        stats.last_size = trade.count
        stats.dollar_volume += trade.count * trade.price
        stats.trades.append(trade)

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
        self._sync()
        with self.journal.op():
            now = self.clock.now()
            self.ledger.account(user_id)
            if (user_id, req.client_order_id) in self.coids:
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
            if req.post_only and self.books.would_cross(ref, req.book_side, req.price, minute):
                raise BadRequestError(
                    "post only order would cross the book", code="post_only_cross"
                )
            cost = self.ledger.cash_needed(
                user_id, req.ticker, req.book_side, req.price, count, True
            )
            if cost > self.ledger.accounts[user_id].balance:
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
                number=self.journal.next_number(),
                post_only=req.post_only,
                reduce_only=req.reduce_only,
                cancel_order_on_pause=req.cancel_order_on_pause,
                order_group_id=req.order_group_id,
                expiration_time=req.expiration_time,
            )
            self.orders[order.order_id] = order
            self.coids[(user_id, order.client_order_id)] = order.order_id
            fills = self._take(order, ref, now)
            self._finish(order, now)
            self.journal.save("order", order.order_id, order)
            self.journal.emit(OrderUpdated(dataclasses.replace(order)))
            if fills or order.status == "resting":
                self.journal.emit(BookChanged((order.ticker,), user_id, order.client_order_id))
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
        pos = self.ledger.positions.get((user_id, ticker))
        held = 0 if pos is None else pos.position
        reduces = held > 0 if side == "ask" else held < 0
        if not reduces:
            raise BadRequestError(
                f"reduce_only order would not reduce the position ({held})",
                code="invalid_order",
            )
        return min(count, abs(held))

    def _take(self, order: ExchangeOrder, ref: MarketRef, now: datetime) -> list[ExchangeFill]:
        """Match ``order`` as a taker against the book; returns its fills."""
        minute = minute_of(now)
        side, limit = order.book_side, order.price
        levels = self.books.opposite(ref, side, minute)
        if order.time_in_force == "fill_or_kill":
            available = 0
            for price, src in levels:
                if not crosses(side, limit, price):
                    break
                if isinstance(src, ExchangeOrder):
                    if src.user_id == order.user_id:
                        if order.self_trade_prevention_type == "taker_at_cross":
                            break
                        continue
                    available += src.remaining_count
                else:
                    available += self.books.crowd_size(ref, minute, src)
            if available < order.remaining_count:
                order.status = "canceled"
                return []
        fills: list[ExchangeFill] = []
        for price, src in levels:
            if order.remaining_count == 0 or not crosses(side, limit, price):
                break
            if isinstance(src, ExchangeOrder):
                if src.status != "resting" or src.remaining_count == 0:
                    continue
                if src.user_id == order.user_id:
                    if order.self_trade_prevention_type == "taker_at_cross":
                        order.status = "canceled"  # the taker's remainder is canceled
                        break
                    self.cancel(src, now)
                    continue
                qty = min(order.remaining_count, src.remaining_count)
                qty = self.ledger.affordable(order.user_id, ref.ticker, side, price, qty, True)
                if qty == 0:
                    break
                maker_qty = self.ledger.affordable(
                    src.user_id, ref.ticker, src.book_side, price, qty, False
                )
                if maker_qty < qty:
                    self.cancel(src, now)
                    if maker_qty == 0:
                        continue
                    qty = maker_qty
                fills.append(self.apply_fill(order, ref, price, qty, True, now))
                self.apply_fill(src, ref, price, qty, False, now)
                self.journal.emit(OrderUpdated(dataclasses.replace(src)))
            else:
                size = self.books.crowd_size(ref, minute, src)
                qty = min(order.remaining_count, size)
                qty = self.ledger.affordable(order.user_id, ref.ticker, side, price, qty, True)
                if qty == 0:
                    break
                ladder, level = src
                self.books.take_crowd(ref.ticker, minute, ladder, level, qty)
                fills.append(self.apply_fill(order, ref, price, qty, True, now))
            self.record_trade(ref.ticker, price, qty, side, now)
        return fills

    def _finish(self, order: ExchangeOrder, now: datetime) -> None:
        """Rest or cancel what is left of a freshly matched order."""
        if order.remaining_count == 0:
            order.status = "executed"
        elif order.status == "canceled" or order.time_in_force != "good_till_canceled":
            order.status = "canceled"
            order.remaining_count = 0
        else:
            order.status = "resting"
            self.books.rest(order)
        order.last_update_time = now

    def cancel(self, order: ExchangeOrder, now: datetime) -> int:
        """Cancel a resting order; returns the contracts canceled."""
        reduced = order.remaining_count
        order.remaining_count = 0
        order.status = "canceled"
        order.last_update_time = now
        self.books.remove(order)
        self.journal.save("order", order.order_id, order)
        self.journal.emit(OrderUpdated(dataclasses.replace(order)))
        self.journal.emit(BookChanged((order.ticker,), order.user_id, order.client_order_id))
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
        with self.journal.lock:
            return dataclasses.replace(self._own_order(user_id, order_id))

    def cancel_order(self, user_id: str, order_id: str) -> tuple[ExchangeOrder, int]:
        """Cancel a resting order; returns it and the contracts canceled.

        Raises:
            NotFoundError: Unknown order, or not resting any more.
        """
        self._sync()
        with self.journal.op():
            order = self._own_resting(user_id, order_id)
            reduced = self.cancel(order, self.clock.now())
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
        self._sync()
        with self.journal.op():
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
                self.cancel(order, now)
            elif target < order.remaining_count:
                order.remaining_count = target
                order.last_update_time = now
                self.journal.save("order", order.order_id, order)
                self.journal.emit(OrderUpdated(dataclasses.replace(order)))
                self.journal.emit(BookChanged((order.ticker,), user_id, order.client_order_id))
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
        self._sync()
        with self.journal.op():
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
            if new_coid != order.client_order_id and (user_id, new_coid) in self.coids:
                raise ConflictError(
                    "order already exists",
                    code="order_already_exists",
                    details=f"client_order_id {new_coid!r} was already used",
                )
            ref = self.catalog.market_ref(ticker, now)
            self._require_open(ref, now)
            remaining = count - order.fill_count
            self.books.remove(order)
            if order.post_only and self.books.would_cross(ref, book_side, price, minute_of(now)):
                self.books.rest(order)
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
                self.journal.save(
                    "coid",
                    f"{user_id}|{order.client_order_id}",
                    _CoidAlias(user_id, order.client_order_id, order.order_id),
                )
                order.client_order_id = new_coid
                self.coids[(user_id, new_coid)] = order.order_id
            order.last_update_time = now
            fills = self._take(order, ref, now) if remaining else []
            if order.status == "canceled":  # self-trade prevention stopped it
                order.remaining_count = 0
            elif order.remaining_count:
                self.books.rest(order)
            self.journal.save("order", order.order_id, order)
            self.journal.emit(OrderUpdated(dataclasses.replace(order)))
            self.journal.emit(BookChanged((order.ticker,), user_id, order.client_order_id))
            return Execution(dataclasses.replace(order), tuple(fills))

    # -- queries ------------------------------------------------------------------------------

    def user_orders(self, user_id: str) -> list[ExchangeOrder]:
        """The user's orders, newest (highest ``number``) first."""
        with self.journal.lock:
            mine = [dataclasses.replace(o) for o in self.orders.values() if o.user_id == user_id]
        return sorted(mine, key=lambda o: o.number, reverse=True)

    def user_fills(self, user_id: str) -> list[ExchangeFill]:
        """The user's fills, newest (highest ``number``) first."""
        with self.journal.lock:
            mine = [f for f in self.fills if f.user_id == user_id]
        return sorted(mine, key=lambda f: f.number, reverse=True)

    def trades(self) -> list[Trade]:
        """All public trades, newest (highest ``number``) first."""
        with self.journal.lock:
            out = [t for s in self.stats.values() for t in s.trades]
        return sorted(out, key=lambda t: t.number, reverse=True)


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
        BadRequestError: If it is not an integer or out of range.
    """
    return None if value is None else time_from_seconds(value, "expiration_time")

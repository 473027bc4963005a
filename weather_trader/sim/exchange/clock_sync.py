"""Moving the local exchange to its clock's time: expirations, market closes, resting orders
crossed by the crowd's new quotes, new listings and settlement.

When the clock moves, resting orders that the crowd's new quotes cross fill as makers at their
own price; orders expire, markets close (resting orders are canceled) and settle once the final
climate report is out, paying $1 per winning contract.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from weather_trader.sim.exchange.accounts import Ledger
from weather_trader.sim.exchange.book import OrderBooks
from weather_trader.sim.exchange.catalog import (
    Catalog,
    EventRef,
    Final,
    MarketRef,
    minute_of,
    minute_start,
)
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.events import (
    BookChanged,
    Journal,
    Lifecycle,
    MinuteTick,
    OrderUpdated,
    PositionChanged,
)
from weather_trader.sim.exchange.matching import Matcher
from weather_trader.sim.exchange.models import ExchangeOrder, ExchangePosition, ExchangeSettlement


class ClockSync:
    """Keeps the exchange in step with its clock, and settles what the clock has closed.

    Args:
        catalog: Listed markets, crowd books and final reports.
        clock: The exchange clock.
        journal: The exchange's lock and pending writes.
        ledger: Balances and positions.
        books: The order books.
        matcher: Fills, cancels and trades of orders.
        crossing_minutes_limit: Most minute steps checked for resting-order crossings in one
            clock move; longer moves are sampled evenly.

    Attributes:
        synced_to: How far the exchange has processed (None before the first sync).
        settlements: Every settlement, oldest first.
    """

    def __init__(
        self,
        catalog: Catalog,
        clock: ExchangeClock,
        journal: Journal,
        ledger: Ledger,
        books: OrderBooks,
        matcher: Matcher,
        crossing_minutes_limit: int = 1440,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.journal = journal
        self.ledger = ledger
        self.books = books
        self.matcher = matcher
        self.crossing_minutes_limit = max(1, crossing_minutes_limit)
        self.synced_to: datetime | None = None
        self.settlements: list[ExchangeSettlement] = []
        self._known_settled: set[str] = set()

    def load(self, data: dict[str, list[dict[str, Any]]], synced_to: str | None) -> None:
        """Replace settlements and how far the exchange had processed (a meta value)."""
        self._known_settled = set()
        self.settlements = [ExchangeSettlement.from_dict(row) for row in data.get("settlement", [])]
        self.synced_to = datetime.fromisoformat(synced_to) if synced_to else None

    def sync(self, now: datetime | None = None) -> None:
        """Bring the exchange up to ``now`` (default the clock's time).

        Processes, minute by minute since the last sync: order expirations, market closes
        (resting orders canceled) and resting orders crossed by the crowd's new quotes; then
        new listings and settlements. Moving the clock backwards undoes nothing.
        """
        now = self.clock.now() if now is None else now
        with self.journal.op():
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
                        self.journal.emit(Lifecycle("created", ref, self.catalog.open_time(ev)))
            self.books.forget_taken_before(minute_of(now))
            self._settle_due(now, announce=True)
            self._mark_synced(now)
            self.journal.emit(MinuteTick(now))

    def _mark_synced(self, now: datetime) -> None:
        """Record how far the exchange has processed (and the sim clock, to resume it)."""
        self.synced_to = now
        self.journal.save_meta("synced_to", now.isoformat())
        # An empty value: the clock runs on wall time (so a restart does not freeze it).
        self.journal.save_meta("clock", now.isoformat() if self.clock.is_simulated else "")

    def _advance(self, prev: datetime, now: datetime) -> None:
        first, last = minute_of(prev) + 1, minute_of(now)
        steps = last - first + 1
        stride = max(1, -(-steps // self.crossing_minutes_limit))
        minute = first
        while minute <= last and any(self.books.resting.values()):
            at = minute_start(minute)
            self._expire_and_close(at)
            self._cross_resting(minute, at)
            minute += stride
        self._expire_and_close(now)

    def _expire_and_close(self, at: datetime) -> None:
        if self.books.deadline is not None and at < self.books.deadline:
            return
        deadline: datetime | None = None
        for orders in list(self.books.resting.values()):
            for order in list(orders.values()):
                due = self.books.order_deadline(order)
                if due <= at:
                    self.matcher.cancel(order, at)
                elif deadline is None or due < deadline:
                    deadline = due
        self.books.deadline = deadline or datetime.max.replace(tzinfo=UTC)

    def _cross_resting(self, minute: int, at: datetime) -> None:
        """Fill resting orders that the crowd's quotes at ``minute`` cross (user = maker)."""
        for ticker, orders in list(self.books.resting.items()):
            if not orders:
                continue
            ref = self.catalog.market_ref(ticker)
            if self.catalog.status(ref.event, at) != "open":
                continue
            yes, no = self.books.crowd_remaining(ref, minute)
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
        qty = self.ledger.affordable(
            order.user_id, ref.ticker, order.book_side, order.price, wanted, False
        )
        if qty > 0:
            crowd[level] = size - qty
            self.books.take_crowd(ref.ticker, minute, ladder, level, qty)
            self.matcher.apply_fill(order, ref, order.price, qty, False, at)
            self.journal.emit(OrderUpdated(dataclasses.replace(order)))
            self.journal.emit(BookChanged((ref.ticker,), order.user_id, order.client_order_id))
            taker = "ask" if order.book_side == "bid" else "bid"
            self.matcher.record_trade(ref.ticker, order.price, qty, taker, at)
        if qty < wanted and order.status == "resting":  # the account cannot pay for more
            self.matcher.cancel(order, at)

    # -- settlement ---------------------------------------------------------------------------

    def _settle_due(self, now: datetime, *, announce: bool) -> None:
        """Settle every closed event whose final report is out (positions and lifecycle)."""
        candidates: dict[str, EventRef] = {}
        for ticker, positions in self.ledger.by_ticker.items():
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
            for order in list(self.books.resting.get(ref.ticker, {}).values()):
                self.matcher.cancel(order, now)
            for pos in self.ledger.by_ticker.get(ref.ticker, []):
                if pos.settled_time is None:
                    self._settle_position(pos, ref, result, final.issued_at, now)
            if first and announce:
                self.journal.emit(
                    Lifecycle("determined", ref, final.issued_at, result, final.value)
                )
                self.journal.emit(Lifecycle("settled", ref, final.issued_at, result, final.value))

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
            number=self.journal.next_number(),
        )
        pos.realized += revenue - pos.cost
        pos.position = 0
        pos.cost = 0
        pos.settled_time = settled_at
        pos.updated = now
        self.ledger.credit(self.ledger.accounts[pos.user_id], revenue, now)
        self.settlements.append(settlement)
        self.journal.save("settlement", settlement.settlement_id, settlement)
        self.ledger.save_position(pos)
        self.journal.emit(PositionChanged(dataclasses.replace(pos)))

    def settled_events(self) -> set[str]:
        """Event tickers the exchange has settled since it started."""
        with self.journal.lock:
            return set(self._known_settled)

    def user_settlements(self, user_id: str) -> list[ExchangeSettlement]:
        """The user's settlements, newest (highest ``number``) first."""
        with self.journal.lock:
            mine = [s for s in self.settlements if s.user_id == user_id]
        return sorted(mine, key=lambda s: s.number, reverse=True)

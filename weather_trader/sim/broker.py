"""A paper broker: fills orders as a taker against the order-book snapshot it is handed.

Buying YES (side ``bid`` at limit p) lifts the NO-bid ladder at YES price ``1 - no_bid`` while
that is <= p; buying NO (side ``ask`` at YES price p) hits the YES-bid ladder while
``yes_bid >= p``. Each level filled is one :class:`Fill` whose taker fee is computed on that
fill's whole count (``core.fees``: rounded up per fill, never per contract).

Liquidity taken from a snapshot is remembered, so two orders against the same snapshot cannot
both take the same contracts. Orders never rest: good-till-canceled orders are rejected (see
:class:`PaperBroker`).

Paper mode uses it against the real Kalshi books; sim mode against the simulated crowd.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from weather_trader.core.fees import SeriesFees
from weather_trader.core.records import (
    Fill,
    MarketSnapshot,
    OrderRequest,
    OrderResult,
    order_status,
)

TICK = Decimal("0.01")


class PaperBroker:
    """:class:`~weather_trader.core.ports.Broker` that never leaves the process.

    Idempotent by ``client_order_id`` for the broker's lifetime: a duplicate gets the first
    result back and never fills twice.

    Takers only: an order takes what crosses on arrival (IOC: the remainder is canceled; FOK:
    all or nothing). Nothing rests, because nothing would ever fill it: the broker only sees
    the snapshots handed to :meth:`place`, not the trades printed between them. A
    ``good_till_canceled`` order is therefore rejected (reason says so) before it takes
    anything, rather than half-simulated.

    Args:
        fees: Fee parameters; by default the book's ``fee_multiplier`` with the standard taker
            fee (weather series charge no maker fee).
    """

    def __init__(self, fees: SeriesFees | None = None) -> None:
        self.fees = fees
        self._results: dict[str, OrderResult] = {}
        self._taken: dict[tuple[str, datetime, str, Decimal], int] = {}
        self._positions: dict[str, int] = {}

    def position(self, ticker: str) -> int:
        """Net YES contracts held in ``ticker`` (negative = NO contracts)."""
        return self._positions.get(ticker, 0)

    def positions(self) -> dict[str, int]:
        """Net YES contracts held per ticker (negative = NO), flat tickers left out.

        Only what this broker filled in its lifetime: it keeps no record across processes.
        """
        return {ticker: count for ticker, count in self._positions.items() if count}

    def place(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> OrderResult:
        """Fill ``order`` against ``book`` at time ``as_of``.

        Returns:
            ``filled``; ``partially_filled`` (IOC remainder canceled); ``canceled`` (FOK not
            fully fillable, or IOC with nothing crossing); ``rejected`` with a reason (GTC
            orders among them). Never ``resting``.
        """
        if order.client_order_id in self._results:
            return self._results[order.client_order_id]
        reason = self._rejection(order, book, as_of)
        if reason:
            return self._remember(
                OrderResult(
                    client_order_id=order.client_order_id,
                    status="rejected",
                    filled_count=0,
                    reason=reason,
                )
            )
        plan = self._match(order, book)
        available = sum(count for _, count in plan)
        if order.time_in_force == "fill_or_kill" and available < order.count:
            return self._remember(
                OrderResult(
                    client_order_id=order.client_order_id,
                    status="canceled",
                    filled_count=0,
                    reason=f"fill_or_kill: only {available} of {order.count} available",
                )
            )
        fees = self.fees or SeriesFees("quadratic", book.fee_multiplier, maker_fees=False)
        fills = []
        for level, (price, count) in enumerate(plan):
            # The fee is symmetric in P, but charge it on the price of the side bought.
            fee = fees.taker(count, price if order.side == "bid" else 1 - price)
            fills.append(
                Fill(
                    # Deterministic and unique: an order is filled at most once per level.
                    fill_id=f"{order.client_order_id}-{level}",
                    client_order_id=order.client_order_id,
                    ticker=order.ticker,
                    side=order.side,
                    count=count,
                    price=price,
                    fee=fee,
                    is_taker=True,
                    filled_at=as_of,
                )
            )
            ladder = "no" if order.side == "bid" else "yes"
            key = (book.ticker, book.captured_at, ladder, price)
            self._taken[key] = self._taken.get(key, 0) + count
        signed = available if order.side == "bid" else -available
        self._positions[order.ticker] = self.position(order.ticker) + signed
        status = order_status(order, available)  # never "resting": GTC was rejected
        reason = {
            "filled": "",
            "partially_filled": "remainder canceled (immediate_or_cancel)",
            "canceled": "nothing crossed (immediate_or_cancel)",
        }[status]
        return self._remember(
            OrderResult(
                client_order_id=order.client_order_id,
                status=status,
                filled_count=available,
                fills=tuple(fills),
                reason=reason,
            )
        )

    def _remember(self, result: OrderResult) -> OrderResult:
        self._results[result.client_order_id] = result
        return result

    def _rejection(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> str:
        if order.time_in_force == "good_till_canceled":
            return (
                "good_till_canceled is not supported: the paper broker never rests orders "
                "(use immediate_or_cancel or fill_or_kill)"
            )
        if order.ticker != book.ticker:
            return f"book is for {book.ticker}, order for {order.ticker}"
        if book.status != "open":
            return f"market {book.ticker} is {book.status}"
        if as_of >= book.close_time:
            return f"market {book.ticker} closed at {book.close_time.isoformat()}"
        if order.price % TICK != 0:
            return f"price {order.price} is not on the 1-cent grid"
        crosses = (
            book.no_bids and 1 - book.no_bids[0].price <= order.price
            if order.side == "bid"
            else book.yes_bids and book.yes_bids[0].price >= order.price
        )
        if order.post_only and crosses:
            return "post_only order would cross the book"
        if order.reduce_only:
            held = self.position(order.ticker)
            reduces = held > 0 if order.side == "ask" else held < 0
            if not reduces or order.count > abs(held):
                return f"reduce_only order would not reduce the position ({held})"
        return ""

    def _match(self, order: OrderRequest, book: MarketSnapshot) -> list[tuple[Decimal, int]]:
        """(YES price, count) per level taken, best first, within the order's limit."""
        remaining = order.count
        plan: list[tuple[Decimal, int]] = []
        buying_yes = order.side == "bid"
        ladder = "no" if buying_yes else "yes"
        if buying_yes:
            levels = [(1 - lvl.price, lvl.count) for lvl in book.no_bids]
        else:
            levels = [(lvl.price, lvl.count) for lvl in book.yes_bids]
        for yes_price, size in levels:
            crosses = yes_price <= order.price if buying_yes else yes_price >= order.price
            if remaining == 0 or not crosses:
                break
            taken = self._taken.get((book.ticker, book.captured_at, ladder, yes_price), 0)
            count = min(remaining, int(size) - taken)
            if count > 0:
                plan.append((yes_price, count))
                remaining -= count
        return plan

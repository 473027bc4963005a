"""The fill model: when, at what price and for how many contracts a replayed order fills.

Conservative by design: an order fills only where the recording shows a counterparty who would
have traded with it, after the order reached the exchange, at a price that was really printed
or quoted (or at the order's own limit when it rested), and never for more than was shown.

**Orders.** Every order is a limit order on one market: buy or sell, YES or NO, a count and a
limit price of the side traded. On Kalshi's YES book, buying YES or selling NO is a *bid* (at the
YES price ``b``; for NO at limit ``L`` that is ``b = 1 - L``); selling YES or buying NO is an
*ask* (YES price ``a``). An order is sent at the decision instant and reaches the exchange
``latency_seconds`` later (``sent_at``); it is cancelled at the event's next decision instant or
at the market's close, whichever comes first (a maker quote also when the model that priced it
is replaced: the next ``model_version`` of the predictions, else the next weekly refit; we never
quote across a model run). Only prints strictly after ``sent_at`` and strictly before that
expiry can fill it.

**Taker orders where a quote with sizes was recorded** (``ticker, at, yes_bid, yes_ask, sizes``;
quotes recorded without sizes, such as one-minute candles, set the book a decision sees but
never fill: those orders follow the trade rule below): the order meets the quote in force when
it arrives (the newest at or before ``sent_at``, no older than
``quote_max_age_seconds``): a bid at ``b`` buys at the recorded YES ask if ``ask <= b``, up to the
recorded ask size; an ask at ``a`` sells at the recorded YES bid if ``bid >= a``, up to the bid
size. What the quote cannot fill is cancelled (immediate-or-cancel), and a quote's size is taken
at most once across our orders.

**Taker orders where only trades were recorded.** Each print shows a resting order that a taker
took: a print with ``taker_side == "yes"`` at YES price ``p`` shows an offer to *sell* YES at
``p``; ``taker_side == "no"`` (the taker bought NO, i.e. sold YES) shows a *bid* for YES at
``p``. Our order could have taken exactly that liquidity in the taker's place, so:

- a bid at ``b`` (buy YES / sell NO) fills against later prints with ``taker_side == "yes"`` and
  ``yes_price <= b``, at the printed price;
- an ask at ``a`` (sell YES / buy NO) fills against later prints with ``taker_side == "no"`` and
  ``yes_price >= a``, at the printed price;

in time order, for no more contracts than each print's count, and each print is consumed once
across all our orders (maker and taker alike). Without a recorded book the order's limit (the
ask assumed at the decision) stays working until it expires (or for ``taker_window_seconds``
after arrival, the closest a tape comes to production's immediate-or-cancel), taking such
liquidity as it appears, always at the taker fee. Prints whose taker was on the other side are not
used: they show liquidity on our own side of the book, which a taker order cannot trade with.

**Maker (resting, post-only) orders** fill only when later prints trade *through* their price,
strictly better for the counterparty than the price the counterparty got: a bid at ``b`` fills
against prints with ``taker_side == "no"`` (a taker selling YES) at ``yes_price < b``; an ask at
``a`` against prints with ``taker_side == "yes"`` at ``yes_price > a``. A print through our price
means every order at our price would have been filled first (price priority), whatever our place
in the queue; a print *at* our price proves nothing (the queue ahead of us may have absorbed it).
Maker fills are at the order's own limit, for no more than the print's count. A post-only order
that would cross the recorded book on arrival is rejected (the built-in maker strategy never
quotes across the book assumed from the tape either).

**Prices, slippage and fees.** A fill's price is the side's price (NO price = 1 - YES price).
``slippage_cents`` is added against us to every taker fill (buys pay more, sells get less),
never beyond [0, 1]. Fees are Kalshi's, per fill, rounded up to the cent as Kalshi rounds
(:mod:`weather_trader.core.fees`): taker ``0.07 * C * P * (1 - P) * multiplier``; maker
``0.0175 * ...`` only on series with maker fees (weather series have none). Paying the rounding
once per fill, not per order, is the conservative reading.

What this leaves out, knowingly: our orders do not move the market (prints we did not take still
happen, and prints we took do not reappear elsewhere); quotes without sizes never fill; queue
position at our own price is never assumed; and a YES and a NO position in the same market are
held side by side, not netted as Kalshi would.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np
import pandas as pd

from weather_trader.backtest.tape import QuoteBook, Tape, dollars_to_ticks, ticks_to_dollars
from weather_trader.core.fees import SeriesFees

Action = Literal["buy", "sell"]
Side = Literal["yes", "no"]
Liquidity = Literal["taker", "maker"]
BookSide = Literal["bid", "ask"]

ONE = Decimal(1)
ZERO = Decimal(0)
CENT = Decimal("0.01")


class FillError(ValueError):
    """Raised for an order that cannot be placed as given (bad count, limit or times)."""


@dataclass(frozen=True)
class Order:
    """A limit order as the exchange would receive it.

    Attributes:
        order_id: Unique id within the run.
        ticker: Market ticker.
        action: ``buy`` or ``sell``.
        side: ``yes`` or ``no``.
        count: Contracts (>= 1).
        limit: Limit price of ``side`` in dollars, within (0, 1).
        liquidity: ``taker`` (crosses the book) or ``maker`` (post-only, rests).
        sent_at: When it reaches the exchange (UTC).
        expires_at: When it is cancelled (UTC).
    """

    order_id: str
    ticker: str
    action: Action
    side: Side
    count: int
    limit: Decimal
    liquidity: Liquidity
    sent_at: pd.Timestamp
    expires_at: pd.Timestamp

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise FillError(f"{self.order_id}: count must be a positive int, got {self.count!r}")
        if not (ZERO < self.limit < ONE):
            raise FillError(f"{self.order_id}: limit must be within (0, 1), got {self.limit}")
        if self.action not in ("buy", "sell") or self.side not in ("yes", "no"):
            raise FillError(f"{self.order_id}: bad action/side {self.action}/{self.side}")
        if self.liquidity not in ("taker", "maker"):
            raise FillError(f"{self.order_id}: liquidity must be taker or maker")
        if self.sent_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise FillError(f"{self.order_id}: times must be tz-aware UTC")

    @property
    def book_side(self) -> BookSide:
        """``bid`` on the YES book for buy YES / sell NO, else ``ask``."""
        return book_side(self.action, self.side)

    @property
    def yes_limit(self) -> Decimal:
        """The limit as a YES-book price."""
        return self.limit if self.side == "yes" else ONE - self.limit


@dataclass(frozen=True)
class Fill:
    """Contracts of one order traded at one price.

    Attributes:
        order_id: The order.
        filled_at: When (the print's time, or ``sent_at`` for a quote).
        count: Contracts.
        price: Price per contract of the order's side, slippage included.
        fee: Kalshi's fee of this fill.
        liquidity: ``taker`` or ``maker``.
        source: The print's trade id, or ``quote``.
    """

    order_id: str
    filled_at: pd.Timestamp
    count: int
    price: Decimal
    fee: Decimal
    liquidity: Liquidity
    source: str


def book_side(action: Action, side: Side) -> BookSide:
    """Where an order sits on Kalshi's YES book."""
    return "bid" if (action == "buy") == (side == "yes") else "ask"


def side_price(yes_price: Decimal, side: Side) -> Decimal:
    """The price of ``side`` for a YES-book price."""
    return yes_price if side == "yes" else ONE - yes_price


def slipped(price: Decimal, action: Action, slippage_cents: int) -> Decimal:
    """``price`` moved ``slippage_cents`` against us (within [0, 1])."""
    move = CENT * slippage_cents
    moved = price + move if action == "buy" else price - move
    return min(ONE, max(ZERO, moved))


def fill_fee(fees: SeriesFees, liquidity: Liquidity, count: int, price: Decimal) -> Decimal:
    """Kalshi's fee of one fill (rounded up to the cent)."""
    return fees.taker(count, price) if liquidity == "taker" else fees.maker(count, price)


def _ns(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).tz_convert("UTC").as_unit("ns").value)


def eligible_prints(order: Order, tape: Tape) -> np.ndarray:
    """Rows of the tape that could fill ``order`` (before counting what is left of them)."""
    window = tape.window(order.ticker, _ns(order.sent_at), _ns(order.expires_at))
    prices = tape.price[window]
    taker_yes = tape.taker_yes[window]
    limit = dollars_to_ticks(order.yes_limit)
    bid = order.book_side == "bid"
    if order.liquidity == "taker":
        # Resting liquidity on the other side, taken by a taker on our side.
        mask = (taker_yes & (prices <= limit)) if bid else (~taker_yes & (prices >= limit))
    else:
        # Takers on the other side trading strictly through our resting price.
        mask = (~taker_yes & (prices < limit)) if bid else (taker_yes & (prices > limit))
    return np.flatnonzero(mask) + window.start


def match_prints(
    order: Order, tape: Tape, fees: SeriesFees, slippage_cents: int = 0, wanted: int | None = None
) -> list[Fill]:
    """Fill ``order`` (or its first ``wanted`` contracts) against the tape, consuming prints.

    Returns:
        The fills in time order (possibly none).
    """
    wanted = order.count if wanted is None else wanted
    rows = eligible_prints(order, tape)
    if wanted <= 0 or not len(rows):
        return []
    available = tape.remaining[rows]
    before = np.cumsum(available) - available
    take = np.clip(wanted - before, 0, available)
    used = take > 0
    rows, take = rows[used], take[used]
    tape.remaining[rows] -= take
    fills = []
    for row, n in zip(rows.tolist(), take.tolist(), strict=True):
        if order.liquidity == "maker":
            price = order.limit
        else:
            price = slipped(
                side_price(ticks_to_dollars(tape.price[row]), order.side),
                order.action,
                slippage_cents,
            )
        fills.append(
            Fill(
                order.order_id,
                pd.Timestamp(int(tape.times[row]), tz="UTC"),
                int(n),
                price,
                fill_fee(fees, order.liquidity, int(n), price),
                order.liquidity,
                str(tape.trade_id[row]),
            )
        )
    return fills


def quote_row(order: Order, quotes: QuoteBook, max_age_seconds: float) -> int | None:
    """The recorded quote ``order`` meets on arrival (None when there is none fresh enough)."""
    max_age = int(max_age_seconds * 1e9)
    return quotes.in_force(order.ticker, _ns(order.sent_at), max_age, strict=False)


def quote_size(order: Order, quotes: QuoteBook, row: int) -> int:
    """Contracts quote ``row`` shows on the side ``order`` would take (-1: not recorded)."""
    return int(quotes.ask_size[row] if order.book_side == "bid" else quotes.bid_size[row])


def match_quote(
    order: Order, quotes: QuoteBook, row: int, fees: SeriesFees, slippage_cents: int = 0
) -> list[Fill]:
    """Fill a taker ``order`` against recorded quote ``row`` (immediate-or-cancel)."""
    limit = dollars_to_ticks(order.yes_limit)
    if order.book_side == "bid":
        price_ticks, size, taken_key = int(quotes.ask[row]), int(quotes.ask_size[row]), "ask"
        crosses = price_ticks <= limit
    else:
        price_ticks, size, taken_key = int(quotes.bid[row]), int(quotes.bid_size[row]), "bid"
        crosses = price_ticks >= limit
    left = size - quotes.taken.get((row, taken_key), 0)
    n = min(order.count, left)
    if not crosses or n <= 0:
        return []
    quotes.taken[(row, taken_key)] = quotes.taken.get((row, taken_key), 0) + n
    price = slipped(
        side_price(ticks_to_dollars(price_ticks), order.side), order.action, slippage_cents
    )
    fee = fill_fee(fees, "taker", n, price)
    return [Fill(order.order_id, order.sent_at, n, price, fee, "taker", "quote")]


def post_only_crosses(order: Order, quotes: QuoteBook, max_age_seconds: float) -> bool:
    """Whether a maker order would cross the recorded book on arrival (then it is rejected)."""
    row = quote_row(order, quotes, max_age_seconds)
    if row is None:
        return False
    limit = dollars_to_ticks(order.yes_limit)
    # A recorded price crosses even when its size was not recorded (-1).
    if order.book_side == "bid":
        return quotes.ask_size[row] != 0 and limit >= int(quotes.ask[row])
    return quotes.bid_size[row] != 0 and limit <= int(quotes.bid[row])


def fill_order(
    order: Order,
    tape: Tape,
    quotes: QuoteBook,
    fees: SeriesFees,
    slippage_cents: int = 0,
    quote_max_age_seconds: float = 600.0,
) -> list[Fill]:
    """Every fill of ``order`` under the fill model (see the module docstring).

    A taker order meets the recorded quote when one is in force, else waits for prints; a maker
    order is rejected if it would cross the recorded book, else fills on trade-through prints.
    """
    if order.liquidity == "taker":
        row = quote_row(order, quotes, quote_max_age_seconds)
        if row is not None and quote_size(order, quotes, row) >= 0:
            return match_quote(order, quotes, row, fees, slippage_cents)
        return match_prints(order, tape, fees, slippage_cents)
    if post_only_crosses(order, quotes, quote_max_age_seconds):
        return []
    return match_prints(order, tape, fees)

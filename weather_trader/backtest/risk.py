"""The simulated account: positions, resting orders, settlement and the risk rules.

It is production's risk model replayed in time order. At a decision instant ``t`` the account
reports a ``core.trading.RiskState`` exactly as ``core.trading.risk_state_at`` would from the
run's own lots: contracts filled strictly before ``t`` and not settled by ``t`` are held and at
risk (cost plus fee); the P&L realised on ``t``'s UTC day up to ``t`` is today's; the Kelly
bankroll is the starting bankroll plus the realised P&L (``compound``) or the starting bankroll.
On top of production, the money reserved by our resting orders counts as exposure (Kalshi holds
it), and two halts: a cooldown after N consecutive losing positions and a kill switch once equity
falls ``kill_drawdown`` below its peak.

Equity is cash plus open positions at cost (fees included), i.e. bankroll plus realised P&L:
it moves when a position settles or is sold.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import pandas as pd

from weather_trader.backtest.config import RiskConfig
from weather_trader.core.fees import SeriesFees
from weather_trader.core.trading import RiskLimits, RiskState

Side = Literal["yes", "no"]
ZERO = Decimal(0)
ONE = Decimal(1)
NS_PER_HOUR = 3_600_000_000_000

Halt = Literal["kill_switch", "daily_loss_limit", "cooldown", "kill_drawdown"]


@dataclass
class OpenLot:
    """Contracts bought by one fill and not yet sold or settled."""

    row: int
    ticker: str
    event_ticker: str
    side: Side
    count: int
    remaining: int
    price: Decimal
    fee: Decimal

    @property
    def exposure(self) -> Decimal:
        """Money at risk of what remains: cost plus the fee's share."""
        return self.remaining * self.price + self.fee * self.remaining / self.count


@dataclass
class FillEvent:
    """A fill to apply when the clock passes ``at``: ``row`` in the run's trades list."""

    row: int
    order_id: str
    ticker: str
    event_ticker: str
    action: Literal["buy", "sell"]
    side: Side
    count: int
    price: Decimal
    fee: Decimal


@dataclass
class Resting:
    """What an order still reserves: ``unit`` dollars per unfilled contract until it expires."""

    event_ticker: str
    unfilled: int
    unit: Decimal
    expires_ns: int


@dataclass
class Account:
    """The account of one backtest run (see the module docstring).

    Call :meth:`advance` to a decision instant before :meth:`risk_state`; fills and settlements
    are scheduled ahead (:meth:`schedule_fill`, :meth:`schedule_settlement`) and applied when
    the clock passes them.
    """

    bankroll: Decimal
    risk: RiskConfig
    compound: bool = True
    realised: Decimal = ZERO
    peak: Decimal = ZERO
    killed: bool = False
    cooldown_until_ns: int = -1
    losing_streak: int = 0
    lots: dict[tuple[str, Side], deque[OpenLot]] = field(default_factory=dict)
    resting: dict[str, Resting] = field(default_factory=dict)
    realisations: list[tuple[int, Decimal]] = field(default_factory=list)
    """(time ns, P&L) of every settlement and sale, in time order."""
    row_pnl: dict[int, Decimal] = field(default_factory=dict)
    """P&L per trades row, filled in as positions settle or are sold."""
    _queue: list[tuple[int, int, int, object]] = field(default_factory=list)
    _seq: int = 0
    now_ns: int = -(2**62)

    def __post_init__(self) -> None:
        self.peak = self.bankroll

    # -- scheduling -------------------------------------------------------------------------

    def _push(self, at_ns: int, rank: int, item: object) -> None:
        if at_ns < self.now_ns:
            raise ValueError("cannot schedule before the account's clock")
        heapq.heappush(self._queue, (at_ns, rank, self._seq, item))
        self._seq += 1

    def schedule_settlement(self, ticker: str, at_ns: int, settled_yes: bool) -> None:
        """Settle every position on ``ticker`` at ``at_ns`` (each market once)."""
        self._push(at_ns, 0, ("settle", ticker, settled_yes))

    def schedule_fill(self, at_ns: int, fill: FillEvent) -> None:
        """Apply ``fill`` once the clock passes ``at_ns``."""
        self._push(at_ns, 1, fill)

    def rest(self, order_id: str, resting: Resting) -> None:
        """Reserve money for a resting buy order until it fills or expires."""
        if resting.unfilled > 0:
            self.resting[order_id] = resting

    # -- the clock ----------------------------------------------------------------------------

    def advance(self, t_ns: int) -> None:
        """Apply fills strictly before ``t_ns`` and settlements at or before it."""
        while self._queue:
            at, rank, _, item = self._queue[0]
            if at > t_ns or (at == t_ns and rank != 0):
                break
            heapq.heappop(self._queue)
            self.now_ns = at
            if isinstance(item, FillEvent):
                self._apply_fill(at, item)
            else:
                _, ticker, settled_yes = item  # type: ignore[misc]
                self._settle(at, ticker, bool(settled_yes))
        self.now_ns = max(self.now_ns, t_ns)
        for order_id in [k for k, r in self.resting.items() if r.expires_ns <= t_ns]:
            del self.resting[order_id]

    def finish(self) -> None:
        """Apply everything scheduled (the end of the run)."""
        if self._queue:
            self.advance(max(at for at, *_ in self._queue) + 1)

    def _apply_fill(self, at: int, fill: FillEvent) -> None:
        resting = self.resting.get(fill.order_id)
        if resting is not None:
            resting.unfilled -= fill.count
            if resting.unfilled <= 0:
                del self.resting[fill.order_id]
        key = (fill.ticker, fill.side)
        if fill.action == "buy":
            lot = OpenLot(
                fill.row,
                fill.ticker,
                fill.event_ticker,
                fill.side,
                fill.count,
                fill.count,
                fill.price,
                fill.fee,
            )
            self.lots.setdefault(key, deque()).append(lot)
            self.row_pnl.setdefault(fill.row, -fill.fee)
            return
        queue = self.lots.get(key, deque())
        left, cost, closed_fees = fill.count, ZERO, ZERO
        while left > 0 and queue:
            lot = queue[0]
            n = min(left, lot.remaining)
            cost += n * lot.price
            lot.remaining -= n
            left -= n
            if lot.remaining == 0:
                # A lot sold out is closed: its buy fee is realised now (it stays on its row).
                closed_fees += lot.fee
                queue.popleft()
        if left > 0:
            raise ValueError(f"{fill.order_id}: sold {fill.count} but held {fill.count - left}")
        pnl = fill.count * fill.price - cost - fill.fee
        self.row_pnl[fill.row] = pnl
        self._realise(at, pnl - closed_fees)

    def _settle(self, at: int, ticker: str, settled_yes: bool) -> None:
        for side in ("yes", "no"):
            queue = self.lots.pop((ticker, side), deque())  # type: ignore[arg-type]
            if not queue:
                continue
            payout = ONE if (side == "yes") == settled_yes else ZERO
            pnl = ZERO
            for lot in queue:
                # The buy row already carries minus its fee; add what its contracts paid.
                gain = lot.remaining * (payout - lot.price)
                self.row_pnl[lot.row] = self.row_pnl.get(lot.row, -lot.fee) + gain
                pnl += gain - lot.fee
            self._realise(at, pnl)

    def _realise(self, at: int, pnl: Decimal) -> None:
        self.realised += pnl
        self.realisations.append((at, pnl))
        equity = self.bankroll + self.realised
        self.peak = max(self.peak, equity)
        if self.risk.kill_drawdown is not None and self.peak - equity >= self.risk.kill_drawdown:
            self.killed = True
        if pnl < 0:
            self.losing_streak += 1
            n = self.risk.cooldown_after_losses
            if n is not None and self.losing_streak >= n:
                self.cooldown_until_ns = at + int(self.risk.cooldown_hours * NS_PER_HOUR)
                self.losing_streak = 0
        elif pnl > 0:
            self.losing_streak = 0

    # -- views --------------------------------------------------------------------------------

    def held(self, ticker: str, side: Side) -> int:
        """Contracts held on ``ticker``/``side`` now."""
        return sum(lot.remaining for lot in self.lots.get((ticker, side), ()))

    def realised_on_day(self, t_ns: int) -> Decimal:
        """P&L realised on ``t_ns``'s UTC day up to ``t_ns``."""
        day_start = t_ns - t_ns % (24 * NS_PER_HOUR)
        total = ZERO
        for at, pnl in reversed(self.realisations):
            if at < day_start:
                break
            if at <= t_ns:
                total += pnl
        return total

    def risk_state(self, t_ns: int) -> RiskState:
        """Production's risk state at ``t_ns`` (resting orders' reserve counted as exposure)."""
        exposure: dict[str, Decimal] = {}
        held: dict[tuple[str, Side], int] = {}
        for (ticker, side), queue in self.lots.items():
            for lot in queue:
                if lot.remaining <= 0:
                    continue
                exposure[lot.event_ticker] = exposure.get(lot.event_ticker, ZERO) + lot.exposure
                held[(ticker, side)] = held.get((ticker, side), 0) + lot.remaining
        for r in self.resting.values():
            if r.expires_ns > t_ns and r.unfilled > 0:
                exposure[r.event_ticker] = exposure.get(r.event_ticker, ZERO) + r.unfilled * r.unit
        bankroll = self.bankroll + self.realised if self.compound else self.bankroll
        return RiskState(
            bankroll=max(bankroll, ZERO),
            total_exposure=sum(exposure.values(), ZERO),
            event_exposure=exposure,
            realised_pnl_today=self.realised_on_day(t_ns),
            held=held,
        )

    def halt(self, t_ns: int, limits: RiskLimits, state: RiskState) -> Halt | None:
        """Why no new position may be opened at ``t_ns`` (None: trading allowed)."""
        if limits.kill_switch:
            return "kill_switch"
        if self.killed:
            return "kill_drawdown"
        if state.realised_pnl_today <= -limits.daily_loss_limit:
            return "daily_loss_limit"
        if t_ns < self.cooldown_until_ns:
            return "cooldown"
        return None

    def equity_by_day(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        """End-of-UTC-day equity from ``first``'s day to ``last``'s day (inclusive)."""
        days = pd.date_range(
            first.tz_convert("UTC").normalize(), last.tz_convert("UTC").normalize(), freq="D"
        )
        out, i, running = [], 0, self.bankroll
        events = sorted(self.realisations, key=lambda e: e[0])
        for day in days:
            end = int(day.value) + 24 * NS_PER_HOUR
            while i < len(events) and events[i][0] < end:
                running += events[i][1]
                i += 1
            out.append({"date": day.date(), "equity": running})
        return pd.DataFrame(out, columns=["date", "equity"])


def cap_buy(
    count: int,
    limit: Decimal,
    fee_of: SeriesFees,
    liquidity: Literal["taker", "maker"],
    event_room: Decimal,
    total_room: Decimal,
    limits: RiskLimits,
) -> int:
    """Largest count ``<= count`` whose cost plus fee fits the per-order count and cost limits
    and the room left in the event and in total."""
    budget = min(limits.max_order_cost, event_room, total_room)
    n = min(count, limits.max_contracts_per_order)
    if budget <= 0 or n <= 0:
        return 0

    def fee(k: int) -> Decimal:
        return fee_of.taker(k, limit) if liquidity == "taker" else fee_of.maker(k, limit)

    per = limit + fee(n) / n
    n = min(n, int(budget / per)) if per > 0 else n
    while n > 0 and n * limit + fee(n) > budget:
        n -= 1
    return max(n, 0)

"""Trade decisions: expected value after fees, fractional Kelly sizing and risk limits.

Every candidate (each market of an event, bought YES or bought NO) gets exactly one
:class:`Decision` row, taken or skipped, with a machine-readable ``reason`` so the dashboard
and the backtest can explain every non-trade.

Conventions: probabilities are floats; money, prices and fees are ``Decimal`` dollars. A
``price`` is the price of the side bought: the YES ask for YES, the NO ask (1 - YES bid) for
NO. Exposure is money at risk, cost plus fee (the maximum loss of a bought contract).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from weather_trader.core.brackets import Bracket
from weather_trader.core.fees import TAKER_RATE, WEATHER_SERIES_FEES, SeriesFees, to_decimal
from weather_trader.core.records import MarketSnapshot, OrderRequest, TimeInForce

Side = Literal["yes", "no"]
SIDES: tuple[Side, ...] = ("yes", "no")
DECISION_VERSION = "trading-v1"
"""Bumped when the decision logic changes; part of every client order id."""

EV_QUANTUM = Decimal("0.000001")
"""Decision rows report EV per contract to a millionth of a dollar."""
ONE = Decimal(1)
ZERO = Decimal(0)

Reason = Literal[
    "taken",
    "kill_switch",
    "stale_inputs",
    "daily_loss_limit",
    "no_liquidity",
    "no_edge",
    "already_held",
    "size_zero",
    "max_order_cost",
    "event_exposure",
    "total_exposure",
]


class TradingError(ValueError):
    """Raised for inconsistent trading inputs (misaligned probabilities, bad quotes, ...)."""


def _prob(value: float, name: str = "probability") -> Decimal:
    """A probability as Decimal via its shortest repr (exact for the value the model meant)."""
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise TradingError(f"{name} must be a finite number in [0, 1], got {value!r}")
    return Decimal(repr(float(value)))


# -- market input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketQuote:
    """The top of one market's book, as the decision logic sees it.

    Attributes:
        ticker: Market ticker.
        event_ticker: Event ticker (exposure caps are per event).
        bracket: The market's YES condition.
        yes_bid: Best YES bid in dollars (0 when nobody bids).
        yes_ask: Best YES ask in dollars (1 when nobody offers).
        yes_bid_size: Contracts bid at ``yes_bid`` (what a NO buyer can take).
        yes_ask_size: Contracts offered at ``yes_ask`` (what a YES buyer can take).
    """

    ticker: str
    event_ticker: str
    bracket: Bracket
    yes_bid: Decimal
    yes_ask: Decimal
    yes_bid_size: Decimal = ZERO
    yes_ask_size: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("yes_bid", "yes_ask", "yes_bid_size", "yes_ask_size"):
            value = to_decimal(getattr(self, name), name)
            object.__setattr__(self, name, value)
        if not (ZERO <= self.yes_bid <= ONE and ZERO <= self.yes_ask <= ONE):
            raise TradingError(f"{self.ticker}: prices must be in [0, 1] dollars")
        if self.yes_bid_size < 0 or self.yes_ask_size < 0:
            raise TradingError(f"{self.ticker}: sizes must be >= 0")

    @property
    def no_ask(self) -> Decimal:
        """Price to buy NO: 1 - best YES bid."""
        return ONE - self.yes_bid

    def price(self, side: Side) -> Decimal:
        """Executable price of buying ``side`` (the side's ask)."""
        return self.yes_ask if side == "yes" else self.no_ask

    def size(self, side: Side) -> int:
        """Whole contracts available at :meth:`price` for ``side``."""
        raw = self.yes_ask_size if side == "yes" else self.yes_bid_size
        return int(raw.to_integral_value(rounding=ROUND_FLOOR))


def quote_from_snapshot(snapshot: MarketSnapshot) -> MarketQuote:
    """Build a :class:`MarketQuote` from a market snapshot's best levels.

    Raises:
        BracketError: If the snapshot's strikes do not form a valid bracket.
    """
    return MarketQuote(
        ticker=snapshot.ticker,
        event_ticker=snapshot.event_ticker,
        bracket=snapshot.bracket,
        yes_bid=snapshot.yes_bid,
        yes_ask=snapshot.yes_ask,
        yes_bid_size=snapshot.yes_bids[0].count if snapshot.yes_bids else ZERO,
        yes_ask_size=snapshot.no_bids[0].count if snapshot.no_bids else ZERO,
    )


# -- EV and Kelly --------------------------------------------------------------------------------


def unit_fee_rate(price: Decimal, fees: SeriesFees = WEATHER_SERIES_FEES) -> Decimal:
    """Unrounded taker fee per contract, ``0.07 * P * (1 - P) * multiplier``.

    The per-contract fee of a large order tends to this; small orders pay more because the
    order's fee is rounded up to the cent.
    """
    price = to_decimal(price, "price")
    return TAKER_RATE * price * (ONE - price) * fees.fee_multiplier


def expected_value_per_contract(
    p_win: float, price: Decimal, count: int, fees: SeriesFees = WEATHER_SERIES_FEES
) -> Decimal:
    """EV per contract of buying ``count`` contracts at ``price`` that pay $1 with ``p_win``.

    ``EV = p_win - price - taker_fee(count, price) / count``; the fee is computed for the whole
    order (rounded up to the cent once), so small orders pay relatively more.

    Raises:
        TradingError: If ``count < 1`` or ``p_win`` is not a probability.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise TradingError(f"count must be a positive int, got {count!r}")
    price = to_decimal(price, "price")
    return _prob(p_win, "p_win") - price - fees.taker(count, price) / count


def ev_yes(
    p_yes: float, quote: MarketQuote, count: int, fees: SeriesFees = WEATHER_SERIES_FEES
) -> Decimal:
    """EV per contract of buying ``count`` YES at the YES ask."""
    return expected_value_per_contract(p_yes, quote.yes_ask, count, fees)


def ev_no(
    p_yes: float, quote: MarketQuote, count: int, fees: SeriesFees = WEATHER_SERIES_FEES
) -> Decimal:
    """EV per contract of buying ``count`` NO at the NO ask (1 - YES bid)."""
    return expected_value_per_contract(1.0 - p_yes, quote.no_ask, count, fees)


def kelly_fraction(p_win: float, cost: Decimal) -> Decimal:
    """Full-Kelly fraction of bankroll for a contract costing ``cost`` that pays $1.

    ``f* = (q - c) / (1 - c)``, and 0 when there is no edge (or ``c >= 1``).
    """
    q, c = _prob(p_win, "p_win"), to_decimal(cost, "cost")
    if c >= ONE or q <= c:
        return ZERO
    return (q - c) / (ONE - c)


def kelly_contracts(
    p_win: float, cost: Decimal, bankroll: Decimal, fraction: float | Decimal
) -> int:
    """Target position in contracts: ``floor(fraction * f* * bankroll / cost)``, never negative.

    Args:
        p_win: Probability the contract pays $1.
        cost: All-in cost per contract in dollars (price plus per-contract fee).
        bankroll: Capital the Kelly fraction applies to.
        fraction: Fractional-Kelly multiplier (0.25 = quarter Kelly).
    """
    cost = to_decimal(cost, "cost")
    bankroll = to_decimal(bankroll, "bankroll")
    frac = Decimal(repr(float(fraction))) if isinstance(fraction, float) else fraction
    f_star = kelly_fraction(p_win, cost)
    if f_star <= 0 or bankroll <= 0 or cost <= 0 or frac <= 0:
        return 0
    return int((frac * f_star * bankroll / cost).to_integral_value(rounding=ROUND_FLOOR))


# -- limits and state ------------------------------------------------------------------------------


class RiskLimits(BaseModel):
    """Risk limits for the trading loop (dollars are Decimal).

    No defaults here: the configured values come from ``weather_trader.settings``, the one
    place that defines them.

    Attributes:
        max_order_cost: Largest cost + fee of one order.
        max_event_exposure: Largest money at risk in one event (cost + fee of held contracts).
        max_total_exposure: Largest money at risk overall.
        daily_loss_limit: Trading halts once today's realised P&L is at or below minus this.
        kelly_fraction: Fractional-Kelly multiplier in (0, 1].
        min_edge: Smallest EV per contract (after fees) worth trading.
        kill_switch: When True nothing is traded.
        max_contracts_per_order: Largest count of one order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_cost: Decimal = Field(gt=0)
    max_event_exposure: Decimal = Field(ge=0)
    max_total_exposure: Decimal = Field(ge=0)
    daily_loss_limit: Decimal = Field(gt=0)
    kelly_fraction: float = Field(gt=0, le=1)
    min_edge: Decimal = Field(ge=0)
    kill_switch: bool
    max_contracts_per_order: int = Field(default=100, ge=1)


@dataclass(frozen=True)
class RiskState:
    """What we hold and have risked so far.

    Attributes:
        bankroll: Capital that Kelly sizing applies to (e.g. cash plus positions at cost).
        total_exposure: Money at risk across all open positions.
        event_exposure: Money at risk per event ticker.
        realised_pnl_today: Realised P&L of the current trading day.
        held: Contracts held per ``(market ticker, side)``.
    """

    bankroll: Decimal
    total_exposure: Decimal = ZERO
    event_exposure: Mapping[str, Decimal] = field(default_factory=dict)
    realised_pnl_today: Decimal = ZERO
    held: Mapping[tuple[str, Side], int] = field(default_factory=dict)

    def held_count(self, ticker: str, side: Side) -> int:
        """Contracts held on ``ticker``/``side`` (0 when none)."""
        return int(self.held.get((ticker, side), 0))

    def exposure_of(self, event_ticker: str) -> Decimal:
        """Money at risk in ``event_ticker`` (0 when none)."""
        return self.event_exposure.get(event_ticker, ZERO)


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One candidate trade and its verdict.

    Attributes:
        ticker: Market ticker.
        event_ticker: Event ticker.
        side: ``"yes"`` or ``"no"`` (what we would buy).
        p_model: Model probability that the bought side wins.
        price: Executable price of the side (YES ask, or NO ask = 1 - YES bid).
        ev_per_contract: EV per contract after the taker fee, for an order of ``count``
            contracts, or of the desired size (at least one) when nothing is bought; rounded
            to :data:`EV_QUANTUM`.
        edge: ``p_model - price``, before fees.
        count: Contracts to buy (0 unless taken).
        cost: ``count * price``.
        fee: Taker fee of the order.
        reason: ``"taken"`` or why not (see :data:`Reason`).
        target: Fractional-Kelly target position in contracts.
        held: Contracts already held on this ticker/side.
    """

    ticker: str
    event_ticker: str
    side: Side
    p_model: float
    price: Decimal
    ev_per_contract: Decimal
    edge: Decimal
    count: int
    cost: Decimal
    fee: Decimal
    reason: Reason
    target: int = 0
    held: int = 0

    @property
    def taken(self) -> bool:
        """Whether an order should be placed."""
        return self.reason == "taken"

    def record(self) -> dict[str, object]:
        """The stored fields (:data:`DECISION_RECORD_FIELDS`) by name."""
        return {f: getattr(self, f) for f in DECISION_RECORD_FIELDS}

    @classmethod
    def from_record(cls, values: Mapping[str, Any]) -> Decision:
        """The decision a stored record describes (``target`` and ``held`` are not stored)."""
        return cls(**{f: values[f] for f in DECISION_RECORD_FIELDS})

    @property
    def exposure(self) -> Decimal:
        """Money put at risk by this decision (cost + fee)."""
        return self.cost + self.fee

    @property
    def yes_book_price(self) -> Decimal:
        """The order's price on the YES book: ``price`` for YES, ``1 - price`` for NO."""
        return self.price if self.side == "yes" else ONE - self.price


DECISION_RECORD_FIELDS = (
    "event_ticker",
    "ticker",
    "side",
    "p_model",
    "price",
    "ev_per_contract",
    "edge",
    "count",
    "cost",
    "fee",
    "reason",
)
"""The fields of a :class:`Decision` that are stored with it: enough to send its order again."""


def _max_affordable(price: Decimal, budget: Decimal, n_max: int, fees: SeriesFees) -> int:
    """Largest ``n <= n_max`` with ``n * price + fee(n) <= budget``."""
    if budget <= 0 or n_max <= 0:
        return 0
    per = price + unit_fee_rate(price, fees)
    n = n_max if per <= 0 else min(n_max, int(budget / per))
    # Fee rounding adds at most a cent, so this walks back only a few steps.
    while n > 0 and n * price + fees.taker(n, price) > budget:
        n -= 1
    return n


@dataclass
class _Candidate:
    index: int
    quote: MarketQuote
    side: Side
    p_win: float
    price: Decimal
    edge: Decimal
    ev_large: Decimal


def decide_event(
    markets: Sequence[MarketQuote],
    probs: Sequence[float],
    state: RiskState,
    limits: RiskLimits,
    fees: SeriesFees = WEATHER_SERIES_FEES,
    stale_inputs: bool = False,
) -> list[Decision]:
    """Decide what to buy in one event: one row per market and side, taken or skipped.

    Order of checks: kill switch, stale inputs, daily loss limit, liquidity, edge (EV after
    the unrounded fee must be positive and at least ``min_edge``), Kelly target minus what is
    already held (``already_held`` / ``size_zero``), then caps that shrink the size before
    they skip it (``max_contracts_per_order``, book size, ``max_order_cost``, event and total
    exposure). Finally the EV is recomputed with the order's actual, rounded-up fee and must
    still meet ``min_edge``. Candidates are taken best EV first, and exposure accumulates as
    they are.

    Args:
        markets: The event's markets (several events are fine: caps are per event ticker).
        probs: Model P(YES) per market, aligned with ``markets``.
        state: Current bankroll, exposure, P&L and holdings (not modified).
        limits: Risk limits.
        fees: The series' fee parameters.
        stale_inputs: The forecast or book is too old to trade on: every candidate is skipped.

    Returns:
        ``2 * len(markets)`` decisions in input order: market 0 YES, market 0 NO, market 1 YES...

    Raises:
        TradingError: If ``probs`` is misaligned or holds a non-probability.
    """
    if len(markets) != len(probs):
        raise TradingError(f"{len(markets)} markets but {len(probs)} probabilities")
    candidates: list[_Candidate] = []
    for quote, p_yes in zip(markets, probs, strict=True):
        _prob(p_yes, f"probability of {quote.ticker}")
        for side in SIDES:
            p_win = float(p_yes) if side == "yes" else 1.0 - float(p_yes)
            price = quote.price(side)
            edge = _prob(p_win) - price
            ev_large = edge - unit_fee_rate(price, fees)
            candidates.append(
                _Candidate(len(candidates), quote, side, p_win, price, edge, ev_large)
            )

    def row(
        c: _Candidate,
        reason: Reason,
        count: int = 0,
        size_for_ev: int = 1,
        target: int = 0,
        held: int = 0,
    ) -> Decision:
        n_ev = count if count > 0 else max(size_for_ev, 1)
        fee = fees.taker(count, c.price) if count > 0 else Decimal("0.00")
        return Decision(
            ticker=c.quote.ticker,
            event_ticker=c.quote.event_ticker,
            side=c.side,
            p_model=c.p_win,
            price=c.price,
            ev_per_contract=expected_value_per_contract(c.p_win, c.price, n_ev, fees).quantize(
                EV_QUANTUM
            ),
            edge=c.edge,
            count=count,
            cost=count * c.price,
            fee=fee,
            reason=reason,
            target=target,
            held=held,
        )

    halt: Reason | None = None
    if limits.kill_switch:
        halt = "kill_switch"
    elif stale_inputs:
        halt = "stale_inputs"
    elif state.realised_pnl_today <= -limits.daily_loss_limit:
        halt = "daily_loss_limit"
    if halt is not None:
        return [row(c, halt) for c in candidates]

    decided: dict[int, Decision] = {}
    event_exposure = dict(state.event_exposure)
    total_exposure = state.total_exposure
    # Best large-order EV first; ties keep input order so results are deterministic.
    for c in sorted(candidates, key=lambda c: (-c.ev_large, c.index)):
        held = state.held_count(c.quote.ticker, c.side)
        available = c.quote.size(c.side)
        if c.price >= ONE or c.price <= ZERO or available < 1:
            decided[c.index] = row(c, "no_liquidity", held=held)
            continue
        if c.ev_large <= 0 or c.ev_large < limits.min_edge:
            decided[c.index] = row(c, "no_edge", held=held)
            continue
        cost_per = c.price + unit_fee_rate(c.price, fees)
        target = kelly_contracts(c.p_win, cost_per, state.bankroll, limits.kelly_fraction)
        want = target - held
        if want <= 0:
            reason: Reason = "already_held" if held > 0 and target > 0 else "size_zero"
            decided[c.index] = row(c, reason, target=target, held=held)
            continue
        n = min(want, limits.max_contracts_per_order, available)
        n = _max_affordable(c.price, limits.max_order_cost, n, fees)
        binding: Reason = "max_order_cost"
        if n > 0:
            room = limits.max_event_exposure - event_exposure.get(c.quote.event_ticker, ZERO)
            n = _max_affordable(c.price, room, n, fees)
            binding = "event_exposure"
        if n > 0:
            n = _max_affordable(c.price, limits.max_total_exposure - total_exposure, n, fees)
            binding = "total_exposure"
        if n == 0:
            decided[c.index] = row(c, binding, size_for_ev=want, target=target, held=held)
            continue
        ev = expected_value_per_contract(c.p_win, c.price, n, fees)
        if ev <= 0 or ev < limits.min_edge:
            # The order's rounded-up fee eats the edge at this size.
            decided[c.index] = row(c, "no_edge", size_for_ev=n, target=target, held=held)
            continue
        taken = row(c, "taken", count=n, target=target, held=held)
        decided[c.index] = taken
        event_exposure[c.quote.event_ticker] = (
            event_exposure.get(c.quote.event_ticker, ZERO) + taken.exposure
        )
        total_exposure += taken.exposure
    return [decided[i] for i in range(len(candidates))]


@dataclass(frozen=True)
class Lot:
    """Contracts bought at one time: a fill, or a taken decision a replay has not executed yet.

    Attributes:
        ticker: Market ticker.
        event_ticker: Event ticker.
        side: The side bought.
        count: Contracts bought.
        exposure: Money put at risk: cost plus fee.
        bought_at: When they were bought.
        settles_at: When the market settled (or is expected to); None while unknown.
        pnl: Realised P&L once settled (payout - cost - fee); None before.
    """

    ticker: str
    event_ticker: str
    side: Side
    count: int
    exposure: Decimal
    bought_at: datetime
    settles_at: datetime | None = None
    pnl: Decimal | None = None

    def open_at(self, moment: datetime) -> bool:
        """Whether the contracts were held, unsettled, at ``moment``."""
        return self.bought_at <= moment and (self.settles_at is None or self.settles_at > moment)


def risk_state_at(bankroll: Decimal, lots: Iterable[Lot], as_of: datetime) -> RiskState:
    """The risk state as it was at ``as_of``: the same rule for live trading and for replays.

    Lots bought by ``as_of`` and not settled by then are open exposure and holdings; the P&L of
    lots settled on ``as_of``'s UTC day, up to ``as_of``, is today's realised P&L. A replay of
    past days therefore sees the positions it would really have held, not today's.
    """
    exposure: dict[str, Decimal] = {}
    held: dict[tuple[str, Side], int] = {}
    realised = ZERO
    today = as_of.astimezone(UTC).date()
    for lot in lots:
        if lot.open_at(as_of):
            exposure[lot.event_ticker] = exposure.get(lot.event_ticker, ZERO) + lot.exposure
            held[(lot.ticker, lot.side)] = held.get((lot.ticker, lot.side), 0) + lot.count
        elif (
            lot.pnl is not None
            and lot.settles_at is not None
            and lot.settles_at <= as_of
            and lot.settles_at.astimezone(UTC).date() == today
        ):
            realised += lot.pnl
    return RiskState(
        bankroll=bankroll,
        total_exposure=sum(exposure.values(), ZERO),
        event_exposure=exposure,
        realised_pnl_today=realised,
        held=held,
    )


def lots_before(lots: Iterable[Lot], event_tickers: Collection[str], as_of: datetime) -> list[Lot]:
    """The lots held when the events' decisions at ``as_of`` were made.

    A re-run decides as the first run did: those events' own lots bought at or after ``as_of``
    are the outcome of that decision, not positions held before it.
    """
    return [lot for lot in lots if lot.event_ticker not in event_tickers or lot.bought_at < as_of]


def lots_from_decisions(
    decisions: Sequence[Decision], bought_at: datetime, settles_at: datetime
) -> list[Lot]:
    """Lots for the taken decisions, as if they filled in full at ``bought_at``."""
    return [
        Lot(d.ticker, d.event_ticker, d.side, d.count, d.exposure, bought_at, settles_at)
        for d in decisions
        if d.taken
    ]


def client_order_id(
    partition_key: str,
    ticker: str,
    side: Side,
    as_of: datetime | str,
    version: str = DECISION_VERSION,
) -> str:
    """Deterministic client order id: the same decision always maps to the same id.

    Kalshi rejects duplicate ids, so re-running a partition cannot double-place an order.
    """
    stamp = as_of.isoformat() if isinstance(as_of, datetime) else as_of
    digest = hashlib.sha256(f"{partition_key}|{ticker}|{side}|{version}|{stamp}".encode())
    return "wt-" + digest.hexdigest()[:32]


def order_from_decision(
    decision: Decision,
    partition_key: str,
    as_of: datetime | str,
    version: str = DECISION_VERSION,
    time_in_force: TimeInForce = "immediate_or_cancel",
) -> OrderRequest:
    """Turn a taken decision into a V2 order on the YES book.

    Buy YES at p -> ``side="bid"`` at p; buy NO at p -> ``side="ask"`` at YES price 1 - p.

    Raises:
        TradingError: If the decision was not taken.
    """
    if not decision.taken:
        raise TradingError(f"decision on {decision.ticker} {decision.side} was not taken")
    return OrderRequest(
        client_order_id=client_order_id(
            partition_key, decision.ticker, decision.side, as_of, version
        ),
        ticker=decision.ticker,
        side="bid" if decision.side == "yes" else "ask",
        count=decision.count,
        price=decision.yes_book_price,
        time_in_force=time_in_force,
    )


def market_probabilities(traded: Sequence[float], mids: Sequence[float]) -> list[float]:
    """The market's probability of each bracket of one event, normalised to sum to 1.

    Each bracket's price is its traded price where it has one (the hour's volume-weighted
    trades before the decision, else its last trade; NaN when it never traded), else the
    book's mid. NaN for every bracket when the prices sum to nothing.

    Raises:
        TradingError: If the sequences differ in length.
    """
    if len(traded) != len(mids):
        raise TradingError(f"{len(traded)} traded prices but {len(mids)} mids")
    prices = [t if math.isfinite(t) else float(m) for t, m in zip(traded, mids, strict=True)]
    total = sum(prices)
    if not (math.isfinite(total) and total > 0):
        return [math.nan] * len(prices)
    return [p / total for p in prices]

"""Trading strategies behind one small interface, found by name in a registry.

A strategy sees one event at one decision instant (:class:`StrategyContext`: our probabilities,
the market's, the book as known then, what we hold and the risk state) and returns the orders
it wants (:class:`OrderIntent`). The engine sends them; risk limits and halts are enforced again
there, so a strategy cannot exceed them. Add your own with :func:`register_strategy`::

    class Fade(BaseModel):           # its parameters (validated from config.strategy_params)
        margin: float = 0.1

    @register_strategy("fade", Fade)
    class FadeStrategy:
        def __init__(self, params: Fade) -> None: ...
        def decide(self, context: StrategyContext) -> list[OrderIntent]: ...

Built in:

- ``taker``: today's production rule, unchanged: ``core.trading.decide_event`` (EV after the
  taker fee at least ``min_edge``, fractional-Kelly target minus what is held, capped by the
  per-order, per-event and total exposure limits), bought at the ask.
- ``maker``: post-only quotes around our fair value ``p``: a YES bid at ``p - half_width`` and a
  NO bid at ``(1 - p) - half_width`` (rounded down to the cent), never better than one
  ``improve_cents`` above the current best bid of that side and never crossing the book; sized
  by fractional Kelly at the quoted price and the same limits. Requoted at every instant
  (orders expire at the next one) and cancelled at each weekly model refit.
- ``longshot``: sell overpriced tails through NO: buy NO on a tail bracket (the event's lowest
  or highest, or any bracket when ``tails_only`` is false) whose YES bid (the price we sell YES
  at) is at most ``max_yes_price`` and exceeds our probability by at least ``margin``; sized by
  ``decide_event`` on the NO side only.

Exits (any strategy, ``config.exit``): ``hold`` to settlement, or ``sell_back``
(:func:`exit_intents`): sell a held side as a taker when the price we can sell it at exceeds our
probability that it wins by ``exit_margin``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weather_trader.backtest.fills import CENT, ONE, ZERO, Action, Liquidity, Side
from weather_trader.core.fees import SeriesFees
from weather_trader.core.trading import (
    MarketQuote,
    RiskLimits,
    RiskState,
    decide_event,
    kelly_contracts,
)


class StrategyError(ValueError):
    """Raised for an unknown strategy name or invalid strategy parameters."""


@dataclass(frozen=True)
class MarketView:
    """One bracket market as a strategy sees it at a decision instant.

    Attributes:
        ticker: Market ticker.
        lo, hi: Inclusive YES integers of the bracket.
        is_tail: The event's lowest or highest bracket.
        p_yes: Our probability of YES (the configured predictor).
        p_market: The market's probability of YES (normalised traded prices), NaN if unknown.
        quote: The book as known at the instant: recorded, or assumed from the tape.
        recorded: True when ``quote`` was recorded, False when assumed from trades.
        held_yes, held_no: Contracts we hold.
    """

    ticker: str
    lo: int
    hi: int
    is_tail: bool
    p_yes: float
    p_market: float
    quote: MarketQuote
    recorded: bool
    held_yes: int = 0
    held_no: int = 0

    def held(self, side: Side) -> int:
        """Contracts held on ``side``."""
        return self.held_yes if side == "yes" else self.held_no


@dataclass(frozen=True)
class StrategyContext:
    """One event at one decision instant.

    Attributes:
        decided_at: The decision instant (UTC).
        instant: Its label (``"D-1 16:00"``).
        city, climate_date, event_ticker: The event.
        markets: Its markets with a probability (others are not shown).
        state: Risk state at the instant (positions, exposure, bankroll, today's P&L).
        limits: Risk limits, production's type (``kelly_fraction``, ``min_edge`` included).
        fees: The series' fees.
    """

    decided_at: pd.Timestamp
    instant: str
    city: str
    climate_date: date
    event_ticker: str
    markets: tuple[MarketView, ...]
    state: RiskState
    limits: RiskLimits
    fees: SeriesFees


@dataclass(frozen=True)
class OrderIntent:
    """An order a strategy wants sent.

    Attributes:
        ticker: Market ticker.
        action: ``buy`` or ``sell``.
        side: ``yes`` or ``no``.
        count: Contracts (>= 1).
        limit: Limit price of ``side`` in dollars.
        liquidity: ``taker`` or ``maker`` (post-only).
        p_yes: Our probability of YES behind it.
        reason: Free text for the order log.
    """

    ticker: str
    action: Action
    side: Side
    count: int
    limit: Decimal
    liquidity: Liquidity
    p_yes: float
    reason: str = ""


class Strategy(Protocol):
    """What the engine calls at each decision instant of each event."""

    def decide(self, context: StrategyContext) -> list[OrderIntent]:
        """The orders to send now (may be empty)."""
        ...


@dataclass
class _Entry:
    params: type[BaseModel]
    factory: Callable[[Any], Strategy]
    description: str = field(default="")


_REGISTRY: dict[str, _Entry] = {}


def register_strategy(
    name: str, params: type[BaseModel]
) -> Callable[[Callable[[Any], Strategy]], Callable[[Any], Strategy]]:
    """Class decorator: register a strategy built as ``factory(params_model_instance)``."""

    def wrap(factory: Callable[[Any], Strategy]) -> Callable[[Any], Strategy]:
        _REGISTRY[name] = _Entry(params, factory, (factory.__doc__ or "").strip().split("\n")[0])
        return factory

    return wrap


def strategy_names() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_REGISTRY)


def strategy_params_model(name: str) -> type[BaseModel]:
    """The parameter model of strategy ``name``.

    Raises:
        StrategyError: For an unknown name.
    """
    if name not in _REGISTRY:
        raise StrategyError(f"unknown strategy {name!r}; registered: {strategy_names()}")
    return _REGISTRY[name].params


def make_strategy(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """Build strategy ``name`` with validated ``params``.

    Raises:
        StrategyError: For an unknown name or invalid parameters (the message says which).
    """
    model = strategy_params_model(name)
    try:
        validated = model.model_validate(params or {})
    except ValidationError as exc:
        raise StrategyError(f"invalid parameters for strategy {name!r}: {exc}") from None
    return _REGISTRY[name].factory(validated)


# -- taker ---------------------------------------------------------------------------------------


class TakerParams(BaseModel):
    """The production rule has no parameters of its own (``min_edge``, Kelly: the config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _taken_intents(
    context: StrategyContext,
    markets: Sequence[MarketView],
    quotes: Sequence[MarketQuote],
    reason: str,
) -> list[OrderIntent]:
    decisions = decide_event(
        list(quotes), [m.p_yes for m in markets], context.state, context.limits, context.fees
    )
    by_ticker = {m.ticker: m for m in markets}
    return [
        OrderIntent(
            d.ticker, "buy", d.side, d.count, d.price, "taker", by_ticker[d.ticker].p_yes, reason
        )
        for d in decisions
        if d.taken
    ]


@register_strategy("taker", TakerParams)
class TakerStrategy:
    """Production's EV-after-fees taker rule (``core.trading.decide_event``)."""

    def __init__(self, params: TakerParams) -> None:
        self.params = params

    def decide(self, context: StrategyContext) -> list[OrderIntent]:
        """Buy at the ask what ``decide_event`` takes."""
        markets = context.markets
        return _taken_intents(context, markets, [m.quote for m in markets], "ev_after_fees")


# -- longshot ------------------------------------------------------------------------------------


class LongshotParams(BaseModel):
    """Parameters of :class:`LongshotStrategy`.

    Attributes:
        margin: YES bid minus our probability of YES needed (dollars, before fees).
        max_yes_price: Only brackets whose YES bid is at most this are tails worth selling.
        tails_only: Only the event's lowest and highest brackets (else any cheap bracket).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    margin: float = Field(default=0.05, ge=0, le=1)
    max_yes_price: float = Field(default=0.25, gt=0, le=1)
    tails_only: bool = True


@register_strategy("longshot", LongshotParams)
class LongshotStrategy:
    """Sell overpriced tails: buy NO where the YES price exceeds our probability by a margin."""

    def __init__(self, params: LongshotParams) -> None:
        self.params = params

    def decide(self, context: StrategyContext) -> list[OrderIntent]:
        """Size the qualifying NO buys with ``decide_event`` (YES side not offered to it)."""
        p = self.params
        chosen = [
            m
            for m in context.markets
            if (m.is_tail or not p.tails_only)
            and ZERO < m.quote.yes_bid <= Decimal(repr(p.max_yes_price))
            and float(m.quote.yes_bid) - m.p_yes >= p.margin
        ]
        if not chosen:
            return []
        # No YES liquidity: decide_event can only buy NO here.
        quotes = [replace(m.quote, yes_ask=ONE, yes_ask_size=ZERO) for m in chosen]
        return _taken_intents(context, chosen, quotes, "overpriced_tail")


# -- maker ---------------------------------------------------------------------------------------


class MakerParams(BaseModel):
    """Parameters of :class:`MakerStrategy`.

    Attributes:
        half_width: Distance of each quote below our fair value of its side (dollars).
        improve_cents: Never bid more than this above the current best bid of the side.
        min_price, max_price: Only quote sides whose bid would lie within these prices.
        sides: Which sides to quote.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    half_width: float = Field(default=0.04, ge=0, lt=0.5)
    improve_cents: int = Field(default=1, ge=0, le=99)
    min_price: float = Field(default=0.03, gt=0, lt=1)
    max_price: float = Field(default=0.97, gt=0, lt=1)
    sides: tuple[Side, ...] = ("yes", "no")


def floor_cent(value: Decimal) -> Decimal:
    """Round down to the cent."""
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def maker_count(
    p_win: float, price: Decimal, held: int, state: RiskState, limits: RiskLimits, fees: SeriesFees
) -> int:
    """Fractional-Kelly target at ``price`` (maker fee included) minus what is held, capped by
    the per-order count and cost limits (exposure limits are applied by the engine)."""
    per_fee = fees.maker(limits.max_contracts_per_order, price) / limits.max_contracts_per_order
    cost = price + per_fee
    target = kelly_contracts(p_win, cost, state.bankroll, limits.kelly_fraction)
    n = min(target - held, limits.max_contracts_per_order)
    while n > 0 and n * price + fees.maker(n, price) > limits.max_order_cost:
        n -= 1
    return max(n, 0)


@register_strategy("maker", MakerParams)
class MakerStrategy:
    """Post-only quotes around our fair value, requoted at each instant."""

    def __init__(self, params: MakerParams) -> None:
        self.params = params

    def _bid(self, fair: Decimal, best_bid: Decimal, best_ask: Decimal) -> Decimal | None:
        p = self.params
        price = floor_cent(fair - Decimal(repr(p.half_width)))
        if best_bid > 0:
            price = min(price, best_bid + CENT * p.improve_cents)
        if best_ask < ONE:
            price = min(price, best_ask - CENT)  # post-only: never cross
        lo, hi = Decimal(repr(p.min_price)), Decimal(repr(p.max_price))
        return price if lo <= price <= hi else None

    def decide(self, context: StrategyContext) -> list[OrderIntent]:
        """A bid per side whose Kelly size at the quoted price is positive and edge sufficient."""
        out: list[OrderIntent] = []
        for m in context.markets:
            q = m.quote
            books = {
                "yes": (q.yes_bid, q.yes_ask),  # best YES bid / ask
                "no": (ONE - q.yes_ask if q.yes_ask < ONE else ZERO, ONE - q.yes_bid),
            }
            for side in self.params.sides:
                # Exact decimal fair value of the side (1 - p in floats is off by an ulp).
                p_yes = Decimal(repr(m.p_yes))
                fair = p_yes if side == "yes" else ONE - p_yes
                price = self._bid(fair, *books[side])
                if price is None:
                    continue
                unit_fee = context.fees.maker(100, price) / 100
                if fair - price - unit_fee < max(context.limits.min_edge, CENT):
                    continue
                n = maker_count(
                    float(fair), price, m.held(side), context.state, context.limits, context.fees
                )
                if n > 0:
                    out.append(
                        OrderIntent(
                            m.ticker, "buy", side, n, price, "maker", m.p_yes, "quote_around_fair"
                        )
                    )
        return out


# -- exits ---------------------------------------------------------------------------------------


def exit_intents(context: StrategyContext, margin: Decimal) -> list[OrderIntent]:
    """Sell back what we hold where the market pays ``margin`` more than our fair value.

    The price we can sell YES at is the YES bid; NO, ``1 - YES ask``. Sold as a taker at that
    price, the whole holding.
    """
    out = []
    for m in context.markets:
        q = m.quote
        for side, bid, size in (
            ("yes", q.yes_bid, q.yes_bid_size),
            ("no", ONE - q.yes_ask, q.yes_ask_size),
        ):
            held = m.held(side)  # type: ignore[arg-type]
            fair = m.p_yes if side == "yes" else 1.0 - m.p_yes
            if held <= 0 or bid <= 0 or size <= 0:
                continue
            if bid - Decimal(repr(fair)) >= margin:
                out.append(
                    OrderIntent(
                        m.ticker,
                        "sell",
                        side,
                        held,
                        bid,
                        "taker",
                        m.p_yes,
                        "market_crossed_fair_value",
                    )
                )  # type: ignore[arg-type]
    return out

"""Read-only queries behind the dashboard pages (markets, trades, post-mortems, performance).

Every function is blocking and takes an open :class:`~sqlalchemy.orm.Session`; the page routes
call them through a thread pool. Nothing here writes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weather_trader.core.cities import KINDS
from weather_trader.core.skill import calibration_table
from weather_trader.store import repo
from weather_trader.store.models import (
    BookSnapshotRow,
    BracketProbabilityRow,
    DecisionRow,
    DistributionRow,
    EventRow,
    FillRow,
    MarketRow,
    OrderRow,
    SettlementRow,
)
from weather_trader.store.repo_scores import EventScore
from weather_trader.store.schemas import DecisionRecord, DistributionRecord, PositionRecord

ZERO = Decimal("0")
STALE_AFTER = {
    "forecasts": timedelta(hours=6),
    "observations": timedelta(hours=2),
    "markets": timedelta(minutes=15),
    "distributions": timedelta(hours=6),
}
"""Age past which a data product is highlighted as stale on the overview (the live pipeline
refreshes forecasts every 3 h and books continuously); other products have no freshness
expectation (orders and settlements happen when they happen)."""
ALERT_TOPICS = ("reconciliation", "halt", "error", "kill_switch")
"""Outbox topics shown as alerts on the overview and in the log page."""
CALIBRATION_BINS = 10


def bracket_label(strike_type: str, floor: int | None, cap: int | None) -> str:
    """A bracket as a reader says it: ``73-74``, ``<70``, ``>81`` (degrees F, inclusive)."""
    if strike_type == "between":
        return f"{floor}-{cap}"
    if strike_type == "less":
        return f"<{cap}"
    return f">{floor}"


def _bracket_order(strike_type: str, floor: int | None, cap: int | None) -> float:
    if strike_type == "less":
        return -math.inf
    return float(floor if floor is not None else math.inf)


# --- overview extras -------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkedPosition:
    """An open position valued at the latest recorded mid (mark-to-market)."""

    position: PositionRecord
    mark: Decimal | None
    """Dollars per contract of the held outcome at the latest mid; None without a book."""
    value: Decimal | None
    unrealised: Decimal | None
    """``value - cost - fees``; None without a book."""


def marked_positions(session: Session, positions: list[PositionRecord]) -> list[MarkedPosition]:
    """Value each open position at its market's latest recorded mid (YES; 1 - mid for NO)."""
    tickers = {p.ticker for p in positions}
    latest = (
        select(BookSnapshotRow.ticker, func.max(BookSnapshotRow.captured_at).label("at"))
        .where(BookSnapshotRow.ticker.in_(tickers))
        .group_by(BookSnapshotRow.ticker)
        .subquery()
    )
    mids = {
        ticker: (bid + ask) / 2
        for ticker, bid, ask in session.execute(
            select(BookSnapshotRow.ticker, BookSnapshotRow.yes_bid, BookSnapshotRow.yes_ask).join(
                latest,
                (latest.c.ticker == BookSnapshotRow.ticker)
                & (latest.c.at == BookSnapshotRow.captured_at),
            )
        )
    }
    out = []
    for p in positions:
        mid = mids.get(p.ticker)
        if mid is None:
            out.append(MarkedPosition(p, None, None, None))
            continue
        mark = mid if p.outcome_side == "yes" else Decimal(1) - mid
        value = (mark * p.count).quantize(Decimal("0.0001"))
        out.append(MarkedPosition(p, mark, value, value - p.cost - p.fees))
    return out


def stale_products(ages: dict[str, float | None]) -> set[str]:
    """The products (of :data:`STALE_AFTER`) older than their limit or never seen."""
    return {
        product
        for product, limit in STALE_AFTER.items()
        if product in ages and (ages[product] is None or ages[product] > limit.total_seconds())
    }


@dataclass(frozen=True)
class Alert:
    """Something the trader should look at: an outbox event of an alert topic, or a rule."""

    at: datetime | None
    topic: str
    text: str
    city: str | None = None


def recent_alerts(session: Session, limit: int = 20) -> list[Alert]:
    """The latest outbox events of :data:`ALERT_TOPICS` and rejected orders, newest first."""
    events = session.scalars(
        select(EventRow)
        .where(EventRow.topic.in_(ALERT_TOPICS))
        .order_by(EventRow.id.desc())
        .limit(limit)
    )
    alerts = [
        Alert(
            e.created_at,
            e.topic,
            ", ".join(f"{k}={v}" for k, v in sorted(e.payload.items())),
            e.city,
        )
        for e in events
    ]
    rejected = session.scalars(
        select(OrderRow)
        .where(OrderRow.status.in_(("rejected", "error", "failed")))
        .order_by(OrderRow.created_at.desc())
        .limit(limit)
    )
    alerts += [
        Alert(o.created_at, "order_" + o.status, f"{o.ticker}: {o.reason or o.status}", o.city)
        for o in rejected
    ]
    return sorted(alerts, key=lambda a: a.at or datetime.min.replace(tzinfo=UTC), reverse=True)[
        :limit
    ]


# --- markets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BracketView:
    """One bracket of an event: our P(YES), the market's, the book, the edge and the result."""

    ticker: str
    label: str
    p_model: float | None
    p_market: float | None
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    result: str | None

    @property
    def edge(self) -> float | None:
        """Our P(YES) minus the market's mid."""
        if self.p_model is None or self.p_market is None:
            return None
        return self.p_model - self.p_market


@dataclass(frozen=True)
class SourceForecast:
    """The latest forecast of one source and model known at the view's instant (member mean)."""

    source: str
    model: str
    members: int
    value_f: float
    issued_at: datetime


@dataclass(frozen=True)
class KindView:
    """Everything known about one city-day's high or low."""

    kind: str
    distribution: DistributionRecord | None
    brackets: list[BracketView]
    forecasts: list[SourceForecast]
    decisions: list[DecisionRecord]
    observed: float | None
    """Running max (high) or min (low) of the observations so far."""
    final: int | None
    """The final climate report's value, once out."""


@dataclass(frozen=True)
class MarketView:
    """One city and climate day across both kinds."""

    city: str
    day: date
    kinds: list[KindView]
    observations: int
    last_observed_at: datetime | None


def market_days(session: Session, limit: int = 60) -> list[tuple[str, date]]:
    """City-days that have a distribution or markets, latest day first."""
    rows = session.execute(
        select(DistributionRow.city, DistributionRow.climate_date)
        .union(select(MarketRow.city, MarketRow.climate_date))
        .order_by(DistributionRow.climate_date.desc(), DistributionRow.city)
        .limit(limit)
    ).all()
    return [(city, day) for city, day in rows]


def _brackets(session: Session, city: str, day: date, kind: str) -> list[BracketView]:
    probs = {
        r.ticker: r
        for r in session.scalars(
            select(BracketProbabilityRow).where(
                BracketProbabilityRow.city == city,
                BracketProbabilityRow.climate_date == day,
                BracketProbabilityRow.kind == kind,
            )
        )
    }
    markets = session.scalars(
        select(MarketRow).where(
            MarketRow.city == city, MarketRow.climate_date == day, MarketRow.kind == kind
        )
    ).all()
    markets = sorted(
        markets, key=lambda m: _bracket_order(m.strike_type, m.floor_strike, m.cap_strike)
    )
    out = []
    for m in markets:
        p = probs.get(m.ticker)
        out.append(
            BracketView(
                ticker=m.ticker,
                label=bracket_label(m.strike_type, m.floor_strike, m.cap_strike),
                p_model=None if p is None else p.p_model,
                p_market=None if p is None or p.p_market is None else p.p_market,
                yes_bid=None if p is None else p.yes_bid,
                yes_ask=None if p is None else p.yes_ask,
                result=m.result,
            )
        )
    return out


def _source_forecasts(session: Session, city: str, day: date, as_of: datetime) -> dict[str, list]:
    df = repo.forecasts_as_of(session, city, day, as_of)
    out: dict[str, list[SourceForecast]] = {k: [] for k in KINDS}
    if df.empty:
        return out
    for (kind, source, model), g in df.groupby(["kind", "source", "model"], sort=True):
        out[str(kind)].append(
            SourceForecast(
                source=str(source),
                model=str(model),
                members=len(g),
                value_f=float(g["value_f"].mean()),
                issued_at=g["issued_at"].max().to_pydatetime(),
            )
        )
    return out


def market_view(session: Session, city: str, day: date, now: datetime) -> MarketView:
    """Our distribution next to the market, the forecasts, observations and decisions.

    Forecasts are those known at the distribution's ``as_of`` (what the decision saw), or at
    ``now`` when there is no distribution yet.
    """
    observations = repo.observations_for(session, city, day)
    temps = [o.temp_f for o in observations]
    final = repo.final_report(session, city, day)
    decisions = [
        DecisionRecord.model_validate(r, from_attributes=True)
        for r in session.scalars(
            select(DecisionRow).where(DecisionRow.city == city, DecisionRow.climate_date == day)
        )
    ]
    kinds = []
    for kind in KINDS:
        dist = repo.distribution_for(session, city, day, kind)
        forecasts = _source_forecasts(session, city, day, dist.as_of if dist else now)
        kinds.append(
            KindView(
                kind=kind,
                distribution=dist,
                brackets=_brackets(session, city, day, kind),
                forecasts=forecasts[kind],
                decisions=sorted(
                    (d for d in decisions if d.kind == kind),
                    key=lambda d: (not d.taken, -d.edge),
                ),
                observed=(max(temps) if kind == "high" else min(temps)) if temps else None,
                final=None if final is None else final.value(kind),
            )
        )
    return MarketView(
        city=city,
        day=day,
        kinds=kinds,
        observations=len(observations),
        last_observed_at=max((o.observed_at for o in observations), default=None),
    )


# --- trades and post-mortems -----------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    """One order with what filled and the fees paid."""

    client_order_id: str
    ticker: str
    outcome_side: str
    count: int
    price: Decimal
    status: str
    filled_count: int
    fees: Decimal
    created_at: datetime
    reason: str


@dataclass
class EventTrades:
    """The orders and settlements of one event (city, day, high or low)."""

    city: str
    day: date
    kind: str
    orders: list[OrderView] = field(default_factory=list)
    settled: bool = False
    pnl: Decimal = ZERO
    fees: Decimal = ZERO
    payout: Decimal = ZERO


def trades(
    session: Session,
    *,
    city: str | None = None,
    start: date | None = None,
    end: date | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[EventTrades]:
    """Orders grouped by event, latest day first, filtered by city, day range and status."""
    fees = (
        select(FillRow.client_order_id, func.sum(FillRow.fee).label("fees"))
        .group_by(FillRow.client_order_id)
        .subquery()
    )
    stmt = select(OrderRow, fees.c.fees).outerjoin(
        fees, fees.c.client_order_id == OrderRow.client_order_id
    )
    if city:
        stmt = stmt.where(OrderRow.city == city)
    if start:
        stmt = stmt.where(OrderRow.climate_date >= start)
    if end:
        stmt = stmt.where(OrderRow.climate_date <= end)
    if status:
        stmt = stmt.where(OrderRow.status == status)
    stmt = stmt.order_by(OrderRow.climate_date.desc(), OrderRow.created_at.desc()).limit(limit)
    groups: dict[tuple[str, date, str], EventTrades] = {}
    for o, fee in session.execute(stmt):
        key = (o.city, o.climate_date, o.kind)
        group = groups.setdefault(key, EventTrades(*key))
        group.orders.append(
            OrderView(
                o.client_order_id, o.ticker, o.outcome_side, o.count, o.price, o.status,
                o.filled_count, Decimal(fee or 0), o.created_at, o.reason,
            )
        )  # fmt: skip
    if groups:
        for s in session.scalars(
            select(SettlementRow).where(
                SettlementRow.climate_date.in_({k[1] for k in groups}),
                SettlementRow.city.in_({k[0] for k in groups}),
            )
        ):
            group = groups.get((s.city, s.climate_date, s.kind))
            if group is not None:
                group.settled = True
                group.pnl += s.pnl
                group.fees += s.fees
                group.payout += s.payout
    return list(groups.values())


@dataclass(frozen=True)
class SourceError:
    """How far one source's forecast (known at decision time) was from the final value."""

    source: str
    model: str
    value_f: float
    error: float


@dataclass(frozen=True)
class PostMortem:
    """What we forecast for a settled event against what happened."""

    city: str
    day: date
    kind: str
    actual: int | None
    distribution: DistributionRecord | None
    winning_bracket: str | None
    p_model_winner: float | None
    p_market_winner: float | None
    sources: list[SourceError]
    """Closest first."""
    score: EventScore | None
    positions: list[PositionRecord]
    pnl: Decimal
    fees: Decimal


def post_mortem(session: Session, city: str, day: date, kind: str) -> PostMortem:
    """The post-mortem of one event: forecast vs actual, closest source, P&L and fees."""
    final = repo.final_report(session, city, day)
    actual = None if final is None else final.value(kind)  # type: ignore[arg-type]
    dist = repo.distribution_for(session, city, day, kind)  # type: ignore[arg-type]
    brackets = _brackets(session, city, day, kind)
    winner = next((b for b in brackets if b.result == "yes"), None)
    sources: list[SourceError] = []
    if actual is not None and dist is not None:
        sources = sorted(
            (
                SourceError(f.source, f.model, f.value_f, f.value_f - actual)
                for f in _source_forecasts(session, city, day, dist.as_of)[kind]
            ),
            key=lambda s: abs(s.error),
        )
    score = next((s for s in repo.event_scores(session, city, day) if s.kind == kind), None)
    positions = [p for p in repo.positions_for(session, city=city, day=day) if p.kind == kind]
    settlements = session.scalars(
        select(SettlementRow).where(
            SettlementRow.city == city,
            SettlementRow.climate_date == day,
            SettlementRow.kind == kind,
        )
    ).all()
    return PostMortem(
        city=city,
        day=day,
        kind=kind,
        actual=actual,
        distribution=dist,
        winning_bracket=None if winner is None else winner.label,
        p_model_winner=None if winner is None else winner.p_model,
        p_market_winner=None if winner is None else winner.p_market,
        sources=sources,
        score=score,
        positions=positions,
        pnl=sum((s.pnl for s in settlements), ZERO),
        fees=sum((s.fees for s in settlements), ZERO),
    )


# --- performance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EquityPoint:
    """Bankroll plus settled P&L after one climate day's settlements, and the drawdown."""

    day: date
    equity: Decimal
    drawdown: Decimal


@dataclass(frozen=True)
class CalibrationBin:
    """Settled brackets whose probability fell in ``[lo, hi)``: mean forecast vs frequency."""

    lo: float
    hi: float
    n: int
    mean_p: float
    frequency: float


@dataclass(frozen=True)
class Performance:
    """Everything on the performance page."""

    equity: list[EquityPoint]
    pnl_by_city: dict[str, Decimal]
    calibration_model: list[CalibrationBin]
    calibration_market: list[CalibrationBin]
    briers: list[tuple[date, float, float, int]]
    """Per climate day: mean event Brier of our model, of the market, and events scored."""


def equity_curve(session: Session, bankroll: Decimal) -> list[EquityPoint]:
    """Bankroll plus cumulative settled P&L by climate day, with the drawdown from the peak."""
    rows = session.execute(
        select(SettlementRow.climate_date, func.sum(SettlementRow.pnl))
        .group_by(SettlementRow.climate_date)
        .order_by(SettlementRow.climate_date)
    ).all()
    out, equity, peak = [], bankroll, bankroll
    for day, pnl in rows:
        equity += Decimal(pnl)
        peak = max(peak, equity)
        out.append(EquityPoint(day, equity, equity - peak))
    return out


def calibration(pairs: list[tuple[float, bool]], bins: int = CALIBRATION_BINS) -> list:
    """Reliability bins of ``(probability, happened)`` pairs; empty bins are left out."""
    p = np.array([float(x) for x, _ in pairs], dtype=float)
    y = np.array([float(h) for _, h in pairs], dtype=float)
    return [
        CalibrationBin(r["p_from"], r["p_to"], r["n"], r["mean_p"], r["observed"])
        for r in calibration_table(p, y, bins)
    ]


def performance(session: Session, bankroll: Decimal, max_days: int = 120) -> Performance:
    """Equity and drawdown, P&L per city, reliability of our and the market's probabilities,
    and the daily mean event Brier of both over the latest ``max_days`` settled days."""
    pnl_by_city = {
        city: Decimal(pnl)
        for city, pnl in session.execute(
            select(SettlementRow.city, func.sum(SettlementRow.pnl))
            .group_by(SettlementRow.city)
            .order_by(SettlementRow.city)
        )
    }
    settled = session.execute(
        select(BracketProbabilityRow.p_model, BracketProbabilityRow.p_market, MarketRow.result)
        .join(MarketRow, MarketRow.ticker == BracketProbabilityRow.ticker)
        .where(MarketRow.result.in_(("yes", "no")))
    ).all()
    model = calibration([(p, r == "yes") for p, _, r in settled])
    market = calibration([(q, r == "yes") for _, q, r in settled if q is not None])
    days = session.execute(
        select(MarketRow.city, MarketRow.climate_date)
        .where(MarketRow.result.in_(("yes", "no")))
        .distinct()
        .order_by(MarketRow.climate_date.desc())
    ).all()
    by_day: dict[date, list[EventScore]] = defaultdict(list)
    for city, day in days:
        if len(by_day) >= max_days and day not in by_day:
            break
        by_day[day] += repo.event_scores(session, city, day)
    briers = []
    for day in sorted(by_day):
        brier_model, brier_market = repo.mean_briers(by_day[day])
        if brier_model is not None and brier_market is not None:
            briers.append((day, brier_model, brier_market, len(by_day[day])))
    return Performance(
        equity=equity_curve(session, bankroll),
        pnl_by_city=pnl_by_city,
        calibration_model=model,
        calibration_market=market,
        briers=briers,
    )


def decision_count(session: Session) -> int:
    """Stored decisions (the Performance page says how much the plots rest on)."""
    return session.scalar(select(func.count()).select_from(DecisionRow)) or 0

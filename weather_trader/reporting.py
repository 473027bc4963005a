"""Scores and summaries computed from the domain database (used by assets, demo and API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from weather_trader.core.cities import KINDS, Kind
from weather_trader.core.scoring import event_brier
from weather_trader.store import repo


@dataclass(frozen=True)
class EventScore:
    """How well our bracket probabilities and the market's did on one settled event.

    ``brier_market`` uses the book mids normalised to sum to 1 (the raw mids carry the
    market's overround, which would penalise it for its spread rather than its forecast).
    """

    city: str
    climate_date: date
    kind: Kind
    settled_value: int
    brier_model: float
    brier_market: float


def event_scores(session: Session, city: str, day: date) -> list[EventScore]:
    """Scores of the city-day's events that have a final report and stored probabilities."""
    final = repo.final_report(session, city, day)
    if final is None:
        return []
    scores = []
    for kind in KINDS:
        value = final.value(kind)
        probs = repo.bracket_probabilities_for(session, city, day, kind)
        snapshots = {s.ticker: s for s in repo.market_snapshots(session, city, day, kind)}
        if value is None or probs.empty or set(probs["ticker"]) - set(snapshots):
            continue
        brackets = [snapshots[t].bracket for t in probs["ticker"]]
        yes_index = next(i for i, b in enumerate(brackets) if b.settles_yes(value))
        market = probs["p_market"].to_numpy(dtype=float)
        scores.append(
            EventScore(
                city=city,
                climate_date=day,
                kind=kind,
                settled_value=value,
                brier_model=event_brier(probs["p_model"].tolist(), yes_index),
                brier_market=event_brier((market / market.sum()).tolist(), yes_index),
            )
        )
    return scores


@dataclass(frozen=True)
class CitySummary:
    """One city's trading and forecasting record over a set of climate days."""

    city: str
    days: int
    trades: int
    settled_positions: int
    winning_positions: int
    pnl: Decimal
    brier_model: float | None
    brier_market: float | None

    @property
    def hit_rate(self) -> float | None:
        """Share of settled positions that paid out."""
        return self.winning_positions / self.settled_positions if self.settled_positions else None


def city_summary(session: Session, city: str, days: list[date]) -> CitySummary:
    """Summarise ``city`` over ``days``: orders filled, hit rate, P&L and Brier scores."""
    orders = repo.orders_for(session, city=city)
    orders = orders[orders["climate_date"].isin(days) & (orders["filled_count"] > 0)]
    settled = [
        p for p in repo.positions_for(session, city=city) if p.settled and p.climate_date in days
    ]
    scores = [s for day in days for s in event_scores(session, city, day)]
    return CitySummary(
        city=city,
        days=len(days),
        trades=len(orders),
        settled_positions=len(settled),
        winning_positions=sum(1 for p in settled if p.realized_pnl > 0),
        pnl=sum((p.realized_pnl for p in settled), Decimal("0")),
        brier_model=sum(s.brier_model for s in scores) / len(scores) if scores else None,
        brier_market=sum(s.brier_market for s in scores) / len(scores) if scores else None,
    )

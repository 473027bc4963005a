"""Scores and summaries read from the domain database (the forecast scores asset, the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from weather_trader.core.cities import KINDS, Kind
from weather_trader.core.scoring import model_and_market_brier
from weather_trader.store.repo_markets import bracket_probabilities_for, market_snapshots
from weather_trader.store.repo_trading import orders_for, positions_for
from weather_trader.store.repo_weather import final_report


@dataclass(frozen=True)
class EventScore:
    """How well our bracket probabilities and the market's (normalised mids) did on one
    settled event; lower Brier is better."""

    city: str
    climate_date: date
    kind: Kind
    settled_value: int
    brier_model: float
    brier_market: float


def mean_briers(scores: Sequence[EventScore]) -> tuple[float | None, float | None]:
    """The mean Brier of our probabilities and of the market's over ``scores`` (None: none)."""
    if not scores:
        return None, None
    n = len(scores)
    return sum(s.brier_model for s in scores) / n, sum(s.brier_market for s in scores) / n


def event_scores(session: Session, city: str, day: date) -> list[EventScore]:
    """Scores of the city-day's events that have a final report and stored probabilities."""
    final = final_report(session, city, day)
    if final is None:
        return []
    scores = []
    for kind in KINDS:
        value = final.value(kind)
        probs = bracket_probabilities_for(session, city, day, kind)
        snapshots = {s.ticker: s for s in market_snapshots(session, city, day, kind)}
        if value is None or probs.empty or set(probs["ticker"]) - set(snapshots):
            continue
        brier_model, brier_market = model_and_market_brier(
            [snapshots[t].bracket for t in probs["ticker"]],
            probs["p_model"].tolist(),
            probs["p_market"].tolist(),
            value,
        )
        scores.append(EventScore(city, day, kind, value, brier_model, brier_market))
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
    orders = orders_for(session, city=city)
    orders = orders[orders["climate_date"].isin(days) & (orders["filled_count"] > 0)]
    settled = [p for p in positions_for(session, city=city) if p.settled and p.climate_date in days]
    brier_model, brier_market = mean_briers(
        [s for day in days for s in event_scores(session, city, day)]
    )
    return CitySummary(
        city=city,
        days=len(days),
        trades=len(orders),
        settled_positions=len(settled),
        winning_positions=sum(1 for p in settled if p.realized_pnl > 0),
        pnl=sum((p.realized_pnl for p in settled), Decimal("0")),
        brier_model=brier_model,
        brier_market=brier_market,
    )

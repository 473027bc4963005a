"""What the sidecar's metrics read of the domain database beyond freshness: weather fetches per
provider (from the stored raw payloads), orders, fills and exposure, the model's age and its
recent Brier next to the market's.

The pipeline's runs are short-lived processes with no endpoint to scrape, so their figures are
derived from what they stored: every weather response is kept in ``raw_payloads`` (identical
bodies once, so counts are lower bounds of the fetches), every order and fill in ``orders`` and
``fills``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from weather_trader.store.models import (
    ClimateReportRow,
    FillRow,
    ModelVersionRow,
    OrderRow,
    PositionRow,
    RawPayloadRow,
)
from weather_trader.store.repo_scores import event_scores, mean_briers

FAILED_STATUS = 400
"""A stored payload with an HTTP status at or above this is a failed fetch."""


@dataclass(frozen=True)
class ProviderFetches:
    """One weather provider's stored responses: all, failed, and the latest retrieval."""

    fetches: int
    failures: int
    latest: datetime | None


@dataclass(frozen=True)
class TradingCounts:
    """Orders by status, fills (and their contracts), and the cost of open positions."""

    orders: dict[str, int]
    fills: int
    filled_contracts: int
    open_exposure: Decimal


@dataclass(frozen=True)
class ModelStatus:
    """The latest model version and the recent Brier scores of ours and the market's."""

    version: str | None
    created_at: datetime | None
    brier_model: float | None
    brier_market: float | None
    events_scored: int


def weather_fetches(session: Session) -> dict[str, ProviderFetches]:
    """Stored weather responses per provider (``raw_payloads.source``)."""
    failed = case((RawPayloadRow.status >= FAILED_STATUS, 1), else_=0)
    rows = session.execute(
        select(
            RawPayloadRow.source,
            func.count(),
            func.coalesce(func.sum(failed), 0),
            func.max(RawPayloadRow.retrieved_at),
        ).group_by(RawPayloadRow.source)
    )
    return {
        source: ProviderFetches(int(count), int(failures), latest)
        for source, count, failures, latest in rows
    }


def trading_counts(session: Session) -> TradingCounts:
    """Orders by status, fills and open exposure (cost of unsettled non-zero positions)."""
    orders = {
        status: int(n)
        for status, n in session.execute(
            select(OrderRow.status, func.count()).group_by(OrderRow.status)
        )
    }
    fills, contracts = session.execute(
        select(func.count(), func.coalesce(func.sum(FillRow.count), 0))
    ).one()
    exposure = session.scalar(
        select(func.coalesce(func.sum(PositionRow.cost), 0)).where(
            PositionRow.count != 0, PositionRow.settled.is_(False)
        )
    )
    return TradingCounts(orders, int(fills), int(contracts), Decimal(str(exposure or 0)))


def model_status(
    session: Session, today: date, score_days: int = 14, *, scores: bool = True
) -> ModelStatus:
    """The newest model version, and the mean event Brier (ours, the market's) over the
    settled city-days of the last ``score_days`` days (skipped, as None, without ``scores``:
    scoring reads every settled event's probabilities and books)."""
    latest = session.scalars(
        select(ModelVersionRow).order_by(ModelVersionRow.created_at.desc()).limit(1)
    ).one_or_none()
    since = today - timedelta(days=score_days)
    days = (
        []
        if not scores
        else session.execute(
            select(ClimateReportRow.city, ClimateReportRow.climate_date)
            .where(ClimateReportRow.final.is_(True), ClimateReportRow.climate_date >= since)
            .distinct()
        ).all()
    )
    scored = [s for city, day in days for s in event_scores(session, city, day)]
    brier_model, brier_market = mean_briers(scored)
    return ModelStatus(
        version=latest.version if latest else None,
        created_at=latest.created_at if latest else None,
        brier_model=brier_model,
        brier_market=brier_market,
        events_scored=len(scored),
    )

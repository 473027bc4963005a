"""What the dashboard and the metrics read about the state of the data: how fresh each data
product is, the latest decisions, the outbox head."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from weather_trader.store.models import (
    BookSnapshot,
    ClimateReportRow,
    Decision,
    DistributionRow,
    Event,
    Forecast,
    ObservationRow,
    Order,
    Settlement,
)
from weather_trader.store.schemas import DecisionRecord, FreshnessRecord

FRESHNESS_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "forecasts": Forecast.retrieved_at,
    "observations": ObservationRow.observed_at,
    "climate_reports": ClimateReportRow.issued_at,
    "markets": BookSnapshot.captured_at,
    "distributions": DistributionRow.as_of,
    "decisions": Decision.as_of,
    "orders": Order.created_at,
    "settlements": Settlement.settled_at,
}
"""Data product -> the column whose latest value says how fresh it is (markets: book captures)."""


def data_freshness(session: Session) -> list[FreshnessRecord]:
    """Each data product's latest timestamp and row count."""
    out = []
    for product, column in FRESHNESS_COLUMNS.items():
        latest, rows = session.execute(select(func.max(column), func.count())).one()
        out.append(
            FreshnessRecord(
                product=product,
                column=f"{column.class_.__tablename__}.{column.key}",
                latest=latest,
                rows=int(rows),
            )
        )
    return out


def latest_decisions(session: Session, limit: int) -> list[DecisionRecord]:
    """The ``limit`` most recent trade decisions, taken or skipped, newest first."""
    rows = session.scalars(
        select(Decision).order_by(Decision.as_of.desc(), Decision.id.desc()).limit(limit)
    )
    return [DecisionRecord.model_validate(r, from_attributes=True) for r in rows]


def head_event_id(session: Session) -> int:
    """The latest event id in the outbox, 0 when it is empty."""
    return int(session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)

"""What the dashboard and the metrics read about the state of the data: how fresh each data
product is, the latest decisions, the outbox head."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from weather_trader.store.models import (
    BookSnapshotRow,
    ClimateReportRow,
    DecisionRow,
    DistributionRow,
    EventRow,
    ForecastRow,
    ObservationRow,
    OrderRow,
    SettlementRow,
)
from weather_trader.store.schemas import DecisionRecord, FreshnessRecord

FRESHNESS_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "forecasts": ForecastRow.retrieved_at,
    "observations": ObservationRow.observed_at,
    "climate_reports": ClimateReportRow.issued_at,
    "markets": BookSnapshotRow.captured_at,
    "distributions": DistributionRow.as_of,
    "decisions": DecisionRow.as_of,
    "orders": OrderRow.created_at,
    "settlements": SettlementRow.settled_at,
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
        select(DecisionRow).order_by(DecisionRow.as_of.desc(), DecisionRow.id.desc()).limit(limit)
    )
    return [DecisionRecord.model_validate(r, from_attributes=True) for r in rows]


def count_events(session: Session, topic: str) -> int:
    """How many outbox events of ``topic`` were ever written (the outbox is append-only)."""
    return int(session.scalar(select(func.count()).where(EventRow.topic == topic)) or 0)


def head_event_id(session: Session) -> int:
    """The latest event id in the outbox, 0 when it is empty."""
    return int(session.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0)

"""Read-only queries of the domain database behind the overview, the feed and the metrics.

Every function here is blocking; the routes call them through a thread pool.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.metrics import DomainSnapshot
from api.schemas import (
    DecisionOut,
    EventOut,
    FreshnessOut,
    OverviewOut,
    PnlOut,
    PositionOut,
)
from weather_trader.core.trading import risk_state_at
from weather_trader.store import repo
from weather_trader.store.db import session_scope
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

RECENT_EVENTS = 20


def _column_name(column: InstrumentedAttribute[Any]) -> str:
    """``table.column`` of a mapped attribute."""
    return f"{column.class_.__tablename__}.{column.key}"


def head_event_id(engine: Engine) -> int:
    """The latest event id in the outbox, 0 when it is empty."""
    with session_scope(engine) as session:
        return _head_event_id(session)


def _head_event_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)


def events_after(engine: Engine, last_id: int, limit: int) -> list[EventOut]:
    """Outbox events with id > ``last_id`` in id order, at most ``limit`` of them."""
    with session_scope(engine) as session:
        records = repo.events_after(session, last_id, limit)
    return [EventOut.model_validate(r.model_dump()) for r in records]


def _latest(session: Session) -> dict[str, tuple[datetime | None, int]]:
    """Per data product: its latest timestamp and row count."""
    out: dict[str, tuple[datetime | None, int]] = {}
    for product, column in FRESHNESS_COLUMNS.items():
        latest, rows = session.execute(select(func.max(column), func.count())).one()
        out[product] = (latest, int(rows))
    return out


def _pnl(session: Session, bankroll: Decimal, now: datetime) -> PnlOut:
    summary = repo.pnl_summary(session)
    total = sum(summary["pnl"], Decimal("0")) if len(summary) else Decimal("0")
    today = risk_state_at(bankroll, repo.position_lots(session), now).realised_pnl_today
    return PnlOut(today=today, total=total)


def overview(engine: Engine, bankroll: Decimal, now: datetime, decisions: int) -> OverviewOut:
    """Everything the overview page shows.

    Args:
        engine: The domain database.
        bankroll: The configured bankroll in dollars.
        now: The current time (aware UTC); "today" is its UTC date.
        decisions: How many latest decisions (taken or skipped) to include.
    """
    with session_scope(engine) as session:
        positions = [
            PositionOut.model_validate(p.model_dump())
            for p in repo.positions_for(session, open_only=True)
        ]
        latest_decisions = [
            DecisionOut.model_validate(d)
            for d in session.scalars(
                select(Decision)
                .order_by(Decision.as_of.desc(), Decision.id.desc())
                .limit(decisions)
            )
        ]
        freshness = [
            FreshnessOut(
                product=product,
                column=_column_name(FRESHNESS_COLUMNS[product]),
                latest=latest,
                age_seconds=None if latest is None else (now - latest).total_seconds(),
                rows=rows,
            )
            for product, (latest, rows) in _latest(session).items()
        ]
        pnl = _pnl(session, bankroll, now)
        head = _head_event_id(session)
        recent = repo.events_after(session, max(0, head - RECENT_EVENTS), RECENT_EVENTS)
    return OverviewOut(
        generated_at=now,
        bankroll=bankroll,
        open_exposure=sum((p.cost for p in positions), Decimal("0")),
        pnl=pnl,
        open_positions=positions,
        decisions=latest_decisions,
        freshness=freshness,
        last_event_id=head,
        recent_events=[EventOut.model_validate(r.model_dump()) for r in reversed(recent)],
    )


def domain_snapshot(
    engine: Engine, bankroll: Decimal, daily_loss_limit: Decimal, now: datetime
) -> DomainSnapshot:
    """The domain figures exported as Prometheus gauges.

    Args:
        engine: The domain database.
        bankroll: The configured bankroll in dollars.
        daily_loss_limit: The configured daily loss limit in dollars.
        now: The current time (aware UTC); "today" is its UTC date.
    """
    with session_scope(engine) as session:
        pnl = _pnl(session, bankroll, now)
        return DomainSnapshot(
            open_positions=len(repo.positions_for(session, open_only=True)),
            pnl_total=pnl.total,
            pnl_today=pnl.today,
            bankroll=bankroll,
            daily_loss_limit=daily_loss_limit,
            outbox_head_event_id=_head_event_id(session),
            latest={product: latest for product, (latest, _) in _latest(session).items()},
        )

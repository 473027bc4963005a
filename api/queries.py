"""Read-only queries of the domain database behind the overview, the feed and the metrics.

Every function here is blocking; the routes call them through a thread pool.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

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

RECENT_EVENTS = 20
MODEL_STATUS_TTL = 600.0
"""Seconds the model status (scores of 14 days of settled events) is reused across scrapes."""

_model_cache: dict[tuple[str, date], tuple[float, repo.ModelStatus]] = {}
_model_lock = threading.Lock()


def _model_status(session: Session, engine: Engine, today: date) -> repo.ModelStatus:
    """The latest model version (read on every scrape) with the Brier scores of 14 days of
    settled events, recomputed at most every ``MODEL_STATUS_TTL`` seconds per database:
    scoring every settled event on each 15 s scrape would load the database."""
    latest = repo.model_status(session, today, scores=False)
    key = (engine.url.render_as_string(hide_password=True), today)
    now = time.monotonic()
    with _model_lock:
        cached = _model_cache.get(key)
    if cached is None or now - cached[0] >= MODEL_STATUS_TTL:
        cached = (now, repo.model_status(session, today))
        with _model_lock:
            _model_cache.clear()  # one entry (database, day) is enough
            _model_cache[key] = cached
    scores = cached[1]
    return replace(
        latest,
        brier_model=scores.brier_model,
        brier_market=scores.brier_market,
        events_scored=scores.events_scored,
    )


def head_event_id(engine: Engine) -> int:
    """The latest event id in the outbox, 0 when it is empty."""
    with session_scope(engine) as session:
        return repo.head_event_id(session)


def events_after(engine: Engine, last_id: int, limit: int) -> list[EventOut]:
    """Outbox events with id > ``last_id`` in id order, at most ``limit`` of them."""
    with session_scope(engine) as session:
        records = repo.events_after(session, last_id, limit)
    return [EventOut.model_validate(r) for r in records]  # from attributes: no dict copy


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
            DecisionOut.model_validate(d.model_dump())
            for d in repo.latest_decisions(session, decisions)
        ]
        freshness = [
            FreshnessOut(
                **f.model_dump(),
                age_seconds=None if f.latest is None else (now - f.latest).total_seconds(),
            )
            for f in repo.data_freshness(session)
        ]
        pnl = _pnl(session, bankroll, now)
        head = repo.head_event_id(session)
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
            outbox_head_event_id=repo.head_event_id(session),
            reconciliation_mismatches=repo.count_events(session, "reconciliation"),
            latest={f.product: f.latest for f in repo.data_freshness(session)},
            weather=repo.weather_fetches(session),
            trading=repo.trading_counts(session),
            model=_model_status(session, engine, now.date()),
        )

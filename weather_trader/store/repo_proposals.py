"""Repository functions of the approval queue (``proposals``) and the manual-approval switch.

The rule (what may become an order, when a proposal expires) is ``core/approval.py``; this
module stores and reads. Every function works inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weather_trader.core.approval import (
    Proposal,
    ProposalError,
    ShownStatus,
    Verdict,
    check_verdict,
    proposal_expiry,
    shown_status,
)
from weather_trader.core.trading import Decision
from weather_trader.store import repo_settings
from weather_trader.store._util import aware
from weather_trader.store.models import OrderRow, ProposalRow
from weather_trader.store.repo_meta import append_event

MANUAL_APPROVAL_FIELD = "manual_approval"


class ProposalNotFoundError(LookupError):
    """No proposal has the id asked for."""


def manual_approval_on(session: Session) -> bool:
    """Whether the stored operator settings put trading in manual-approval mode (off unless
    someone switched it on: the environment has no default for it)."""
    return bool(repo_settings.stored_overrides(session).get(MANUAL_APPROVAL_FIELD, False))


@dataclass(frozen=True)
class NewProposal:
    """A taken decision to queue: where it trades, what it would send, and when it was made."""

    client_order_id: str
    city: str
    climate_date: date
    kind: str
    as_of: datetime
    decision: Decision


@dataclass(frozen=True)
class ProposalView:
    """A stored proposal as the queue shows it (``status`` includes expired and ordered)."""

    id: int
    client_order_id: str
    city: str
    climate_date: date
    kind: str
    as_of: datetime
    event_ticker: str
    ticker: str
    side: str
    p_model: float
    price: Decimal
    edge: float
    count: int
    cost: Decimal
    fee: Decimal
    reason: str
    created_at: datetime
    expires_at: datetime
    status: ShownStatus
    decided_by: str | None
    decided_at: datetime | None


def _core(row: ProposalRow) -> Proposal:
    return Proposal(row.client_order_id, row.status, row.expires_at)  # type: ignore[arg-type]


def add_proposals(session: Session, items: Iterable[NewProposal], now: datetime) -> int:
    """Queue proposals (pending) for decisions that have none; existing ids are left alone.

    Each expires :data:`~weather_trader.core.approval.PROPOSAL_TTL` after its decision
    instant, and each new one is announced on the outbox (topic ``proposal``).

    Returns:
        The number of proposals added.
    """
    items = list(items)
    known = set(
        session.scalars(
            select(ProposalRow.client_order_id).where(
                ProposalRow.client_order_id.in_({i.client_order_id for i in items})
            )
        )
    )
    added = 0
    for item in items:
        if item.client_order_id in known:
            continue
        known.add(item.client_order_id)
        d = item.decision
        as_of = aware(item.as_of, "as_of")
        session.add(
            ProposalRow(
                client_order_id=item.client_order_id, city=item.city,
                climate_date=item.climate_date, kind=item.kind, as_of=as_of,
                event_ticker=d.event_ticker, ticker=d.ticker, side=d.side,
                p_model=float(d.p_model), price=d.price, edge=float(d.edge), count=d.count,
                cost=d.cost, fee=d.fee, reason=d.reason, created_at=aware(now, "now"),
                expires_at=proposal_expiry(as_of), status="pending",
            )
        )  # fmt: skip
        append_event(
            session,
            "proposal",
            {"client_order_id": item.client_order_id, "ticker": d.ticker, "side": d.side,
             "count": d.count, "status": "pending"},
            city=item.city,
            climate_date=item.climate_date,
            key=(item.client_order_id, "pending"),
        )  # fmt: skip
        added += 1
    session.flush()
    return added


def proposals_for(session: Session, client_order_ids: Iterable[str]) -> list[Proposal]:
    """The stored proposals of these client order ids (as the core rule reads them)."""
    ids = set(client_order_ids)
    if not ids:
        return []
    rows = session.scalars(select(ProposalRow).where(ProposalRow.client_order_id.in_(ids)))
    return [_core(r) for r in rows]


def _ordered(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of these client order ids have an order that left ``pending``."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(OrderRow.client_order_id).where(
                OrderRow.client_order_id.in_(ids), OrderRow.status != "pending"
            )
        )
    )


def _view(row: ProposalRow, now: datetime, ordered: bool) -> ProposalView:
    return ProposalView(
        id=row.id, client_order_id=row.client_order_id, city=row.city,
        climate_date=row.climate_date, kind=row.kind, as_of=row.as_of,
        event_ticker=row.event_ticker, ticker=row.ticker, side=row.side, p_model=row.p_model,
        price=row.price, edge=row.edge, count=row.count, cost=row.cost, fee=row.fee,
        reason=row.reason, created_at=row.created_at, expires_at=row.expires_at,
        status=shown_status(_core(row), now, ordered), decided_by=row.decided_by,
        decided_at=row.decided_at,
    )  # fmt: skip


def list_proposals(session: Session, now: datetime, limit: int = 200) -> list[ProposalView]:
    """The latest proposals, newest first, with the status a person sees at ``now``."""
    rows = session.scalars(
        select(ProposalRow)
        .order_by(ProposalRow.created_at.desc(), ProposalRow.id.desc())
        .limit(limit)
    ).all()
    ordered = _ordered(session, [r.client_order_id for r in rows])
    return [_view(r, now, r.client_order_id in ordered) for r in rows]


def decide_proposal(
    session: Session, proposal_id: int, verdict: Verdict, username: str, now: datetime
) -> ProposalView:
    """Approve or reject a pending, unexpired proposal; announce it on the outbox.

    Raises:
        ProposalNotFoundError: If there is no such proposal.
        ProposalError: If it was already decided or has expired.
    """
    row = session.get(ProposalRow, proposal_id, with_for_update=True)
    if row is None:
        raise ProposalNotFoundError(f"no proposal {proposal_id}")
    row.status = check_verdict(_core(row), verdict, now)
    row.decided_by, row.decided_at = username, aware(now, "now")
    append_event(
        session,
        "proposal",
        {"client_order_id": row.client_order_id, "ticker": row.ticker, "side": row.side,
         "count": row.count, "status": row.status, "by": username},
        city=row.city,
        climate_date=row.climate_date,
        key=(row.client_order_id, row.status),
    )  # fmt: skip
    session.flush()
    return _view(row, now, ordered=False)


def approved_awaiting_order(session: Session, now: datetime) -> list[ProposalView]:
    """Approved, unexpired proposals whose order is not placed yet (what the approval sensor
    turns into ``orders`` runs)."""
    rows = session.scalars(
        select(ProposalRow).where(ProposalRow.status == "approved", ProposalRow.expires_at > now)
    ).all()
    ordered = _ordered(session, [r.client_order_id for r in rows])
    return [_view(r, now, False) for r in rows if r.client_order_id not in ordered]


__all__ = [
    "MANUAL_APPROVAL_FIELD",
    "NewProposal",
    "ProposalError",
    "ProposalNotFoundError",
    "ProposalView",
    "add_proposals",
    "approved_awaiting_order",
    "decide_proposal",
    "list_proposals",
    "manual_approval_on",
    "proposals_for",
]

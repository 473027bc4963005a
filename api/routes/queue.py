"""The approval queue: ``/queue`` (page) and ``/api/proposals`` (list, approve, reject).

In manual-approval mode the ``orders`` asset turns taken decisions into proposals instead of
orders; a person approves or rejects each here before it expires, and the approval sensor
places approved ones within a tick (``weather_trader/defs/automation.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from api import queries
from api.deps import get_engine
from api.routes.pages import render
from api.security import require_api_user, require_csrf, require_user
from weather_trader.core.approval import PROPOSAL_TTL, ProposalError
from weather_trader.store import repo_proposals
from weather_trader.store.db import session_scope

router = APIRouter(tags=["queue"])

ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The proposal's id.")]


class ProposalOut(BaseModel):
    """A proposal as the queue shows it (``status``: pending, approved, rejected, expired or
    ordered)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    client_order_id: str
    city: str
    climate_date: date
    kind: str
    as_of: datetime
    ticker: str
    side: str
    p_model: float
    price: Decimal
    edge: float
    count: int
    cost: Decimal
    fee: Decimal
    reason: str
    expires_at: datetime
    status: Literal["pending", "approved", "rejected", "expired", "ordered"]
    decided_by: str | None
    decided_at: datetime | None


def _list(request: Request) -> tuple[list[repo_proposals.ProposalView], bool]:
    with session_scope(get_engine(request.app)) as session:
        return (
            repo_proposals.list_proposals(session, datetime.now(UTC)),
            repo_proposals.manual_approval_on(session),
        )


@router.get("/queue", response_class=HTMLResponse, include_in_schema=False)
async def queue_page(request: Request, _: str = Depends(require_user)) -> HTMLResponse:
    """Proposals waiting for approval, and the latest decided ones."""
    proposals, manual = await run_in_threadpool(_list, request)
    head = await run_in_threadpool(queries.head_event_id, get_engine(request.app))
    return render(
        request,
        "queue.html",
        "queue",
        proposals=proposals,
        manual=manual,
        ttl_minutes=int(PROPOSAL_TTL.total_seconds() // 60),
        live_id=head,
    )


@router.get(
    "/api/proposals", response_model=list[ProposalOut], dependencies=[Depends(require_api_user)]
)
async def list_proposals(request: Request) -> list[ProposalOut]:
    """The latest proposals, newest first."""
    proposals, _ = await run_in_threadpool(_list, request)
    return [ProposalOut.model_validate(p) for p in proposals]


async def _decide(
    request: Request, proposal_id: int, verdict: Literal["approve", "reject"], username: str
) -> ProposalOut:
    def decide() -> repo_proposals.ProposalView:
        with session_scope(get_engine(request.app)) as session:
            return repo_proposals.decide_proposal(
                session, proposal_id, verdict, username, datetime.now(UTC)
            )

    try:
        return ProposalOut.model_validate(await run_in_threadpool(decide))
    except repo_proposals.ProposalNotFoundError:
        raise HTTPException(404, f"no proposal {proposal_id}") from None
    except ProposalError as exc:
        raise HTTPException(409, str(exc)) from None


@router.post(
    "/api/proposals/{proposal_id}/approve",
    response_model=ProposalOut,
    dependencies=[Depends(require_csrf)],
    responses={
        404: {"description": "no such proposal"},
        409: {"description": "decided or expired"},
    },
)
async def approve(
    request: Request, proposal_id: ProposalId, username: str = Depends(require_api_user)
) -> ProposalOut:
    """Approve a pending proposal: its order is placed within a sensor tick."""
    return await _decide(request, proposal_id, "approve", username)


@router.post(
    "/api/proposals/{proposal_id}/reject",
    response_model=ProposalOut,
    dependencies=[Depends(require_csrf)],
    responses={
        404: {"description": "no such proposal"},
        409: {"description": "decided or expired"},
    },
)
async def reject(
    request: Request, proposal_id: ProposalId, username: str = Depends(require_api_user)
) -> ProposalOut:
    """Reject a pending proposal: it never becomes an order."""
    return await _decide(request, proposal_id, "reject", username)

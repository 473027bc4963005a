"""``/api/overview``: the overview page's data as JSON (the page itself is in ``pages``)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api import queries
from api.deps import get_engine, get_settings
from api.schemas import OverviewOut

router = APIRouter(tags=["overview"])


async def _overview(request: Request) -> OverviewOut:
    settings = get_settings(request.app)
    return await run_in_threadpool(
        queries.overview,
        get_engine(request.app),
        settings.bankroll,
        datetime.now(UTC),
        settings.recent_decisions,
    )


@router.get("/api/overview", response_model=OverviewOut)
async def overview_json(request: Request) -> OverviewOut:
    """Bankroll, P&L, open positions, latest decisions, data freshness and recent events."""
    return await _overview(request)

"""``/`` (HTML dashboard) and ``/api/overview`` (the same data as JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api import queries
from api.deps import get_engine, get_settings
from api.schemas import OverviewOut

router = APIRouter(tags=["overview"])

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")


def _money(value: Decimal | None) -> str:
    """``-12.5`` -> ``-$12.50``."""
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _age(seconds: float | None) -> str:
    """Seconds -> a short human age (``45s``, ``12m``, ``3.2h``, ``2.0d``)."""
    if seconds is None:
        return "never"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


templates.env.filters["money"] = _money
templates.env.filters["age"] = _age


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


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def overview_page(request: Request) -> HTMLResponse:
    """The dashboard page; a script on it appends live events from ``/ws``."""
    data = await _overview(request)
    return templates.TemplateResponse(request, "overview.html", {"o": data})

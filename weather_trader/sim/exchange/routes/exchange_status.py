"""The exchange status route (``GET /exchange/status``): the local exchange always trades."""

from __future__ import annotations

from fastapi import APIRouter


def exchange_status_router() -> APIRouter:
    """``GET /exchange/status`` (public, no credentials checked)."""
    router = APIRouter()

    @router.get("/exchange/status")
    async def exchange_status() -> dict:
        return {"exchange_active": True, "trading_active": True}

    return router

"""``/health``: liveness plus a database round trip."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import queries
from api.deps import get_engine
from api.schemas import HealthOut

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(request: Request) -> HealthOut | JSONResponse:
    """Report whether the domain database answers; HTTP 503 when it does not."""
    try:
        last_event_id = await run_in_threadpool(queries.head_event_id, get_engine(request.app))
    except Exception as exc:
        logger.warning("health check: database unreachable", extra={"error": type(exc).__name__})
        body = HealthOut(status="degraded", database="error", last_event_id=None)
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return HealthOut(status="ok", database="ok", last_event_id=last_event_id)

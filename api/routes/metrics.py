"""``/metrics``: Prometheus exposition of the app's own registry."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import get_metrics
from api.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request) -> Response:
    """Every sidecar metric; domain gauges are computed from the database on each scrape."""
    body = await run_in_threadpool(get_metrics(request.app).render)
    return Response(content=body, media_type=CONTENT_TYPE)

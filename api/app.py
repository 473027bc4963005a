"""The sidecar's app factory and lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import queries
from api.cockpit import install_auth, install_request_context
from api.deps import get_engine, get_metrics, get_settings
from api.metrics import DomainSnapshot, MetricsMiddleware, SidecarMetrics
from api.notifications import Notifier
from api.outbox import OutboxHub
from api.routes import health, live, metrics, overview, pages, queue
from api.settings import ApiSettings
from weather_trader.store.db import make_engine, migrate

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _domain_snapshot(app: FastAPI) -> DomainSnapshot:
    settings = get_settings(app)
    return queries.domain_snapshot(
        get_engine(app), settings.bankroll, settings.daily_loss_limit, datetime.now(UTC)
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings(app)
    engine = make_engine(settings.database_url)
    try:
        await asyncio.to_thread(migrate, engine)
    except Exception as exc:
        # Keep serving: /health reports the database error (503) and the tailer keeps retrying.
        logger.error(
            "domain database migration failed; serving in degraded mode",
            extra={"database": settings.redacted_database_url(), "error": type(exc).__name__},
        )
    app.state.engine = engine
    hub = OutboxHub(
        fetch=partial(queries.events_after, engine),
        head=partial(queries.head_event_id, engine),
        poll_interval=settings.poll_interval,
        queue_size=settings.ws_queue_size,
        metrics=get_metrics(app),
    )
    app.state.hub = hub
    await hub.start()
    notifier = Notifier(engine, settings.operator_defaults, settings.notify_interval)
    app.state.notifier = notifier
    await notifier.start()
    logger.info(
        "sidecar started",
        extra={
            "database": settings.redacted_database_url(),
            "poll_interval": settings.poll_interval,
        },
    )
    try:
        yield
    finally:
        await notifier.stop()
        await hub.stop()
        app.state.hub = None
        app.state.engine = None
        engine.dispose()
        logger.info("sidecar stopped")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the sidecar app.

    The lifespan creates the database engine, migrates the schema, starts the outbox tailer
    and disposes of both on shutdown. Each app has its own Prometheus registry.

    Args:
        settings: Sidecar settings; read from the environment when omitted.

    Returns:
        The FastAPI app.
    """
    settings = settings or ApiSettings.from_env()
    app = FastAPI(
        title="weather-trader sidecar",
        summary="Dashboard, live feed and metrics of the weather-trader pipeline.",
        lifespan=_lifespan,
        docs_url=None,  # served offline by api.routes.pages from the vendored Swagger UI
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = None
    app.state.hub = None
    app.state.metrics = SidecarMetrics(partial(_domain_snapshot, app))
    install_auth(app)  # the login gate, inside the metrics: refusals are counted too
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_request_context(app)  # outermost: request id, log line, headers, 500s
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (health, overview, live, metrics, pages, queue):
        app.include_router(module.router)
    return app

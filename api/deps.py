"""Accessors of the per-app objects the lifespan puts on ``app.state``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from api.metrics import SidecarMetrics
from api.outbox import OutboxHub
from api.settings import ApiSettings


class SidecarNotStartedError(RuntimeError):
    """Raised when a lifespan object is needed before the lifespan has created it."""


def get_settings(app: FastAPI) -> ApiSettings:
    """The app's settings."""
    settings: ApiSettings = app.state.settings
    return settings


def get_metrics(app: FastAPI) -> SidecarMetrics:
    """The app's metrics (and registry)."""
    sidecar_metrics: SidecarMetrics = app.state.metrics
    return sidecar_metrics


def get_engine(app: FastAPI) -> Engine:
    """The app's database engine.

    Raises:
        SidecarNotStartedError: Outside the app's lifespan.
    """
    engine: Engine | None = getattr(app.state, "engine", None)
    if engine is None:
        raise SidecarNotStartedError("the sidecar's lifespan has not started")
    return engine


def get_hub(app: FastAPI) -> OutboxHub:
    """The app's outbox tailer.

    Raises:
        SidecarNotStartedError: Outside the app's lifespan.
    """
    hub: OutboxHub | None = getattr(app.state, "hub", None)
    if hub is None:
        raise SidecarNotStartedError("the sidecar's lifespan has not started")
    return hub

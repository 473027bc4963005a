"""Wiring of the cockpit's security into the app: error handlers, the login gate, the request
context middleware and the auth and settings routes (called by :func:`api.app.create_app`)."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from api.deps import get_engine, get_settings
from api.errors import document_error_shape, install_error_handlers
from api.middleware import AuthMiddleware, RequestContextMiddleware
from api.routes import auth, settings
from api.security import resolve_session


def _resolve(app: FastAPI, token: str) -> object:
    return resolve_session(get_engine(app), token)


def _metrics_token(app: FastAPI) -> str | None:
    token = get_settings(app).metrics_token
    return token.get_secret_value() if token is not None else None


def install_auth(app: FastAPI) -> None:
    """Add the login gate (innermost middleware), the error handlers and the auth routes."""
    install_error_handlers(app)
    document_error_shape(app)
    app.add_middleware(
        AuthMiddleware, resolve=partial(_resolve, app), metrics_token=partial(_metrics_token, app)
    )
    app.include_router(auth.router)
    app.include_router(settings.router)


def install_request_context(app: FastAPI) -> None:
    """Add the request-id, log-line, headers and 500 middleware (outermost)."""
    app.add_middleware(RequestContextMiddleware)

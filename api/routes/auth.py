"""Logging in and out: ``/api/auth/*`` (JSON) and the ``/login`` page (a plain form).

A successful login sets the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and
returns the session's CSRF token, which every POST, PUT, PATCH and DELETE must send back as
``X-CSRF-Token`` (or a ``csrf_token`` form field).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from api.deps import get_engine, get_settings
from api.errors import error_response
from api.security import (
    SESSION_COOKIE,
    LoginRateLimiter,
    NewSession,
    authenticate,
    end_session,
    is_https,
    require_api_user,
    require_csrf,
    safe_next,
)
from api.templating import templates

logger = logging.getLogger(__name__)

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    """Credentials."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    """A new session: the CSRF token to send with state-changing requests."""

    username: str
    csrf_token: str
    expires_at: datetime


class MeOut(BaseModel):
    """The logged-in user and the session's CSRF token."""

    username: str
    csrf_token: str


def limiter(request: Request) -> LoginRateLimiter:
    """The app's login rate limiter (created on first use)."""
    existing: LoginRateLimiter | None = getattr(request.app.state, "login_limiter", None)
    if existing is None:
        settings = get_settings(request.app)
        existing = LoginRateLimiter(settings.login_max_failures, settings.login_window_seconds)
        request.app.state.login_limiter = existing
    return existing


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


async def _login(request: Request, username: str, password: str) -> NewSession | float | None:
    """A new session; seconds to wait when rate limited; None for wrong credentials."""
    limits, address = limiter(request), _address(request)
    wait = limits.retry_after(username, address)
    if wait is not None:
        logger.warning("login refused: rate limited", extra={"username": username})
        return wait
    settings = get_settings(request.app)
    new = await run_in_threadpool(
        authenticate,
        get_engine(request.app),
        username,
        password,
        timedelta(hours=settings.session_hours),
    )
    if new is None:
        limits.failed(username, address)
        logger.warning("login failed", extra={"username": username})
        return None
    limits.succeeded(username, address)
    logger.info("login", extra={"username": username})
    return new


def _set_cookie(request: Request, response: Response, new: NewSession) -> None:
    settings = get_settings(request.app)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=int(settings.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope, settings.trust_forwarded_proto),
    )


def _too_many(wait: float) -> JSONResponse:
    return error_response(
        429,
        "too many failed logins; try again later",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


@router.post(
    "/api/auth/login",
    response_model=LoginOut,
    responses={401: {"description": "wrong credentials"}, 429: {"description": "rate limited"}},
)
async def login(request: Request, body: LoginIn) -> LoginOut | JSONResponse:
    """Log in: sets the session cookie and returns the CSRF token."""
    result = await _login(request, body.username, body.password)
    if isinstance(result, float):
        return _too_many(result)
    if result is None:
        return error_response(401, "wrong username or password")
    out = LoginOut(
        username=result.username, csrf_token=result.csrf_token, expires_at=result.expires_at
    )
    response = JSONResponse(out.model_dump(mode="json"))
    _set_cookie(request, response, result)
    return response


async def _logout(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(end_session, get_engine(request.app), token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    logger.info("logout", extra={"username": getattr(request.state, "username", None)})


@router.post("/api/auth/logout", status_code=204, dependencies=[Depends(require_csrf)])
async def logout(request: Request, _user: str = Depends(require_api_user)) -> Response:
    """End the session: its cookie no longer logs anyone in."""
    response = Response(status_code=204)
    await _logout(request, response)
    return response


@router.get("/api/auth/me", response_model=MeOut)
async def me(request: Request, username: str = Depends(require_api_user)) -> MeOut:
    """Who is logged in, and the session's CSRF token (for scripts that lost it)."""
    return MeOut(username=username, csrf_token=request.state.csrf_token)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return templates.TemplateResponse(
        request, "login.html", {"next": safe_next(next), "error": None, "username": ""}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(
    request: Request,
    username: str = Form(max_length=64),
    password: str = Form(max_length=1024),
    next: str = Form(default="/", max_length=2000),
) -> Response:
    """The login form's post: on success a redirect to ``next`` with the session cookie."""
    result = await _login(request, username, password)
    if isinstance(result, NewSession):
        response = RedirectResponse(safe_next(next), status_code=303)
        _set_cookie(request, response, result)
        return response
    error, status = (
        ("Too many failed logins; try again later.", 429)
        if isinstance(result, float)
        else ("Wrong username or password.", 401)
    )
    return templates.TemplateResponse(
        request,
        "login.html",
        {"next": safe_next(next), "error": error, "username": username},
        status_code=status,
    )


@router.post("/logout", include_in_schema=False, dependencies=[Depends(require_csrf)])
async def logout_form(request: Request) -> Response:
    """The logout form's post (carries ``csrf_token``): back to the login page."""
    response = RedirectResponse("/login", status_code=303)
    await _logout(request, response)
    return response

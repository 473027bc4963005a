"""Login sessions, CSRF tokens, the login rate limit and the dependencies routes use.

Sessions are server-side: the cookie holds a random token, the database the token's SHA-256
with the user, the session's CSRF token and its expiry (``store/repo_users.py``); logging out
deletes the row. :class:`api.middleware.AuthMiddleware` resolves the session of every request
and puts ``username`` and ``csrf_token`` on ``request.state``; the dependencies below only read
them, so a route that forgets them is still behind the login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import Scope

from api.errors import LoginRequired
from weather_trader.core import passwords
from weather_trader.core.passwords import hash_password, needs_rehash, verify_password
from weather_trader.store import repo_users
from weather_trader.store.db import session_scope

SESSION_COOKIE = "wt_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/login"

PUBLIC_PATHS = frozenset({"/health", LOGIN_PATH, "/api/auth/login"})
"""Paths served without a session (besides ``/static/...``; ``/metrics`` has its own token)."""
STATIC_PREFIX = "/static/"
METRICS_PATH = "/metrics"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def is_public(path: str) -> bool:
    """Whether ``path`` is served without a session."""
    return path in PUBLIC_PATHS or path.startswith(STATIC_PREFIX)


def wants_json(path: str) -> bool:
    """Whether an unauthenticated request to ``path`` gets 401 JSON (else a login redirect)."""
    return path.startswith("/api/") or path in ("/openapi.json", METRICS_PATH)


def safe_next(path: str | None) -> str:
    """A local path to return to after login; anything else (another site) becomes ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return "/"
    return path


def login_url(next_path: str) -> str:
    """The login page, returning to ``next_path`` afterwards."""
    target = safe_next(next_path)
    return LOGIN_PATH if target == "/" else f"{LOGIN_PATH}?next={quote(target, safe='/')}"


def is_https(scope: Scope, trust_forwarded_proto: bool) -> bool:
    """Whether the browser reached us over HTTPS (``X-Forwarded-Proto`` only when trusted)."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    if trust_forwarded_proto:
        proto = Headers(scope=scope).get("x-forwarded-proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False


def same_origin(scope: Scope) -> bool:
    """Whether the request's ``Origin`` (when it sends one) names the host it was sent to."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == host.lower()


# -- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    """A session just created: the cookie token (shown once) and its CSRF token."""

    token: str
    csrf_token: str
    username: str
    expires_at: datetime


def authenticate(
    engine: Engine, username: str, password: str, ttl: timedelta, now: datetime | None = None
) -> NewSession | None:
    """Check a password and open a session; None when the name or password is wrong.

    An unknown user costs one hash verification too, so timing does not reveal names. A hash
    made with older argon2 parameters is replaced on a successful login.
    """
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        stored = repo_users.password_hash_of(session, username)
        if not verify_password(stored or passwords.DUMMY_HASH, password) or stored is None:
            return None
        if needs_rehash(stored):
            repo_users.set_password_hash(session, username, hash_password(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = now + ttl
        repo_users.create_session(session, token_hash(token), username, csrf, now, expires_at)
    return NewSession(token, csrf, username, expires_at)


def resolve_session(engine: Engine, token: str) -> repo_users.UserSession | None:
    """The live session of a cookie token, or None."""
    with session_scope(engine) as session:
        return repo_users.active_session(session, token_hash(token), datetime.now(UTC))


def end_session(engine: Engine, token: str) -> None:
    """Log out: the token no longer opens a session."""
    with session_scope(engine) as session:
        repo_users.end_session(session, token_hash(token))


# -- the login rate limit -------------------------------------------------------------------------


class LoginRateLimiter:
    """Counts failed logins per (username, address), and per address across usernames.

    After ``max_failures`` failures within ``window`` seconds for one username from one
    address (or 4x as many from one address over all usernames), logins from there are refused
    (429) until the oldest failure leaves the window. A success clears that username's count.
    In memory: one sidecar process serves the dashboard.
    """

    def __init__(
        self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str | None, str], deque[float]] = {}

    def _recent(self, key: tuple[str | None, str]) -> deque[float]:
        times = self._failures.get(key, deque())
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until a login may be tried again, None when it may be now."""
        waits = []
        for key, limit in (
            ((username.lower(), address), self.max_failures),
            ((None, address), 4 * self.max_failures),
        ):
            times = self._recent(key)
            if len(times) >= limit:
                waits.append(times[0] + self.window - self.clock())
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        """Record a failed login."""
        now = self.clock()
        for key in ((username.lower(), address), (None, address)):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the username's failures from this address."""
        self._failures.pop((username.lower(), address), None)


# -- dependencies ---------------------------------------------------------------------------------


def current_username(request: Request) -> str | None:
    """The logged-in user of ``request`` (set by the auth middleware), or None."""
    username: str | None = getattr(request.state, "username", None)
    return username


def require_api_user(request: Request) -> str:
    """Dependency of JSON routes: the logged-in user, else 401."""
    username = current_username(request)
    if username is None:
        raise HTTPException(401, "log in first (POST /api/auth/login)")
    return username


def require_user(request: Request) -> str:
    """Dependency of pages: the logged-in user, else a redirect to the login page."""
    username = current_username(request)
    if username is None:
        raise LoginRequired(request.url.path)
    return username


def require_csrf(request: Request) -> None:
    """Dependency of state-changing routes: the request carried the session's CSRF token.

    The auth middleware already checks every POST, PUT, PATCH and DELETE (header
    ``X-CSRF-Token`` or a form field ``csrf_token``) and marks the request; this makes the
    requirement visible on the route and holds should the middleware be bypassed.
    """
    if request.method in SAFE_METHODS:
        return
    if not getattr(request.state, "csrf_verified", False):
        raise HTTPException(403, "missing or wrong CSRF token")

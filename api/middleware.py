"""The sidecar's ASGI middleware: request context (id, log line, headers, errors) and the login.

:class:`RequestContextMiddleware` (outermost) gives each request an id (a sane incoming
``X-Request-ID`` or a new one) that every log line carries, writes one structured log line per
request, adds the security and caching headers, and answers an unexpected exception with a
500 in the common error shape. :class:`AuthMiddleware` resolves the session cookie, refuses
what needs a login (401 JSON for the API, a redirect for pages), checks the CSRF token of every
state-changing request, guards ``/ws`` (session and same ``Origin``) and ``/metrics`` (bearer
token when configured).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.logs import install_request_id_factory, reset_request_id, set_request_id
from api.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_PATH,
    METRICS_PATH,
    SAFE_METHODS,
    SESSION_COOKIE,
    is_public,
    login_url,
    same_origin,
    tokens_equal,
    wants_json,
)

access_logger = logging.getLogger("api.access")
logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HASHED_STATIC = re.compile(r"\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")
"""A static file whose name carries its content hash (``app.3f9c2a1b.js``): cached a year."""

MAX_FORM_BYTES = 64 * 1024
WS_POLICY_VIOLATION = 1008

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
"""No inline or foreign script; inline style attributes are allowed (server-drawn SVG plots)."""

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def request_id_from(headers: Headers) -> str:
    """The caller's ``X-Request-ID`` when it is short and plain, else a new one."""
    given = headers.get(REQUEST_ID_HEADER.lower(), "")
    return given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex


def cache_control(path: str) -> str:
    """``Cache-Control`` of a response: hashed static files a year, other static files
    revalidated, everything else (API, pages with a CSRF token) never stored."""
    if path.startswith("/static/"):
        return "public, max-age=31536000, immutable" if _HASHED_STATIC.search(path) else "no-cache"
    return "no-store"


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Request id, one JSON-ready log line per request, security and cache headers, 500s."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        install_request_id_factory()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request or WebSocket inside its request id."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        token = set_request_id(request_id)
        try:
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self._http(scope, receive, send, request_id)
        finally:
            reset_request_id(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            access_logger.info(
                "websocket closed",
                extra={
                    "path": scope["path"],
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    "user": scope.get("state", {}).get("username"),
                },
            )

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        start = time.perf_counter()
        path: str = scope["path"]
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"x-request-id")
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"cache-control", cache_control(path).encode()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unhandled error", extra={"path": path})
            if not started:
                await _send_json(
                    send_with_headers,
                    500,
                    error_body("internal_error", "internal server error"),
                    {},
                )
        finally:
            access_logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    "user": scope.get("state", {}).get("username"),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )


SessionResolver = Callable[[str], Awaitable[Any]]


class AuthMiddleware:
    """The login gate in front of every route (see the module docstring).

    Args:
        app: The wrapped app.
        resolve: Returns the session of a cookie token (or None); runs off the event loop.
        metrics_token: Returns the bearer token ``/metrics`` requires, None for none.
    """

    def __init__(
        self,
        app: ASGIApp,
        resolve: Callable[[str], Any],
        metrics_token: Callable[[], str | None],
    ) -> None:
        self.app = app
        self.resolve = resolve
        self.metrics_token = metrics_token

    async def _session(self, scope: Scope) -> Any:
        cookie = Headers(scope=scope).get("cookie")
        token = cookie_parser(cookie).get(SESSION_COOKIE) if cookie else None
        if not token or len(token) > 256:
            return None
        return await run_in_threadpool(self.resolve, token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the request through, or answer it here."""
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == METRICS_PATH:
            await self._metrics(scope, receive, send)
            return
        if is_public(path):
            if path == LOGIN_PATH and method not in SAFE_METHODS and not same_origin(scope):
                await _send_json(send, 403, error_body("forbidden", "cross-site login"), {})
                return
            await self.app(scope, receive, send)
            return
        session = await self._session(scope)
        if session is None:
            await self._unauthenticated(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["username"], state["csrf_token"] = session.username, session.csrf_token
        if method not in SAFE_METHODS:
            verified, receive = await self._csrf(scope, receive, session.csrf_token)
            if not verified:
                await _send_json(
                    send, 403, error_body("csrf_failed", "missing or wrong CSRF token"), {}
                )
                return
            state["csrf_verified"] = True
        await self.app(scope, receive, send)

    async def _unauthenticated(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if wants_json(path) or scope["method"] not in SAFE_METHODS:
            await _send_json(
                send,
                401,
                error_body("unauthorized", "log in first"),
                {"www-authenticate": "Cookie"},
            )
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + ("?" + query if query else "")
        await RedirectResponse(login_url(target), status_code=303)(scope, receive, send)

    async def _csrf(self, scope: Scope, receive: Receive, expected: str) -> tuple[bool, Receive]:
        """Whether the request carries the CSRF token, and the ``receive`` to pass on.

        A form post's body is read here (at most :data:`MAX_FORM_BYTES`) to find the
        ``csrf_token`` field, then replayed to the app unchanged.
        """
        headers = Headers(scope=scope)
        if tokens_equal(headers.get(CSRF_HEADER.lower()), expected):
            return True, receive
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return False, receive
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return False, receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                return False, receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        field = parse_qs(body.decode("latin-1")).get(CSRF_FIELD, [None])[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return tokens_equal(field, expected), replay

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        expected = self.metrics_token()
        if expected is not None:
            given = Headers(scope=scope).get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not tokens_equal(value.strip(), expected):
                await _send_json(
                    send,
                    401,
                    error_body("unauthorized", "/metrics needs its bearer token"),
                    {"www-authenticate": 'Bearer realm="metrics"'},
                )
                return
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Accept a WebSocket only from our own origin and with a session."""
        if not same_origin(scope):
            logger.warning("websocket refused: foreign origin", extra={"path": scope["path"]})
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
            return
        session = await self._session(scope)
        if session is None:
            logger.info("websocket refused: no session", extra={"path": scope["path"]})
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
            return
        scope.setdefault("state", {})["username"] = session.username
        await self.app(scope, receive, send)


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "REQUEST_ID_HEADER",
    "AuthMiddleware",
    "JSONResponse",
    "RequestContextMiddleware",
    "cache_control",
    "request_id_from",
]

"""Typed errors raised by the Kalshi REST client.

Every message names the HTTP method and the request path that failed (never a header, a key
or a signature), plus Kalshi's own error code and message when its error envelope
(``{"error": {"code", "message", "details"}}``) came back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class KalshiError(Exception):
    """Base class of every error raised by the Kalshi client."""


class KalshiApiError(KalshiError):
    """A Kalshi request failed; subclasses tell why.

    Attributes:
        status: HTTP status code, or None when no response arrived (timeouts, dropped links).
        code: Kalshi's error code (``"order_already_exists"``) or a short local one.
        message: Kalshi's human-readable message, or a local description.
        path: Request path (including ``/trade-api/v2``, without query string).
        method: HTTP method.
        details: Kalshi's optional ``details`` text.
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        path: str,
        *,
        method: str = "",
        details: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.path = path
        self.method = method.upper()
        self.details = details
        where = f"{self.method} {path}".strip()
        http = f"HTTP {status} " if status is not None else ""
        text = f"Kalshi {where} failed: {http}{code}: {message}"
        if details:
            text += f" ({details})"
        super().__init__(text)

    @classmethod
    def from_response(cls, response: httpx.Response, method: str, path: str) -> KalshiApiError:
        """The typed error for a non-2xx response, parsed from Kalshi's error envelope.

        The subclass follows the status: 400 -> :class:`KalshiBadRequest`, 401/403 ->
        :class:`KalshiAuthError`, 404 -> :class:`KalshiNotFound`, 409 -> :class:`KalshiConflict`,
        410 -> :class:`KalshiGone`, 429 -> :class:`KalshiRateLimited`, 5xx ->
        :class:`KalshiUnavailable`, anything else -> :class:`KalshiApiError`.
        """
        code, message, details = parse_error_envelope(response)
        error_cls = error_class_for_status(response.status_code)
        return error_cls(response.status_code, code, message, path, method=method, details=details)


class KalshiBadRequest(KalshiApiError):
    """HTTP 400: Kalshi refused the request's parameters or body."""


class KalshiAuthError(KalshiApiError):
    """HTTP 401/403 (bad or missing signature, key without permission), or no credentials."""


class KalshiNotFound(KalshiApiError):
    """HTTP 404: the market, event, series or order does not exist."""


class KalshiConflict(KalshiApiError):
    """HTTP 409: e.g. an order with this ``client_order_id`` already exists."""


class KalshiGone(KalshiApiError):
    """HTTP 410: a retired endpoint (the V1 ``/portfolio/orders`` writes)."""


class KalshiRateLimited(KalshiApiError):
    """HTTP 429 that persisted through every backoff."""


class KalshiUnavailable(KalshiApiError):
    """5xx responses, timeouts or connection errors that persisted through every retry."""


class KalshiMalformedResponse(KalshiApiError):
    """A 2xx body that is not JSON, or JSON that does not match the expected schema."""


class KalshiOrderUnknown(KalshiApiError):
    """An order create's outcome could not be resolved (neither confirmed nor ruled out).

    Attributes:
        client_order_id: The order's client id; look it up again before sending anything new.
    """

    def __init__(
        self, client_order_id: str, message: str, path: str, *, method: str = "POST"
    ) -> None:
        self.client_order_id = client_order_id
        super().__init__(
            None,
            "order_outcome_unknown",
            f"{message} (client_order_id={client_order_id})",
            path,
            method=method,
        )


_STATUS_CLASSES: dict[int, type[KalshiApiError]] = {
    400: KalshiBadRequest,
    401: KalshiAuthError,
    403: KalshiAuthError,
    404: KalshiNotFound,
    409: KalshiConflict,
    410: KalshiGone,
    429: KalshiRateLimited,
}


def error_class_for_status(status: int) -> type[KalshiApiError]:
    """The exception class for an HTTP error status (5xx -> :class:`KalshiUnavailable`)."""
    if status >= 500:
        return KalshiUnavailable
    return _STATUS_CLASSES.get(status, KalshiApiError)


def parse_error_envelope(response: httpx.Response, limit: int = 300) -> tuple[str, str, str]:
    """``(code, message, details)`` from a Kalshi error body.

    Understands ``{"error": {"code", "message", "details"}}`` (the spec's ErrorResponse),
    ``{"error": "too many requests"}`` (what a 429 carries), a bare ``{"code", "message"}``,
    and falls back to a short excerpt of any other body.
    """
    reason = response.reason_phrase or "error"
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        envelope = body.get("error", body)
        if isinstance(envelope, str):
            return reason.lower().replace(" ", "_"), envelope[:limit], ""
        if isinstance(envelope, dict):
            code = str(envelope.get("code") or reason.lower().replace(" ", "_"))
            message = str(envelope.get("message") or envelope.get("error") or reason)
            details = str(envelope.get("details") or "")
            return code[:limit], message[:limit], details[:limit]
    text = " ".join(response.text.split())[:limit] if response.content else ""
    return reason.lower().replace(" ", "_"), text or reason, ""

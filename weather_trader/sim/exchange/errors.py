"""Errors of the local exchange, each carrying its HTTP status and Kalshi error code.

The app turns every :class:`ExchangeError` into Kalshi's error envelope
``{"error": {"code": ..., "message": ..., "details": ...}}``.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """A request the exchange refuses.

    Attributes:
        status: HTTP status code.
        code: Kalshi-style machine-readable code (``order_already_exists``).
        message: Human-readable message.
        details: Optional extra detail (never secrets).
    """

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def envelope(self) -> dict[str, dict[str, str]]:
        """Kalshi's error body for this error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequestError(ExchangeError):
    """400: malformed or invalid input."""

    status = 400
    code = "bad_request"


class AuthError(ExchangeError):
    """401: missing, unknown, stale or wrongly signed credentials."""

    status = 401
    code = "authentication_error"


class ForbiddenError(ExchangeError):
    """403: a sim admin route called from anywhere but this machine."""

    status = 403
    code = "forbidden"


class NotFoundError(ExchangeError):
    """404: no such market, event, series or order (for this user)."""

    status = 404
    code = "not_found"


class ConflictError(ExchangeError):
    """409: duplicate client order id, or the market is not trading."""

    status = 409
    code = "conflict"


class GoneError(ExchangeError):
    """410: the retired V1 order-write endpoints."""

    status = 410
    code = "deprecated_v1_order_endpoint"

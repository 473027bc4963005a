"""Typed errors raised by the weather source clients.

Every message names the source and the URL that failed (with secrets redacted), so a failed
asset run says what broke and where without leaking an API key.
"""

from __future__ import annotations


class WeatherSourceError(Exception):
    """Base class: a weather source could not deliver usable data.

    Attributes:
        source: Short source name (``nws``, ``open-meteo``).
        url: The request URL with secret query parameters redacted.
        status: HTTP status code when one was received.
    """

    def __init__(self, source: str, url: str, detail: str, status: int | None = None) -> None:
        self.source = source
        self.url = url
        self.status = status
        self.detail = detail
        code = f" HTTP {status}" if status is not None else ""
        super().__init__(f"{source}:{code} {detail} ({url})")


class SourceUnavailable(WeatherSourceError):
    """Timeouts, connection errors or 5xx responses that persisted through every retry."""


class RateLimited(WeatherSourceError):
    """HTTP 429 that persisted through every retry."""


class MalformedResponse(WeatherSourceError):
    """Invalid JSON, a half-delivered body, or a payload that does not match the schema."""


class NotFound(WeatherSourceError):
    """HTTP 404: the resource (point, station, product) does not exist."""


class RequestRejected(WeatherSourceError):
    """Any other 4xx: the source refused the request (bad parameters, auth)."""

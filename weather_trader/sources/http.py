"""A small shared HTTP client for the weather sources.

``SourceHttp`` wraps :class:`httpx.Client` with what every free weather API asks of us: a
User-Agent with contact details, timeouts, retries with exponential backoff and jitter on
timeouts / connection errors / 429 / 5xx (honouring ``Retry-After``), a per-source minimum
interval between requests, JSON decoding with typed errors, and API keys that never reach a log
line or an error message. Every successful response can be handed, as a :class:`RawPayload`
with its URL redacted, to payload listeners (the raw-payload audit archive).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from weather_trader.core.records import RawPayload
from weather_trader.sources.errors import (
    MalformedResponse,
    NotFound,
    RateLimited,
    RequestRejected,
    SourceUnavailable,
    WeatherSourceError,
)

logger = logging.getLogger(__name__)

SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token"})
"""Query parameter names (case-insensitive) whose values are redacted everywhere."""
REDACTED = "REDACTED"

QueryValue = str | int | float | bool
WaitStrategy = Callable[[RetryCallState], float]


PayloadListener = Callable[[RawPayload], None]


def redact_url(url: str | httpx.URL) -> str:
    """Return ``url`` with the values of secret query parameters replaced by ``REDACTED``."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    pairs = [
        (name, REDACTED if name.lower() in SECRET_PARAMS else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe=",:/")))


class RedactUrlsFilter(logging.Filter):
    """Redacts secret query parameters from URLs in the records of httpx's own logger.

    httpx logs every request at INFO as ``HTTP Request: GET <full URL>``, key included; this
    filter (installed once on the ``httpx`` logger by every keyed :class:`SourceHttp`) rewrites
    those URLs with :func:`redact_url`, so no log level exposes a key.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def install_httpx_log_redaction() -> None:
    """Add :class:`RedactUrlsFilter` to the ``httpx`` logger (idempotent)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactUrlsFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactUrlsFilter())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Transient(Exception):
    """Internal: a failure worth retrying; carries the typed error to raise if retries run out."""

    def __init__(self, error: WeatherSourceError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class SourceHttp:
    """A rate-limited, retrying JSON client for one weather source.

    Args:
        source: Short source name used in logs and errors (``nws``).
        base_url: Base URL that relative paths are joined to.
        user_agent: User-Agent header; the free APIs ask for contact details in it.
        timeout: Per-request timeout in seconds (connect, read, write, pool).
        max_attempts: Attempts per request, including the first.
        min_interval: Minimum seconds between the starts of two requests (thread-safe).
        api_key: Optional key, sent as the ``api_key_param`` query parameter, never logged.
        transport: Optional httpx transport (tests use :class:`httpx.MockTransport`).
        api_key_param: Query parameter name of the key.
        headers: Extra default headers (e.g. ``Accept``).
        sleep: Sleep function used for backoff waits and the rate limit (tests inject one).
        clock: Monotonic clock used by the rate limit.
        backoff_initial: First backoff wait in seconds (doubles per attempt).
        backoff_max: Cap of a single backoff wait in seconds.
        jitter: Maximum random seconds added to each backoff wait.
        max_retry_after: Cap in seconds on a server's ``Retry-After``.
        wait: Replace the whole wait strategy (a tenacity ``wait`` callable).
        on_payload: Optional listener called with a :class:`RawPayload` for every successful
            response (see :meth:`add_payload_listener`).
        now: Wall clock stamping :attr:`RawPayload.retrieved_at`.

    Raises:
        ValueError: On an empty User-Agent or non-positive limits.
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        user_agent: str,
        timeout: float = 10.0,
        max_attempts: int = 4,
        min_interval: float = 0.0,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        api_key_param: str = "apikey",
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        jitter: float = 1.0,
        max_retry_after: float = 120.0,
        wait: WaitStrategy | None = None,
        on_payload: PayloadListener | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not user_agent.strip():
            raise ValueError(f"{source}: a User-Agent with contact details is required")
        if max_attempts < 1 or timeout <= 0 or min_interval < 0:
            raise ValueError(f"{source}: max_attempts >= 1, timeout > 0, min_interval >= 0")
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.min_interval = min_interval
        self.max_retry_after = max_retry_after
        self._api_key = api_key
        self._api_key_param = api_key_param
        if api_key is not None:
            install_httpx_log_redaction()
        self._sleep = sleep
        self._clock = clock
        self._backoff: WaitStrategy = wait or wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=jitter
        )
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._now = now
        self._payload_listeners: list[PayloadListener] = [on_payload] if on_payload else []
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, **dict(headers or {})},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=True,
        )

    @property
    def has_api_key(self) -> bool:
        """Whether requests carry an API key (the key itself is never readable)."""
        return self._api_key is not None

    def __repr__(self) -> str:
        return f"SourceHttp(source={self.source!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self) -> SourceHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_payload_listener(self, listener: PayloadListener) -> None:
        """Also call ``listener`` with every later successful response (in registration order).

        A listener that raises makes the request raise: an audit trail must not lose bodies
        silently.
        """
        self._payload_listeners.append(listener)

    def url_for(self, path: str) -> str:
        """Absolute URL for ``path`` (absolute URLs, as NWS links are, pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: Mapping[str, QueryValue] | None = None) -> httpx.Response:
        """GET ``path`` with retries, the rate limit and typed errors; the body is not decoded.

        Raises:
            SourceUnavailable: Timeouts, connection errors or 5xx after every retry.
            RateLimited: HTTP 429 after every retry.
            NotFound: HTTP 404.
            RequestRejected: Any other 4xx.
            MalformedResponse: A body cut off mid-transfer.
        """
        url = self.url_for(path)
        query: dict[str, QueryValue] = dict(params or {})
        if self._api_key is not None:
            query[self._api_key_param] = self._api_key
        safe_url = redact_url(httpx.URL(url, params=query))
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=self._log_retry(safe_url),
            reraise=True,
        )
        try:
            response = retrying(self._send_once, url, query, safe_url)
        except _Transient as exc:
            raise exc.error from None
        if self._payload_listeners:
            payload = RawPayload(
                source=self.source,
                url=safe_url,
                retrieved_at=self._now().astimezone(UTC),
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=response.content,
            )
            for listener in self._payload_listeners:
                listener(payload)
        return response

    def get_json(self, path: str, params: Mapping[str, QueryValue] | None = None) -> Any:
        """GET ``path`` and return the decoded JSON body.

        Raises:
            The errors of :meth:`get`, and MalformedResponse for a body that is not valid JSON.
        """
        response = self.get(path, params)
        return self._decode(response, redact_url(response.request.url))

    # internals ----------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return float(self._backoff(state))

    def _log_retry(self, safe_url: str) -> Callable[[RetryCallState], None]:
        def log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.1fs: %s",
                self.source,
                state.attempt_number,
                self.max_attempts,
                exc.error.detail if isinstance(exc, _Transient) else exc,
                wait,
                safe_url,
            )

        return log

    def _throttle(self) -> None:
        if self.min_interval <= 0:
            return
        with self._lock:
            now = self._clock()
            if now < self._next_slot:
                self._sleep(self._next_slot - now)
                now = self._next_slot
            self._next_slot = now + self.min_interval

    def _send_once(self, url: str, query: dict[str, QueryValue], safe_url: str) -> httpx.Response:
        self._throttle()
        try:
            response = self._client.get(url, params=query)
        except httpx.TimeoutException as exc:
            detail = f"timed out ({type(exc).__name__})"
            raise _Transient(SourceUnavailable(self.source, safe_url, detail)) from None
        except httpx.RemoteProtocolError as exc:
            detail = f"connection closed before the full response arrived ({type(exc).__name__})"
            raise _Transient(MalformedResponse(self.source, safe_url, detail)) from None
        except httpx.TransportError as exc:
            detail = f"connection failed ({type(exc).__name__})"
            raise _Transient(SourceUnavailable(self.source, safe_url, detail)) from None
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = RateLimited(self.source, safe_url, "rate limited", status)
            raise _Transient(error, retry_after)
        if status >= 500:
            error = SourceUnavailable(self.source, safe_url, "server error", status)
            raise _Transient(error, parse_retry_after(response.headers.get("Retry-After")))
        if status == 404:
            raise NotFound(self.source, safe_url, "not found", status)
        if status >= 400:
            detail = _excerpt(response)
            if self._api_key:
                detail = detail.replace(self._api_key, REDACTED)
            raise RequestRejected(self.source, safe_url, detail, status)
        return response

    def _decode(self, response: httpx.Response, safe_url: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            size = len(response.content)
            detail = f"invalid JSON in a {size}-byte body ({type(exc).__name__}: {exc})"
            raise MalformedResponse(self.source, safe_url, detail, response.status_code) from None


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    """A short, single-line excerpt of an error body (for 4xx messages)."""
    text = " ".join(response.text.split())
    return f"rejected: {text[:limit]}" if text else "rejected"

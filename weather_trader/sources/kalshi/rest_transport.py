"""Signed, rate-limited, retried requests to Kalshi's trade API, and the decoding all calls share.

:class:`KalshiTransport` signs every request when it has credentials (the signed path includes
the base URL's path, e.g. ``/trade-api/v2/portfolio/balance``, never the query string),
spends tokens from client-side read/write buckets before each request, follows cursor
pagination, and turns Kalshi's error envelope into typed exceptions
(:mod:`weather_trader.sources.kalshi.errors`).

Retries:

* Reads are retried with exponential backoff and jitter on 429, 5xx, timeouts and connection
  errors (Kalshi sends no ``Retry-After``).
* Writes are never blindly retried. They are retried only when the exchange certainly did not
  act: a 429 (refused by the rate limiter) or a connection that could not be opened. A write
  whose outcome is unknown (timeout, 5xx, dropped connection) raises :class:`OutcomeUnknown`
  when the caller asks for it, so an order create can be resolved by its ``client_order_id``
  (:mod:`weather_trader.sources.kalshi.rest_orders`).

The host is configurable (production, demo, or a local Kalshi-compatible exchange at
``http://127.0.0.1:PORT/trade-api/v2``). Logs carry ``extra={"method", "path", "status"}``;
headers, keys and signatures are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import (
    KalshiApiError,
    KalshiAuthError,
    KalshiMalformedResponse,
    KalshiUnavailable,
)
from weather_trader.sources.kalshi.ratelimit import DEFAULT_COST, Bucket, KalshiRateLimiter
from weather_trader.sources.kalshi.urls import PROD_BASE_URL
from weather_trader.sources.kalshi.wire import loads

logger = logging.getLogger(__name__)

WaitStrategy = Callable[[RetryCallState], float]
QueryValue = str | int | bool | Sequence[str]
M = TypeVar("M", bound=BaseModel)


class _Retryable(Exception):
    """Internal: a failure worth retrying; ``sent`` says whether the exchange may have acted."""

    def __init__(self, error: KalshiApiError, *, sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent


class OutcomeUnknown(Exception):
    """A write may or may not have been executed (timeout, 5xx, dropped link)."""

    def __init__(self, error: KalshiApiError) -> None:
        super().__init__(str(error))
        self.error = error


class KalshiTransport:
    """The HTTP layer every Kalshi REST call goes through; the base of ``KalshiClient``.

    Args:
        base_url: API root including ``/trade-api/v2`` (``PROD_BASE_URL`` or ``DEMO_BASE_URL``
            of :mod:`weather_trader.sources.kalshi.urls`, or a local exchange).
        credentials: API key; when given, every request is signed.
        tier: API tier sizing the token buckets (``basic`` ... ``prime``).
        timeout: Per-request timeout in seconds.
        transport: Optional httpx transport (tests, or a custom network stack).
        max_attempts: Attempts per request (including the first) for retryable failures.
        backoff_initial: First backoff wait in seconds (grows exponentially).
        backoff_max: Cap of one backoff wait in seconds.
        jitter: Maximum random seconds added to each backoff wait.
        wait: Replace the whole wait strategy (a tenacity ``wait`` callable; tests pass zero).
        sleep: Sleep used for backoff, the rate limiter and the order-lookup delay.
        clock: Monotonic clock of the rate limiter.
        rate_limiter: Share one limiter between clients using the same key.
        order_lookup_delay: Seconds to wait before looking up an order whose create outcome
            is unknown (lets the exchange finish processing it).
        user_agent: User-Agent header.

    Raises:
        ValueError: On an unknown tier or non-positive limits.
    """

    def __init__(
        self,
        base_url: str = PROD_BASE_URL,
        credentials: KalshiCredentials | None = None,
        *,
        tier: str = "basic",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        jitter: float = 0.5,
        wait: WaitStrategy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rate_limiter: KalshiRateLimiter | None = None,
        order_lookup_delay: float = 1.0,
        user_agent: str = "weather-trader",
    ) -> None:
        if max_attempts < 1 or timeout <= 0 or order_lookup_delay < 0:
            raise ValueError("need max_attempts >= 1, timeout > 0, order_lookup_delay >= 0")
        self.base_url = base_url.rstrip("/")
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self._credentials = credentials
        self.max_attempts = max_attempts
        self.order_lookup_delay = order_lookup_delay
        self._sleep = sleep
        self._wait: WaitStrategy = wait or wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=jitter
        )
        self.rate_limiter = rate_limiter or KalshiRateLimiter(tier, clock=clock, sleep=sleep)
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def __repr__(self) -> str:
        # The concrete class (KalshiClient); the key is never shown.
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, authenticated={self.authenticated})"

    @property
    def authenticated(self) -> bool:
        """Whether requests are signed (the key itself is never exposed)."""
        return self._credentials is not None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def signed_path(self, path: str) -> str:
        """The path Kalshi signs for ``path``: base path + path, no query string."""
        return self._base_path + "/" + path.split("?", 1)[0].lstrip("/")

    # -- generic access ------------------------------------------------------------------------

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue | None] | None = None,
        body: Any = None,
        write: bool = False,
        cost: int = DEFAULT_COST,
    ) -> Any:
        """Call any endpoint and return its decoded JSON (for endpoints without a wrapper).

        ``write=True`` bills the write bucket and never retries once the request may have
        reached the exchange; otherwise the request is retried like every read.
        """
        bucket: Bucket = "write" if write else "read"
        return self._request(
            method.upper(),
            path,
            params=params,
            body=body,
            bucket=bucket,
            cost=cost,
            idempotent=not write,
        )

    # -- internals: transport ------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, QueryValue | None] | None = None) -> Any:
        return self._request("GET", path, params=params, bucket="read", idempotent=True)

    def _write(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, QueryValue | None] | None = None,
        cost: int = DEFAULT_COST,
    ) -> Any:
        return self._request(
            method, path, params=params, body=body, bucket="write", cost=cost, idempotent=False
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue | None] | None = None,
        body: Any = None,
        bucket: Bucket = "read",
        cost: int = DEFAULT_COST,
        idempotent: bool,
        unknown_outcome: bool = False,
    ) -> Any:
        path = "/" + path.lstrip("/")
        signed = self.signed_path(path)
        if path.startswith("/portfolio") and self._credentials is None:
            raise KalshiAuthError(
                None,
                "no_credentials",
                "this endpoint needs API credentials",
                signed,
                method=method,
            )
        query = _clean_params(params)

        def should_retry(exc: BaseException) -> bool:
            return isinstance(exc, _Retryable) and (idempotent or not exc.sent)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self._sleep,
            before_sleep=self._log_retry(method, signed),
            reraise=True,
        )
        try:
            response = retrying(self._send_once, method, path, signed, query, body, bucket, cost)
        except _Retryable as exc:
            if unknown_outcome and exc.sent:
                raise OutcomeUnknown(exc.error) from None
            raise exc.error from None
        return self._decode(response, method, signed)

    def _send_once(
        self,
        method: str,
        path: str,
        signed: str,
        query: dict[str, Any],
        body: Any,
        bucket: Bucket,
        cost: int,
    ) -> httpx.Response:
        self.rate_limiter.acquire(bucket, cost)
        headers = self._credentials.headers(method, signed) if self._credentials else {}
        url = self.base_url + "/" + path.lstrip("/")
        try:
            response = self._client.request(method, url, params=query, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            error = KalshiUnavailable(
                None,
                "connect_failed",
                f"could not connect ({type(exc).__name__})",
                signed,
                method=method,
            )
            raise _Retryable(error, sent=False) from None
        except httpx.TimeoutException as exc:
            error = KalshiUnavailable(
                None, "timeout", f"timed out ({type(exc).__name__})", signed, method=method
            )
            raise _Retryable(error, sent=True) from None
        except httpx.TransportError as exc:
            error = KalshiUnavailable(
                None,
                "connection_lost",
                f"connection failed ({type(exc).__name__})",
                signed,
                method=method,
            )
            raise _Retryable(error, sent=True) from None
        status = response.status_code
        logger.debug(
            "Kalshi %s %s -> %s",
            method,
            signed,
            status,
            extra={"method": method, "path": signed, "status": status},
        )
        if status == 429:
            raise _Retryable(KalshiApiError.from_response(response, method, signed), sent=False)
        if status >= 500:
            raise _Retryable(KalshiApiError.from_response(response, method, signed), sent=True)
        if status >= 400:
            error = KalshiApiError.from_response(response, method, signed)
            logger.info(
                "Kalshi %s %s refused: %s %s",
                method,
                signed,
                error.code,
                error.message,
                extra={"method": method, "path": signed, "status": status},
            )
            raise error
        return response

    def _log_retry(self, method: str, signed: str) -> Callable[[RetryCallState], None]:
        def log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            error = exc.error if isinstance(exc, _Retryable) else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "Kalshi %s %s attempt %d/%d failed (%s); retrying in %.2fs",
                method,
                signed,
                state.attempt_number,
                self.max_attempts,
                error.code if error else exc,
                wait,
                extra={"method": method, "path": signed, "status": error.status if error else None},
            )

        return log

    def _decode(self, response: httpx.Response, method: str, signed: str) -> Any:
        if not response.content.strip():
            return {}
        try:
            return loads(response.content)  # floats as Decimal; too deep nesting: ValueError
        except (ValueError, UnicodeDecodeError) as exc:
            raise KalshiMalformedResponse(
                response.status_code,
                "invalid_json",
                f"invalid JSON in a {len(response.content)}-byte body ({type(exc).__name__})",
                signed,
                method=method,
            ) from None

    # -- internals: parsing and pagination -----------------------------------------------------

    def _malformed(self, method: str, path: str, message: str) -> KalshiMalformedResponse:
        return KalshiMalformedResponse(
            None, "schema_mismatch", message, self.signed_path(path), method=method
        )

    def _parse(self, model: type[M], data: Any, method: str, path: str) -> M:
        return self._parse_with(model.model_validate, data, method, path)

    def _parse_with(self, build: Callable[[Any], M], data: Any, method: str, path: str) -> M:
        try:
            return build(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)[:5]
            )
            raise self._malformed(method, path, problems) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._malformed(method, path, str(exc)) from None

    def _one(self, path: str, key: str, model: type[M]) -> M:
        data = self._get(path)
        if not isinstance(data, Mapping) or not isinstance(data.get(key), Mapping):
            raise self._malformed("GET", path, f"expected an object under {key!r}")
        return self._parse(model, data[key], "GET", path)

    def _pages(
        self,
        path: str,
        params: Mapping[str, QueryValue | None],
        key: str,
        max_pages: int | None = None,
    ) -> Iterator[list[Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            query = dict(params)
            if cursor:
                query["cursor"] = cursor
            data = self._get(path, query)
            yield items_of(data, key, self.signed_path(path))
            pages += 1
            cursor = data.get("cursor") or None
            if not cursor or (max_pages is not None and pages >= max_pages):
                return
            if cursor in seen:
                raise self._malformed("GET", path, f"pagination cursor {cursor!r} repeated")
            seen.add(cursor)

    def _collect(
        self,
        path: str,
        params: Mapping[str, QueryValue | None],
        key: str,
        model: type[M],
        max_pages: int | None = None,
    ) -> list[M]:
        return [
            self._parse(model, item, "GET", path)
            for page in self._pages(path, params, key, max_pages)
            for item in page
        ]


def items_of(data: Any, key: str, signed: str = "") -> list[Any]:
    """The list under ``key`` (Kalshi sends null for an empty list)."""
    if not isinstance(data, Mapping):
        raise KalshiMalformedResponse(None, "schema_mismatch", "expected a JSON object", signed)
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise KalshiMalformedResponse(
            None, "schema_mismatch", f"expected a list under {key!r}", signed
        )
    return items


def with_default(data: Any, key: str, value: str) -> Any:
    """``data`` with ``key`` set to ``value`` when it is missing or empty (acks may omit ids)."""
    if isinstance(data, Mapping) and not data.get(key):
        return {**data, key: value}
    return data


def _clean_params(params: Mapping[str, QueryValue | None] | None) -> dict[str, Any]:
    """Drop None values and spell booleans the way Kalshi expects (``true``/``false``)."""
    out: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[name] = [str(v) for v in value]
        else:
            out[name] = value
    return out


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size`` (Kalshi's per-request limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]

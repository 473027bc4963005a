"""A synchronous client for Kalshi's trade API (``/trade-api/v2``), 2026 edition.

:class:`KalshiClient` signs every request when it has credentials (the signed path includes
the base URL's path, e.g. ``/trade-api/v2/portfolio/balance``, never the query string),
spends tokens from client-side read/write buckets before each request, follows cursor
pagination, and turns Kalshi's error envelope into typed exceptions
(:mod:`weather_trader.sources.kalshi.errors`).

Retries:

* Reads are retried with exponential backoff and jitter on 429, 5xx, timeouts and connection
  errors (Kalshi sends no ``Retry-After``).
* Writes are never blindly retried. They are retried only when the exchange certainly did not
  act: a 429 (refused by the rate limiter) or a connection that could not be opened. When an
  order create's outcome is unknown (timeout, 5xx, dropped connection) the client looks the
  order up by its ``client_order_id``; if it exists it is returned, if not the create is re-sent
  once under the same id (a 409 duplicate then means it exists: look it up again), and if the
  outcome is still unknown :class:`KalshiOrderUnknown` is raised. A new id is never used.

The host is configurable (production, demo, or a local Kalshi-compatible exchange at
``http://127.0.0.1:PORT/trade-api/v2``). Logs carry ``extra={"method", "path", "status"}``;
headers, keys and signatures are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from weather_trader.core.records import OrderRequest
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import (
    KalshiApiError,
    KalshiAuthError,
    KalshiConflict,
    KalshiMalformedResponse,
    KalshiOrderUnknown,
    KalshiUnavailable,
)
from weather_trader.sources.kalshi.market_models import (
    Candlestick,
    Event,
    HistoricalCutoff,
    Market,
    Orderbook,
    Series,
    Trade,
)
from weather_trader.sources.kalshi.portfolio_models import (
    Balance,
    BatchOrderResult,
    CancelAck,
    ErrorBody,
    KalshiFill,
    KalshiOrder,
    KalshiPosition,
    KalshiSettlement,
    OrderAck,
    OrderGroup,
)
from weather_trader.sources.kalshi.ratelimit import (
    CANCEL_COST,
    DEFAULT_COST,
    Bucket,
    KalshiRateLimiter,
)

logger = logging.getLogger(__name__)

PROD_BASE_URL = "https://api.elections.kalshi.com/trade-api/v2"
DEMO_BASE_URL = "https://demo-api.kalshi.co/trade-api/v2"
WEATHER_CATEGORY = "Climate and Weather"
TEMPERATURE_SERIES_PREFIXES: tuple[str, ...] = ("KXHIGH", "KXLOWT")
"""Daily high (``KXHIGHNY``, ``KXHIGHTBOS``) and low (``KXLOWTNYC``) temperature series."""
V2_ORDERS_PATH = "/portfolio/events/orders"
MAX_BATCH_ORDERS = 20
MAX_ORDERBOOK_TICKERS = 100

SelfTradePrevention = Literal["taker_at_cross", "maker"]
WaitStrategy = Callable[[RetryCallState], float]
QueryValue = str | int | bool | Sequence[str]
M = TypeVar("M", bound=BaseModel)


def format_price(price: Decimal) -> str:
    """A price as Kalshi's fixed-point dollar string (``Decimal("0.42")`` -> ``"0.4200"``).

    Raises:
        ValueError: If the price is not within (0, 1) dollars or not a Decimal.
    """
    if not isinstance(price, Decimal) or not Decimal(0) < price < Decimal(1):
        raise ValueError(f"price must be a Decimal within (0, 1) dollars, got {price!r}")
    return f"{price:.4f}"


def format_count(count: int | Decimal) -> str:
    """A contract count as Kalshi's fixed-point count string (``10`` -> ``"10.00"``).

    Raises:
        ValueError: If the count is negative, a bool or a float.
    """
    if isinstance(count, bool) or not isinstance(count, int | Decimal) or count < 0:
        raise ValueError(f"count must be a non-negative int or Decimal, got {count!r}")
    return f"{Decimal(count):.2f}"


class _Retryable(Exception):
    """Internal: a failure worth retrying; ``sent`` says whether the exchange may have acted."""

    def __init__(self, error: KalshiApiError, *, sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent


class _OutcomeUnknown(Exception):
    """Internal: a write may or may not have been executed (timeout, 5xx, dropped link)."""

    def __init__(self, error: KalshiApiError) -> None:
        super().__init__(str(error))
        self.error = error


class KalshiClient:
    """Kalshi REST client (sync).

    Args:
        base_url: API root including ``/trade-api/v2`` (:data:`PROD_BASE_URL`,
            :data:`DEMO_BASE_URL`, or a local exchange).
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
        return f"KalshiClient(base_url={self.base_url!r}, authenticated={self.authenticated})"

    @property
    def authenticated(self) -> bool:
        """Whether requests are signed (the key itself is never exposed)."""
        return self._credentials is not None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def signed_path(self, path: str) -> str:
        """The path Kalshi signs for ``path``: base path + path, no query string."""
        return self._base_path + "/" + path.split("?", 1)[0].lstrip("/")

    # -- series, events, markets ---------------------------------------------------------------

    def series_list(self, *, category: str | None = None, tags: str | None = None) -> list[Series]:
        """All series, optionally filtered by category and tags (``GET /series``)."""
        params = {"category": category, "tags": tags}
        return self._collect("/series", params, "series", Series)

    def temperature_series(
        self,
        *,
        category: str = WEATHER_CATEGORY,
        tags: str | None = None,
        prefixes: Sequence[str] = TEMPERATURE_SERIES_PREFIXES,
    ) -> list[Series]:
        """The daily temperature series (``KXHIGH*``/``KXLOWT*``) listed in ``category``."""
        wanted = tuple(p.upper() for p in prefixes)
        found = self.series_list(category=category, tags=tags)
        return [s for s in found if s.ticker.upper().startswith(wanted)]

    def get_series(self, series_ticker: str) -> Series:
        """One series with its fee parameters and settlement sources."""
        path = f"/series/{series_ticker}"
        return self._one(path, "series", Series)

    def events(
        self,
        *,
        series_ticker: str | None = None,
        status: str | None = None,
        with_nested_markets: bool = False,
        min_close_ts: int | None = None,
        limit: int = 200,
        max_pages: int | None = None,
    ) -> list[Event]:
        """Events (all pages), optionally with their markets nested (``GET /events``)."""
        params = {
            "series_ticker": series_ticker,
            "status": status,
            "with_nested_markets": with_nested_markets or None,
            "min_close_ts": min_close_ts,
            "limit": limit,
        }
        return self._collect("/events", params, "events", Event, max_pages=max_pages)

    def get_event(self, event_ticker: str, *, with_nested_markets: bool = False) -> Event:
        """One event with its markets (``GET /events/{event_ticker}``)."""
        path = f"/events/{event_ticker}"
        data = self._get(path, {"with_nested_markets": with_nested_markets or None})
        return self._parse_with(Event.from_response, data, "GET", path)

    def markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: Sequence[str] | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Market]:
        """Markets (all pages) matching the filters (``GET /markets``)."""
        params = {
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "status": status,
            "tickers": ",".join(tickers) if tickers else None,
            "min_close_ts": min_close_ts,
            "max_close_ts": max_close_ts,
            "limit": limit,
        }
        return self._collect("/markets", params, "markets", Market, max_pages=max_pages)

    def get_market(self, ticker: str) -> Market:
        """One market (``GET /markets/{ticker}``)."""
        return self._one(f"/markets/{ticker}", "market", Market)

    def orderbook(self, ticker: str, depth: int | None = None) -> Orderbook:
        """A market's order book (``GET /markets/{ticker}/orderbook``); depth None = all."""
        path = f"/markets/{ticker}/orderbook"
        data = self._get(path, {"depth": depth})
        if not isinstance(data, Mapping):
            raise self._malformed("GET", path, "expected a JSON object")
        return self._parse(Orderbook, {**data, "ticker": ticker}, "GET", path)

    def orderbooks(self, tickers: Sequence[str]) -> list[Orderbook]:
        """Order books of many markets, 100 per request (``GET /markets/orderbooks``)."""
        path = "/markets/orderbooks"
        books: list[Orderbook] = []
        for chunk in _chunks(list(tickers), MAX_ORDERBOOK_TICKERS):
            data = self._get(path, {"tickers": chunk})
            books += [self._parse(Orderbook, x, "GET", path) for x in _items(data, "orderbooks")]
        return books

    def trades(
        self,
        *,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Trade]:
        """Public trades (all pages) (``GET /markets/trades``)."""
        params = {"ticker": ticker, "min_ts": min_ts, "max_ts": max_ts, "limit": limit}
        return self._collect("/markets/trades", params, "trades", Trade, max_pages=max_pages)

    def candlesticks(
        self,
        series_ticker: str,
        ticker: str,
        start_ts: int,
        end_ts: int,
        period_interval: int = 60,
    ) -> list[Candlestick]:
        """A market's candlesticks of 1, 60 or 1440 minutes.

        (``GET /series/{series}/markets/{ticker}/candlesticks``.)
        """
        path = f"/series/{series_ticker}/markets/{ticker}/candlesticks"
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_interval}
        data = self._get(path, params)
        return [self._parse(Candlestick, x, "GET", path) for x in _items(data, "candlesticks")]

    # -- historical archive --------------------------------------------------------------------

    def historical_cutoff(self) -> HistoricalCutoff:
        """Boundaries between live and archived data (``GET /historical/cutoff``)."""
        path = "/historical/cutoff"
        return self._parse(HistoricalCutoff, self._get(path), "GET", path)

    def historical_markets(
        self,
        *,
        tickers: Sequence[str] | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Market]:
        """Archived (settled before the cutoff) markets (``GET /historical/markets``)."""
        params = {
            "tickers": ",".join(tickers) if tickers else None,
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "limit": limit,
        }
        path = "/historical/markets"
        return self._collect(path, params, "markets", Market, max_pages=max_pages)

    def historical_market(self, ticker: str) -> Market:
        """One archived market (``GET /historical/markets/{ticker}``)."""
        return self._one(f"/historical/markets/{ticker}", "market", Market)

    def historical_candlesticks(
        self, ticker: str, start_ts: int, end_ts: int, period_interval: int = 60
    ) -> list[Candlestick]:
        """Candlesticks of an archived market (``GET /historical/markets/{t}/candlesticks``)."""
        path = f"/historical/markets/{ticker}/candlesticks"
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_interval}
        data = self._get(path, params)
        return [self._parse(Candlestick, x, "GET", path) for x in _items(data, "candlesticks")]

    def historical_orders(
        self, *, ticker: str | None = None, max_ts: int | None = None, limit: int = 1000
    ) -> list[KalshiOrder]:
        """Our archived orders (``GET /historical/orders``)."""
        params = {"ticker": ticker, "max_ts": max_ts, "limit": limit}
        return self._collect("/historical/orders", params, "orders", KalshiOrder)

    def historical_fills(
        self, *, ticker: str | None = None, max_ts: int | None = None, limit: int = 1000
    ) -> list[KalshiFill]:
        """Our archived fills (``GET /historical/fills``)."""
        params = {"ticker": ticker, "max_ts": max_ts, "limit": limit}
        return self._collect("/historical/fills", params, "fills", KalshiFill)

    # -- portfolio -----------------------------------------------------------------------------

    def balance(self) -> Balance:
        """Account balance in Decimal dollars (``GET /portfolio/balance``)."""
        path = "/portfolio/balance"
        return self._parse(Balance, self._get(path), "GET", path)

    def positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: str | None = None,
        limit: int = 1000,
    ) -> list[KalshiPosition]:
        """Market positions (all pages) (``GET /portfolio/positions``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "count_filter": count_filter,
            "limit": limit,
        }
        return self._collect("/portfolio/positions", params, "market_positions", KalshiPosition)

    def orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        status: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiOrder]:
        """Our orders (all pages) (``GET /portfolio/orders``)."""
        return list(
            self._iter_orders(
                ticker=ticker,
                event_ticker=event_ticker,
                status=status,
                min_ts=min_ts,
                max_ts=max_ts,
                limit=limit,
            )
        )

    def get_order(self, order_id: str) -> KalshiOrder:
        """One of our orders by exchange id (``GET /portfolio/orders/{order_id}``)."""
        return self._one(f"/portfolio/orders/{order_id}", "order", KalshiOrder)

    def find_order(self, client_order_id: str, ticker: str) -> KalshiOrder | None:
        """Our order on ``ticker`` with this ``client_order_id``, or None if there is none.

        Kalshi has no client-id filter: the market's orders are listed (every status, all
        pages) and matched.
        """
        for order in self._iter_orders(ticker=ticker):
            if order.client_order_id == client_order_id:
                return order
        return None

    def fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiFill]:
        """Our fills (all pages) (``GET /portfolio/fills``)."""
        params = {
            "ticker": ticker,
            "order_id": order_id,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "limit": limit,
        }
        return self._collect("/portfolio/fills", params, "fills", KalshiFill)

    def settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
    ) -> list[KalshiSettlement]:
        """Our settlements (all pages) (``GET /portfolio/settlements``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "limit": limit,
        }
        return self._collect("/portfolio/settlements", params, "settlements", KalshiSettlement)

    # -- V2 order writes -----------------------------------------------------------------------

    def create_order(
        self,
        order: OrderRequest,
        *,
        self_trade_prevention_type: SelfTradePrevention = "taker_at_cross",
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
        expiration_time: int | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Place one order (``POST /portfolio/events/orders``), resolving unknown outcomes.

        ``side`` is on the YES book: buy YES at p = ``bid`` at p; buy NO at p = ``ask`` at
        1 - p. A 409 (this ``client_order_id`` already exists) returns the existing order
        (``recovered=True``): the create is idempotent per client id.

        Raises:
            KalshiOrderUnknown: If the outcome of a timed-out / failed create cannot be
                resolved; look the order up before doing anything else.
            KalshiConflict: On a 409 when no order with this client id can be found.
            KalshiRateLimited: If 429s persisted (the order was certainly not placed).
            KalshiApiError: Other refusals (400 bad request, 401 auth ...).
        """
        body = self._order_body(
            order,
            self_trade_prevention_type=self_trade_prevention_type,
            order_group_id=order_group_id,
            cancel_order_on_pause=cancel_order_on_pause,
            expiration_time=expiration_time,
            subaccount=subaccount,
        )
        return self._create_with_recovery(body)

    def batch_create_orders(
        self,
        orders: Sequence[OrderRequest],
        *,
        self_trade_prevention_type: SelfTradePrevention = "taker_at_cross",
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
    ) -> list[BatchOrderResult]:
        """Place many orders, 20 per request (``POST /portfolio/events/orders/batched``).

        A batch whose outcome is unknown is resolved like :meth:`create_order`: every client
        id is looked up, the missing ones are re-sent once under the same ids.

        Raises:
            KalshiOrderUnknown: Naming the client ids whose outcome stays unknown.
            KalshiApiError: If the batch request itself is refused.
        """
        ids = [o.client_order_id for o in orders]
        if len(set(ids)) != len(ids):
            raise ValueError("client_order_id values in one batch must be unique")
        results: list[BatchOrderResult] = []
        for chunk in _chunks(list(orders), MAX_BATCH_ORDERS):
            bodies = [
                self._order_body(
                    o,
                    self_trade_prevention_type=self_trade_prevention_type,
                    order_group_id=order_group_id,
                    cancel_order_on_pause=cancel_order_on_pause,
                )
                for o in chunk
            ]
            results += self._batch_create_with_recovery(bodies)
        return results

    def cancel_order(
        self, order_id: str, *, ticker: str | None = None, subaccount: int | None = None
    ) -> CancelAck:
        """Cancel an order (``DELETE /portfolio/events/orders/{order_id}``; 2 write tokens).

        ``ticker`` is sent as ``market_ticker`` (the project's local exchange uses it; Kalshi's
        documentation lists only ``subaccount``).
        """
        path = f"{V2_ORDERS_PATH}/{order_id}"
        params = {"market_ticker": ticker, "subaccount": subaccount}
        data = self._write("DELETE", path, params=params, cost=CANCEL_COST)
        if isinstance(data, Mapping) and not data.get("order_id"):
            data = {**data, "order_id": order_id}
        return self._parse(CancelAck, data, "DELETE", path)

    def batch_cancel_orders(
        self, order_ids: Sequence[str], *, subaccount: int | None = None
    ) -> list[CancelAck]:
        """Cancel many orders, 20 per request (``DELETE /portfolio/events/orders/batched``)."""
        path = f"{V2_ORDERS_PATH}/batched"
        out: list[CancelAck] = []
        for chunk in _chunks(list(order_ids), MAX_BATCH_ORDERS):
            items = [
                {"order_id": oid, **({"subaccount": subaccount} if subaccount is not None else {})}
                for oid in chunk
            ]
            data = self._write(
                "DELETE", path, body={"orders": items}, cost=CANCEL_COST * len(chunk)
            )
            out += [self._parse(CancelAck, x, "DELETE", path) for x in _items(data, "orders")]
        return out

    def amend_order(
        self,
        order_id: str,
        *,
        ticker: str,
        side: Literal["bid", "ask"],
        price: Decimal,
        count: int | Decimal,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Change an order's price and/or max fillable count (V2 amend).

        ``count`` is the new total (already filled + desired resting), as Kalshi defines it.
        """
        path = f"{V2_ORDERS_PATH}/{order_id}/amend"
        body: dict[str, Any] = {
            "ticker": ticker,
            "side": side,
            "price": format_price(price),
            "count": format_count(count),
        }
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        if updated_client_order_id is not None:
            body["updated_client_order_id"] = updated_client_order_id
        data = self._write("POST", path, body=body, params={"subaccount": subaccount})
        return self._parse(OrderAck, _with_default(data, "order_id", order_id), "POST", path)

    def decrease_order(
        self,
        order_id: str,
        *,
        reduce_by: int | Decimal | None = None,
        reduce_to: int | Decimal | None = None,
        subaccount: int | None = None,
    ) -> OrderAck:
        """Reduce an order's resting size by or to a count (V2 decrease).

        Raises:
            ValueError: Unless exactly one of ``reduce_by`` / ``reduce_to`` is given.
        """
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("give exactly one of reduce_by or reduce_to")
        path = f"{V2_ORDERS_PATH}/{order_id}/decrease"
        body = (
            {"reduce_by": format_count(reduce_by)}
            if reduce_by is not None
            else {"reduce_to": format_count(reduce_to)}  # type: ignore[arg-type]
        )
        data = self._write("POST", path, body=body, params={"subaccount": subaccount})
        return self._parse(OrderAck, _with_default(data, "order_id", order_id), "POST", path)

    # -- order groups --------------------------------------------------------------------------

    def create_order_group(self, contracts_limit: int, *, subaccount: int | None = None) -> str:
        """Create an order group capping matched contracts per rolling 15 s; returns its id."""
        if isinstance(contracts_limit, bool) or contracts_limit < 1:
            raise ValueError(f"contracts_limit must be >= 1, got {contracts_limit!r}")
        path = "/portfolio/order_groups/create"
        body: dict[str, Any] = {
            "contracts_limit": contracts_limit,
            "contracts_limit_fp": format_count(contracts_limit),
        }
        if subaccount is not None:
            body["subaccount"] = subaccount
        data = self._write("POST", path, body=body)
        group_id = data.get("order_group_id") if isinstance(data, Mapping) else None
        if not isinstance(group_id, str) or not group_id:
            raise self._malformed("POST", path, "no order_group_id in the response")
        return group_id

    def order_groups(self) -> list[OrderGroup]:
        """Our order groups (``GET /portfolio/order_groups``)."""
        path = "/portfolio/order_groups"
        data = self._get(path)
        return [self._parse(OrderGroup, x, "GET", path) for x in _items(data, "order_groups")]

    def get_order_group(self, order_group_id: str) -> OrderGroup:
        """One order group with its order ids (``GET /portfolio/order_groups/{id}``)."""
        path = f"/portfolio/order_groups/{order_group_id}"
        data = self._get(path)
        if isinstance(data, Mapping) and isinstance(data.get("order_group"), Mapping):
            data = data["order_group"]
        return self._parse(OrderGroup, _with_default(data, "id", order_group_id), "GET", path)

    def delete_order_group(self, order_group_id: str) -> None:
        """Delete an order group and cancel its orders."""
        self._write("DELETE", f"/portfolio/order_groups/{order_group_id}")

    def reset_order_group(self, order_group_id: str) -> None:
        """Reset an order group's matched-contracts counter so it accepts orders again."""
        self._write("PUT", f"/portfolio/order_groups/{order_group_id}/reset", body={})

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

    # -- internals: order recovery -------------------------------------------------------------

    def _order_body(
        self,
        order: OrderRequest,
        *,
        self_trade_prevention_type: str,
        order_group_id: str | None = None,
        cancel_order_on_pause: bool | None = None,
        expiration_time: int | None = None,
        subaccount: int | None = None,
    ) -> dict[str, Any]:
        if not order.client_order_id:
            raise ValueError("an order needs a deterministic client_order_id")
        body: dict[str, Any] = {
            "ticker": order.ticker,
            "client_order_id": order.client_order_id,
            "side": order.side,
            "count": format_count(order.count),
            "price": format_price(order.price),
            "time_in_force": order.time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
            "post_only": order.post_only,
            "reduce_only": order.reduce_only,
        }
        optional = {
            "order_group_id": order_group_id,
            "cancel_order_on_pause": cancel_order_on_pause,
            "expiration_time": expiration_time,
            "subaccount": subaccount,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def _create_with_recovery(self, body: dict[str, Any]) -> OrderAck:
        cid, ticker = body["client_order_id"], body["ticker"]
        signed = self.signed_path(V2_ORDERS_PATH)
        for attempt in (1, 2):
            try:
                data = self._request(
                    "POST",
                    V2_ORDERS_PATH,
                    body=body,
                    bucket="write",
                    cost=DEFAULT_COST,
                    idempotent=False,
                    unknown_outcome=True,
                )
            except KalshiConflict as exc:
                found = self._lookup(cid, ticker, signed)
                if found is not None:
                    self._log_recovered(cid, signed, "409 duplicate")
                    return OrderAck.from_order(found)
                if attempt == 1:
                    raise
                raise KalshiOrderUnknown(
                    cid,
                    "the re-send was refused as a duplicate yet no such order is listed",
                    signed,
                ) from exc
            except _OutcomeUnknown as exc:
                self._sleep(self.order_lookup_delay)
                found = self._lookup(cid, ticker, signed)
                if found is not None:
                    self._log_recovered(cid, signed, exc.error.code)
                    return OrderAck.from_order(found)
                if attempt == 2:
                    raise KalshiOrderUnknown(
                        cid, f"the re-sent create failed too ({exc.error.message})", signed
                    ) from exc.error
                logger.warning(
                    "Kalshi order create outcome unknown (%s) and no order with its "
                    "client_order_id exists; re-sending once under the same id",
                    exc.error.message,
                    extra={"method": "POST", "path": signed, "status": exc.error.status},
                )
                continue
            ack = self._parse(OrderAck, data, "POST", V2_ORDERS_PATH)
            if ack.client_order_id and ack.client_order_id != cid:
                raise self._malformed("POST", V2_ORDERS_PATH, "ack for another client_order_id")
            return ack
        raise AssertionError("unreachable")  # pragma: no cover

    def _batch_create_with_recovery(self, bodies: list[dict[str, Any]]) -> list[BatchOrderResult]:
        path = f"{V2_ORDERS_PATH}/batched"
        signed = self.signed_path(path)
        resolved: dict[str, BatchOrderResult] = {}
        pending = bodies
        for attempt in (1, 2):
            try:
                data = self._request(
                    "POST",
                    path,
                    body={"orders": pending},
                    bucket="write",
                    cost=DEFAULT_COST * len(pending),
                    idempotent=False,
                    unknown_outcome=True,
                )
            except _OutcomeUnknown as exc:
                self._sleep(self.order_lookup_delay)
                found = self._lookup_many([(b["client_order_id"], b["ticker"]) for b in pending])
                for cid, order in found.items():
                    self._log_recovered(cid, signed, exc.error.code)
                    resolved[cid] = BatchOrderResult(
                        client_order_id=cid, ack=OrderAck.from_order(order)
                    )
                pending = [b for b in pending if b["client_order_id"] not in resolved]
                if not pending:
                    break
                if attempt == 2:
                    missing = ",".join(b["client_order_id"] for b in pending)
                    raise KalshiOrderUnknown(
                        missing, f"the re-sent batch failed too ({exc.error.message})", signed
                    ) from exc.error
                continue
            items = [self._parse(BatchOrderResult, x, "POST", path) for x in _items(data, "orders")]
            for body, item in zip(pending, items, strict=False):
                cid = item.client_order_id or body["client_order_id"]
                resolved[cid] = item
            break
        return [
            resolved.get(b["client_order_id"])
            or BatchOrderResult(
                client_order_id=b["client_order_id"],
                error=ErrorBody(code="missing_result", message="no result for this order"),
            )
            for b in bodies
        ]

    def _lookup(self, client_order_id: str, ticker: str, signed: str) -> KalshiOrder | None:
        try:
            return self.find_order(client_order_id, ticker)
        except KalshiApiError as exc:
            raise KalshiOrderUnknown(
                client_order_id, f"could not look the order up ({exc})", signed
            ) from exc

    def _lookup_many(self, keys: Iterable[tuple[str, str]]) -> dict[str, KalshiOrder]:
        wanted: dict[str, set[str]] = {}
        for cid, ticker in keys:
            wanted.setdefault(ticker, set()).add(cid)
        found: dict[str, KalshiOrder] = {}
        for ticker, cids in wanted.items():
            try:
                orders = list(self._iter_orders(ticker=ticker))
            except KalshiApiError as exc:
                raise KalshiOrderUnknown(
                    ",".join(sorted(cids)),
                    f"could not look the orders up ({exc})",
                    self.signed_path("/portfolio/orders"),
                ) from exc
            found.update({o.client_order_id: o for o in orders if o.client_order_id in cids})
        return found

    def _log_recovered(self, client_order_id: str, signed: str, reason: str) -> None:
        logger.warning(
            "Kalshi order %s resolved by client_order_id lookup after %s",
            client_order_id,
            reason,
            extra={"method": "POST", "path": signed, "status": None},
        )

    def _iter_orders(self, **filters: Any) -> Iterator[KalshiOrder]:
        path = "/portfolio/orders"
        params = {"limit": 1000, **filters}
        for page in self._pages(path, params, "orders"):
            for item in page:
                yield self._parse(KalshiOrder, item, "GET", path)

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
                raise _OutcomeUnknown(exc.error) from None
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
            return response.json(parse_float=Decimal)
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
            yield _items(data, key, self.signed_path(path))
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


def _items(data: Any, key: str, signed: str = "") -> list[Any]:
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


def _with_default(data: Any, key: str, value: str) -> Any:
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


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The FastAPI app of the local exchange: Kalshi's REST API under ``/trade-api/v2``, its
WebSocket at ``/trade-api/ws/v2`` and the sim-only admin routes under ``/sim``.

Paths, query parameters, field names, status codes and the error envelope
``{"error": {"code", "message", "details"}}`` follow Kalshi (OpenAPI v3.13.0 and the V2 order
pages of docs.kalshi.com). Market data is public (signed headers, when sent, must verify);
``/portfolio`` routes need a signed request. The V1 order-write routes answer 410 with
``deprecated_v1_order_endpoint``, as Kalshi does now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from weather_trader.sim.exchange.accounts import DEFAULT_BALANCE_CENTS
from weather_trader.sim.exchange.auth import MAX_SKEW_MS, authenticate, has_credentials
from weather_trader.sim.exchange.catalog import Catalog
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.errors import (
    BadRequestError,
    ExchangeError,
    GoneError,
    NotFoundError,
)
from weather_trader.sim.exchange.keys import KeyStore
from weather_trader.sim.exchange.matching import (
    STP_TYPES,
    TIME_IN_FORCE,
    NewOrder,
    expiration_from_seconds,
    validate_choice,
)
from weather_trader.sim.exchange.render import (
    MARKET_STATUS,
    event_json,
    event_positions_json,
    execution_v2_json,
    fill_json,
    market_json,
    order_json,
    orderbook_json,
    position_json,
    series_json,
    settlement_json,
    trade_json,
)
from weather_trader.sim.exchange.store import ExchangeStore
from weather_trader.sim.exchange.wire import (
    count_fp,
    iso,
    page,
    parse_count,
    parse_iso,
    parse_price,
    ts_ms,
)
from weather_trader.sim.exchange.ws import WsHub, serve_connection
from weather_trader.sim.market import SimMarket
from weather_trader.sim.world import build_sim

API_PREFIX = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"
V2_DOCS = "https://docs.kalshi.com/api-reference/orders/create-order-v2"
MAX_BATCH = 20
_STATUS_FILTER = tuple(MARKET_STATUS)
log = logging.getLogger(__name__)


@dataclass
class ExchangeState:
    """Everything the exchange app serves: the sim market, the clock, keys and the engine.

    Build it with :meth:`create`.
    """

    market: SimMarket
    catalog: Catalog
    clock: ExchangeClock
    keys: KeyStore
    engine: ExchangeEngine
    hub: WsHub
    store: ExchangeStore | None = None
    max_skew_ms: int = MAX_SKEW_MS
    tick_seconds: float = 0.5

    @classmethod
    def create(
        cls,
        *,
        home: Path | None = None,
        seed: int = 7,
        clock: ExchangeClock | None = None,
        market: SimMarket | None = None,
        starting_balance_cents: int = DEFAULT_BALANCE_CENTS,
        history_days: int = 3,
        max_skew_ms: int = MAX_SKEW_MS,
    ) -> ExchangeState:
        """A ready exchange.

        Args:
            home: Folder for keys (``keys/``) and state (``exchange.sqlite``), e.g.
                ``$WEATHER_TRADER_HOME/exchange``; None keeps everything in memory.
            seed: Sim world seed (ignored when ``market`` is given).
            clock: The exchange clock; default the persisted sim clock of ``home`` if any,
                else wall time.
            market: The sim market; default ``build_sim(seed)``'s.
            starting_balance_cents: Balance of a new account (default $1,000.00).
            history_days: Past climate days still listed.
            max_skew_ms: Accepted distance of a signed timestamp from the wall clock.
        """
        store = ExchangeStore(home / "exchange.sqlite") if home is not None else None
        if clock is None:
            clock = ExchangeClock()
            saved = store.get_meta("clock") if store is not None else None
            if saved:
                clock.set(datetime.fromisoformat(saved))
        if market is None:
            _, market = build_sim(seed)
        catalog = Catalog(market, history_days=history_days)
        engine = ExchangeEngine(
            catalog, clock, store=store, starting_balance_cents=starting_balance_cents
        )
        keys = KeyStore(home / "keys" if home is not None else None)
        hub = WsHub(engine, catalog, lambda: engine.sync())
        return cls(market, catalog, clock, keys, engine, hub, store, max_skew_ms)

    def sync(self) -> None:
        """Bring the engine up to the clock."""
        self.engine.sync()

    def authenticate(self, headers: Any, method: str, path: str) -> str:
        """The account id of a signed request (raises :class:`AuthError`)."""
        user_id = authenticate(self.keys, headers, method, path, max_skew_ms=self.max_skew_ms)
        self.engine.account(user_id)
        return user_id

    def close(self) -> None:
        """Release the store."""
        if self.store is not None:
            self.store.close()


def _error(exc: ExchangeError) -> JSONResponse:
    return JSONResponse(exc.envelope(), status_code=exc.status)


def create_exchange_app(state: ExchangeState) -> FastAPI:
    """The exchange as a FastAPI app (REST, WebSocket and ``/sim`` admin routes)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.hub.bind(asyncio.get_running_loop())
        state.sync()
        ticker = asyncio.create_task(_tick(state))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    app = FastAPI(title="weather-trader local Kalshi exchange", lifespan=lifespan)
    app.state.exchange = state

    @app.exception_handler(ExchangeError)
    async def _exchange_error(_: Request, exc: ExchangeError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(
            BadRequestError(
                f"invalid {where}: {first.get('msg', 'bad input')}", code="invalid_parameters"
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail), "details": ""}},
            status_code=exc.status_code,
        )

    app.include_router(_market_routes(state), prefix=API_PREFIX)
    app.include_router(_portfolio_routes(state), prefix=API_PREFIX)
    app.include_router(_sim_routes(state), prefix="/sim")

    @app.websocket(WS_PATH)
    async def _ws(websocket: WebSocket) -> None:
        await serve_connection(
            websocket,
            state.hub,
            lambda ws: state.authenticate(ws.headers, "GET", ws.url.path),
        )

    return app


async def _tick(state: ExchangeState) -> None:
    """Keep the exchange in step with the clock (crowd re-quotes, crossings, settlement)."""
    while True:
        await asyncio.sleep(state.tick_seconds)
        try:
            state.sync()
        except Exception:  # a bad tick must not stop the exchange
            log.exception("exchange tick failed")


# -- market data ----------------------------------------------------------------------------


def _market_routes(state: ExchangeState) -> APIRouter:
    router = APIRouter()
    catalog, engine = state.catalog, state.engine

    def public(request: Request) -> None:
        """Public data: no credentials needed, but credentials sent must be valid."""
        if has_credentials(request.headers):
            state.authenticate(request.headers, request.method, request.url.path)
        state.sync()

    @router.get("/exchange/status")
    async def exchange_status() -> dict:
        return {"exchange_active": True, "trading_active": True}

    @router.get("/series")
    async def list_series(
        request: Request, include_volume: bool = False, category: str | None = None
    ) -> dict:
        public(request)
        items = [] if category not in (None, "", "Climate and Weather") else catalog.series()
        return {
            "series": [
                series_json(catalog, t, engine if include_volume else None) for t, _, _ in items
            ]
        }

    @router.get("/series/{series_ticker}")
    async def get_series(
        request: Request, series_ticker: str, include_volume: bool = False
    ) -> dict:
        public(request)
        volume = engine if include_volume else None
        return {"series": series_json(catalog, series_ticker, volume)}

    @router.get("/events")
    async def list_events(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=200)] = 200,
        cursor: str | None = None,
        with_nested_markets: bool = False,
        status: str | None = None,
        series_ticker: str | None = None,
        min_close_ts: int | None = None,
    ) -> dict:
        public(request)
        now = state.clock.now()
        _check_status(status)
        events = [
            ev
            for ev in catalog.listed_events(now)
            if (not series_ticker or ev.series == series_ticker)
            and (not status or catalog.status(ev, now) == status)
            and (min_close_ts is None or catalog.close_time(ev).timestamp() > min_close_ts)
        ]
        chunk, next_cursor = page(events, cursor, limit)
        return {
            "events": [
                event_json(catalog, engine, ev, now, with_markets=with_nested_markets)
                for ev in chunk
            ],
            "cursor": next_cursor,
        }

    @router.get("/events/{event_ticker}")
    async def get_event(
        request: Request, event_ticker: str, with_nested_markets: bool = False
    ) -> dict:
        public(request)
        now = state.clock.now()
        ev = catalog.event(event_ticker, now)
        markets = [market_json(catalog, engine, ref, now) for ref in catalog.markets_of(ev)]
        body = event_json(catalog, engine, ev, now)
        if with_nested_markets:
            body["markets"] = markets
        return {"event": body, "markets": markets}

    @router.get("/markets")
    async def list_markets(
        request: Request,
        limit: Annotated[int, Query(ge=0, le=1000)] = 100,
        cursor: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: str | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
    ) -> dict:
        public(request)
        now = state.clock.now()
        _check_status(status)
        if tickers:
            refs = []
            for t in tickers.split(","):
                with contextlib.suppress(NotFoundError):
                    refs.append(catalog.market_ref(t.strip(), now))
        elif event_ticker:
            refs = catalog.markets_of(catalog.event(event_ticker, now))
        else:
            refs = [r for ev in catalog.listed_events(now) for r in catalog.markets_of(ev)]
        refs = [
            r
            for r in refs
            if (not series_ticker or r.event.series == series_ticker)
            and (not event_ticker or r.event.event_ticker == event_ticker)
            and (not status or catalog.status(r.event, now) == status)
            and (min_close_ts is None or catalog.close_time(r.event).timestamp() > min_close_ts)
            and (max_close_ts is None or catalog.close_time(r.event).timestamp() < max_close_ts)
        ]
        chunk, next_cursor = page(refs, cursor, limit or 100)
        return {
            "markets": [market_json(catalog, engine, r, now) for r in chunk],
            "cursor": next_cursor,
        }

    @router.get("/markets/trades")
    async def list_trades(
        request: Request,
        limit: Annotated[int, Query(ge=0, le=1000)] = 100,
        cursor: str | None = None,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
    ) -> dict:
        public(request)
        trades = [
            t
            for t in engine.trades()
            if (not ticker or t.ticker == ticker) and _in_range(t.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = page(trades, cursor, limit or 100)
        return {"trades": [trade_json(t) for t in chunk], "cursor": next_cursor}

    @router.get("/markets/orderbooks")
    async def get_orderbooks(
        request: Request, tickers: Annotated[list[str], Query(min_length=1)]
    ) -> dict:
        public(request)
        names = [t.strip() for item in tickers for t in item.split(",") if t.strip()]
        if not 1 <= len(names) <= 100:
            raise BadRequestError("tickers must list 1 to 100 markets", code="invalid_parameters")
        return {
            "orderbooks": [
                {"ticker": t, "orderbook_fp": orderbook_json(engine.book(t))} for t in names
            ]
        }

    @router.get("/markets/{ticker}")
    async def get_market(request: Request, ticker: str) -> dict:
        public(request)
        now = state.clock.now()
        return {"market": market_json(catalog, engine, catalog.market_ref(ticker, now), now)}

    @router.get("/markets/{ticker}/orderbook")
    async def get_orderbook(
        request: Request, ticker: str, depth: Annotated[int, Query(ge=0, le=100)] = 0
    ) -> dict:
        public(request)
        return {"orderbook_fp": orderbook_json(engine.book(ticker), depth)}

    return router


def _check_status(status: str | None) -> None:
    if status and status not in _STATUS_FILTER:
        raise BadRequestError(
            f"status must be one of {list(_STATUS_FILTER)}", code="invalid_parameters"
        )


def _in_range(moment: datetime, min_ts: int | None, max_ts: int | None) -> bool:
    ts = moment.timestamp()
    return (min_ts is None or ts >= min_ts) and (max_ts is None or ts <= max_ts)


# -- portfolio ------------------------------------------------------------------------------


def _portfolio_routes(state: ExchangeState) -> APIRouter:
    router = APIRouter()
    engine = state.engine

    def user(request: Request) -> str:
        user_id = state.authenticate(request.headers, request.method, request.url.path)
        state.sync()
        return user_id

    def gone() -> None:
        raise GoneError("Please switch to the V2 endpoints", details=V2_DOCS)

    @router.get("/portfolio/balance")
    async def balance(request: Request) -> dict:
        user_id = user(request)
        acct = engine.account(user_id)
        return {
            "balance": acct.balance,
            "portfolio_value": engine.portfolio_value(user_id),
            "updated_ts": int(acct.updated.timestamp()),
        }

    @router.get("/portfolio/positions")
    async def positions(
        request: Request,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        count_filter: str | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
    ) -> dict:
        user_id = user(request)
        filters = {f.strip() for f in (count_filter or "").split(",") if f.strip()}
        if filters - {"position", "total_traded"}:
            raise BadRequestError(
                "count_filter accepts position, total_traded", code="invalid_parameters"
            )
        mine = [
            p
            for p in engine.user_positions(user_id)
            if (not ticker or p.ticker == ticker)
            and (not event_ticker or p.event_ticker == event_ticker)
            and (
                not filters
                or ("position" in filters and p.position != 0)
                or ("total_traded" in filters and p.traded != 0)
            )
        ]
        chunk, next_cursor = page(mine, cursor, limit)
        return {
            "market_positions": [
                position_json(p, engine.resting_count(user_id, p.ticker)) for p in chunk
            ],
            "event_positions": event_positions_json(chunk),
            "cursor": next_cursor,
        }

    @router.get("/portfolio/orders")
    async def list_orders(
        request: Request,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> dict:
        user_id = user(request)
        if status and status not in ("resting", "canceled", "executed"):
            raise BadRequestError(
                "status must be resting, canceled or executed", code="invalid_parameters"
            )
        events = {e.strip() for e in (event_ticker or "").split(",") if e.strip()}
        orders = [
            o
            for o in engine.user_orders(user_id)
            if (not ticker or o.ticker == ticker)
            and (not events or o.event_ticker in events)
            and (not status or o.status == status)
            and _in_range(o.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = page(orders, cursor, limit)
        return {"orders": [order_json(o) for o in chunk], "cursor": next_cursor}

    @router.post("/portfolio/orders")
    async def create_order_v1() -> None:
        gone()

    @router.post("/portfolio/orders/batched")
    async def batch_create_v1() -> None:
        gone()

    @router.delete("/portfolio/orders/batched")
    async def batch_cancel_v1() -> None:
        gone()

    @router.get("/portfolio/orders/{order_id}")
    async def get_order(request: Request, order_id: str) -> dict:
        return {"order": order_json(engine.get_order(user(request), order_id))}

    @router.delete("/portfolio/orders/{order_id}")
    async def cancel_v1(order_id: str) -> None:
        gone()

    @router.post("/portfolio/orders/{order_id}/amend")
    async def amend_v1(order_id: str) -> None:
        gone()

    @router.post("/portfolio/orders/{order_id}/decrease")
    async def decrease_v1(order_id: str) -> None:
        gone()

    @router.get("/portfolio/fills")
    async def fills(
        request: Request,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> dict:
        user_id = user(request)
        mine = [
            f
            for f in engine.user_fills(user_id)
            if (not ticker or f.ticker == ticker)
            and (not order_id or f.order_id == order_id)
            and _in_range(f.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = page(mine, cursor, limit)
        return {"fills": [fill_json(f) for f in chunk], "cursor": next_cursor}

    @router.get("/portfolio/settlements")
    async def settlements(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
    ) -> dict:
        user_id = user(request)
        mine = [
            s
            for s in engine.user_settlements(user_id)
            if (not ticker or s.ticker == ticker)
            and (not event_ticker or s.event_ticker == event_ticker)
            and _in_range(s.settled_time, min_ts, max_ts)
        ]
        chunk, next_cursor = page(mine, cursor, limit)
        return {"settlements": [settlement_json(s) for s in chunk], "cursor": next_cursor}

    # -- V2 orders (docs.kalshi.com/api-reference/orders/*-v2) ----------------------------------

    @router.post("/portfolio/events/orders", status_code=201)
    async def create_order(request: Request) -> JSONResponse:
        user_id = user(request)
        req = parse_new_order(await _json_body(request))
        execution = engine.create_order(user_id, req)
        return JSONResponse(execution_v2_json(execution, state.clock.now()), status_code=201)

    @router.post("/portfolio/events/orders/batched", status_code=201)
    async def batch_create(request: Request) -> JSONResponse:
        user_id = user(request)
        body = await _json_body(request)
        items = body.get("orders")
        if not isinstance(items, list) or not items:
            raise BadRequestError("orders must be a non-empty list", code="invalid_parameters")
        if len(items) > MAX_BATCH:
            raise BadRequestError(
                f"at most {MAX_BATCH} orders per batch", code="invalid_parameters"
            )
        out = []
        for item in items:
            coid = item.get("client_order_id") if isinstance(item, dict) else None
            try:
                execution = engine.create_order(user_id, parse_new_order(item))
                out.append(execution_v2_json(execution, state.clock.now()))
            except ExchangeError as exc:
                out.append(
                    {
                        "order_id": None,
                        "client_order_id": coid,
                        "fill_count": None,
                        "remaining_count": None,
                        "ts_ms": None,
                        "error": exc.envelope()["error"],
                    }
                )
        return JSONResponse({"orders": out}, status_code=201)

    @router.delete("/portfolio/events/orders/batched")
    async def batch_cancel(request: Request) -> dict:
        user_id = user(request)
        body = await _json_body(request)
        items = body.get("orders")
        if items is None and isinstance(body.get("ids"), list):
            items = [{"order_id": i} for i in body["ids"]]
        if not isinstance(items, list) or not items:
            raise BadRequestError("orders must be a non-empty list", code="invalid_parameters")
        if len(items) > MAX_BATCH:
            raise BadRequestError(
                f"at most {MAX_BATCH} orders per batch", code="invalid_parameters"
            )
        out = []
        for item in items:
            order_id = str(item.get("order_id", "")) if isinstance(item, dict) else ""
            try:
                order, reduced = engine.cancel_order(user_id, order_id)
                out.append(
                    {
                        "order_id": order_id,
                        "client_order_id": order.client_order_id,
                        "reduced_by": count_fp(reduced),
                        "ts_ms": ts_ms(state.clock.now()),
                    }
                )
            except ExchangeError as exc:
                out.append(
                    {
                        "order_id": order_id,
                        "client_order_id": None,
                        "reduced_by": count_fp(0),
                        "ts_ms": None,
                        "error": exc.envelope()["error"],
                    }
                )
        return {"orders": out}

    @router.delete("/portfolio/events/orders/{order_id}")
    async def cancel_order(request: Request, order_id: str) -> dict:
        order, reduced = engine.cancel_order(user(request), order_id)
        return {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "reduced_by": count_fp(reduced),
            "ts_ms": ts_ms(state.clock.now()),
        }

    @router.post("/portfolio/events/orders/{order_id}/amend")
    async def amend_order(request: Request, order_id: str) -> dict:
        user_id = user(request)
        body = await _json_body(request)
        ticker = body.get("ticker")
        if not isinstance(ticker, str) or not ticker:
            raise BadRequestError("ticker is required", code="invalid_parameters")
        for name in ("client_order_id", "updated_client_order_id"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise BadRequestError(f"{name} must be a string", code="invalid_parameters")
        execution = engine.amend_order(
            user_id,
            order_id,
            ticker=ticker,
            book_side=validate_choice(body.get("side"), "side", ("bid", "ask")),
            price=parse_price(body.get("price")),
            count=parse_count(body.get("count")),
            client_order_id=body.get("client_order_id"),
            updated_client_order_id=body.get("updated_client_order_id"),
        )
        out: dict[str, Any] = {
            "order_id": execution.order.order_id,
            "client_order_id": execution.order.client_order_id,
            "remaining_count": count_fp(execution.order.remaining_count),
            "fill_count": count_fp(execution.fill_count),
            "ts_ms": ts_ms(state.clock.now()),
        }
        if execution.fill_count:
            v2 = execution_v2_json(execution, state.clock.now())
            out["average_fill_price"] = v2["average_fill_price"]
            out["average_fee_paid"] = v2["average_fee_paid"]
        return out

    @router.post("/portfolio/events/orders/{order_id}/decrease")
    async def decrease_order(request: Request, order_id: str) -> dict:
        user_id = user(request)
        body = await _json_body(request)
        reduce_by = body.get("reduce_by")
        reduce_to = body.get("reduce_to")
        order = engine.decrease_order(
            user_id,
            order_id,
            reduce_by=None if reduce_by is None else parse_count(reduce_by, "reduce_by"),
            reduce_to=(
                None if reduce_to is None else parse_count(reduce_to, "reduce_to", allow_zero=True)
            ),
        )
        return {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "remaining_count": count_fp(order.remaining_count),
            "ts_ms": ts_ms(state.clock.now()),
        }

    return router


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequestError("request body must be JSON", code="invalid_parameters") from None
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object", code="invalid_parameters")
    return body


def parse_new_order(body: object) -> NewOrder:
    """Validate a V2 create-order body (``CreateOrderV2Request``).

    Raises:
        BadRequestError: On a missing or invalid field.
    """
    if not isinstance(body, dict):
        raise BadRequestError("order must be a JSON object", code="invalid_parameters")
    ticker = body.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        raise BadRequestError("ticker is required", code="invalid_parameters")
    count_value = body.get("count", body.get("count_fp"))
    if count_value is None:
        raise BadRequestError("count is required", code="invalid_parameters")
    count = parse_count(count_value)
    if "count" in body and "count_fp" in body and parse_count(body["count_fp"]) != count:
        raise BadRequestError("count and count_fp must match", code="invalid_parameters")
    if body.get("price") is None:
        raise BadRequestError("price is required", code="invalid_parameters")
    coid = body.get("client_order_id")
    if coid is not None and (not isinstance(coid, str) or not coid):
        raise BadRequestError("client_order_id must be a string", code="invalid_parameters")
    flags = {}
    for name in ("post_only", "reduce_only", "cancel_order_on_pause"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise BadRequestError(f"{name} must be a boolean", code="invalid_parameters")
        flags[name] = value
    group = body.get("order_group_id")
    if group is not None and not isinstance(group, str):
        raise BadRequestError("order_group_id must be a string", code="invalid_parameters")
    if body.get("subaccount", 0) not in (0, None):
        raise BadRequestError("only the primary subaccount (0) exists", code="invalid_parameters")
    return NewOrder(
        ticker=ticker,
        client_order_id=coid or str(uuid.uuid4()),
        book_side=validate_choice(body.get("side"), "side", ("bid", "ask")),
        count=count,
        price=parse_price(body.get("price")),
        time_in_force=validate_choice(body.get("time_in_force"), "time_in_force", TIME_IN_FORCE),
        self_trade_prevention_type=validate_choice(
            body.get("self_trade_prevention_type"), "self_trade_prevention_type", STP_TYPES
        ),
        order_group_id=group,
        expiration_time=expiration_from_seconds(body.get("expiration_time")),
        **flags,
    )


# -- sim-only admin -------------------------------------------------------------------------


def _sim_routes(state: ExchangeState) -> APIRouter:
    router = APIRouter()

    @router.get("/clock")
    async def get_clock() -> dict:
        return {"now": iso(state.clock.now()), "simulated": state.clock.is_simulated}

    @router.put("/clock")
    async def put_clock(request: Request) -> dict:
        body = await _json_body(request)
        moment = parse_iso(body.get("now"), "now")
        previous = state.clock.set(moment)
        state.sync()
        return {"now": iso(state.clock.now()), "previous": iso(previous), "simulated": True}

    @router.delete("/clock")
    async def wall_clock() -> dict:
        state.clock.use_wall_time()
        state.sync()
        return {"now": iso(state.clock.now()), "simulated": False}

    @router.post("/ws/seq-gap")
    async def seq_gap() -> dict:
        state.hub.force_seq_gap()
        return {"ok": True}

    return router

"""The FastAPI app of the local exchange: Kalshi's REST API under ``/trade-api/v2``, its
WebSocket at ``/trade-api/ws/v2`` and the sim-only admin routes under ``/sim``.

Paths, query parameters, field names, status codes and the error envelope
``{"error": {"code", "message", "details"}}`` follow Kalshi (OpenAPI v3.13.0 and the V2 order
pages of docs.kalshi.com). Market data is public (signed headers, when sent, must verify);
``/portfolio`` routes need a signed request. The V1 order-write routes answer 410 with
``deprecated_v1_order_endpoint``, as Kalshi does now.

This module builds the app (its state, error envelope and access checks); the routes live in
:mod:`weather_trader.sim.exchange.routes`, one module per resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from weather_trader.sim.exchange.accounts import DEFAULT_BALANCE_CENTS
from weather_trader.sim.exchange.auth import MAX_SKEW_MS, authenticate, has_credentials
from weather_trader.sim.exchange.catalog import Catalog
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.errors import BadRequestError, ExchangeError, ForbiddenError
from weather_trader.sim.exchange.keys import KeyStore
from weather_trader.sim.exchange.routes.common import PublicAccess, UserAccess
from weather_trader.sim.exchange.routes.exchange_status import exchange_status_router
from weather_trader.sim.exchange.routes.markets import markets_router
from weather_trader.sim.exchange.routes.orders import orders_router
from weather_trader.sim.exchange.routes.portfolio import portfolio_router
from weather_trader.sim.exchange.routes.sim_admin import sim_admin_router
from weather_trader.sim.exchange.store import ExchangeStore
from weather_trader.sim.exchange.ws import WsHub, serve_connection
from weather_trader.sim.market import SimMarket
from weather_trader.sim.world import build_sim

API_PREFIX = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"
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

    @app.exception_handler(sqlite3.Error)
    async def _store_error(_: Request, exc: sqlite3.Error) -> JSONResponse:
        # The journal rolled the operation back: nothing changed, the client may retry.
        log.error("exchange store write failed: %s", exc)
        return _error(
            ExchangeError(
                "the exchange could not store the change; nothing was applied",
                code="service_unavailable",
                status=503,
            )
        )

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

    public, user = _public_access(state), _user_access(state)
    app.include_router(exchange_status_router(), prefix=API_PREFIX)
    app.include_router(markets_router(state, public), prefix=API_PREFIX)
    app.include_router(portfolio_router(state, user), prefix=API_PREFIX)
    app.include_router(orders_router(state, user), prefix=API_PREFIX)
    app.include_router(sim_admin_router(state, _admin_access(state)), prefix="/sim")

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


# -- who may call what ----------------------------------------------------------------------


def _public_access(state: ExchangeState) -> PublicAccess:
    def public(request: Request) -> None:
        """Public data: no credentials needed, but credentials sent must be valid."""
        if has_credentials(request.headers):
            state.authenticate(request.headers, request.method, request.url.path)
        state.sync()

    return public


def _user_access(state: ExchangeState) -> UserAccess:
    def user(request: Request) -> str:
        """The signed request's account (the ``/portfolio`` routes)."""
        user_id = state.authenticate(request.headers, request.method, request.url.path)
        state.sync()
        return user_id

    return user


def _admin_access(state: ExchangeState) -> UserAccess:
    def admin(request: Request) -> str:
        """The ``/sim`` routes: a loopback client with a signed request (no sync: the route
        moves the clock itself)."""
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ForbiddenError("the /sim routes answer loopback clients only")
        return state.authenticate(request.headers, request.method, request.url.path)

    return admin

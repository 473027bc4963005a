"""Signed portfolio routes: balance, positions, orders, fills and settlements, and the retired
V1 order writes (they answer 410 ``deprecated_v1_order_endpoint``, as Kalshi does now).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request

from weather_trader.sim.exchange.errors import BadRequestError, GoneError
from weather_trader.sim.exchange.render import (
    event_positions_json,
    fill_json,
    order_json,
    position_json,
    settlement_json,
)
from weather_trader.sim.exchange.routes.common import UserAccess, in_range
from weather_trader.sim.exchange.wire import keyset_page

if TYPE_CHECKING:
    from weather_trader.sim.exchange.app import ExchangeState

V2_DOCS = "https://docs.kalshi.com/api-reference/orders/create-order-v2"


def portfolio_router(state: ExchangeState, user: UserAccess) -> APIRouter:
    """``/portfolio`` reads and the V1 ``/portfolio/orders`` writes.

    Args:
        state: The exchange.
        user: The account id of a signed request (syncs the clock).
    """
    router = APIRouter()
    engine = state.engine

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
        chunk, next_cursor = keyset_page(mine, cursor, limit, lambda p: p.ticker)
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
            and in_range(o.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = keyset_page(orders, cursor, limit, lambda o: o.number)
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
            and in_range(f.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = keyset_page(mine, cursor, limit, lambda f: f.number)
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
            and in_range(s.settled_time, min_ts, max_ts)
        ]
        chunk, next_cursor = keyset_page(mine, cursor, limit, lambda s: s.number)
        return {"settlements": [settlement_json(s) for s in chunk], "cursor": next_cursor}

    return router

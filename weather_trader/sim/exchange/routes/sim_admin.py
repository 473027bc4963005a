"""The sim-only admin routes under ``/sim`` (not Kalshi's API): the exchange clock and a
WebSocket test hook.

Moving the clock cancels resting orders and settles markets, so every ``/sim`` route needs a
loopback client and a signed request, as the portfolio routes do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from weather_trader.sim.exchange.routes.common import UserAccess, json_body, json_request
from weather_trader.sim.exchange.wire import iso, parse_iso

if TYPE_CHECKING:
    from weather_trader.sim.exchange.app import ExchangeState


def sim_admin_router(state: ExchangeState, admin: UserAccess) -> APIRouter:
    """``/clock`` (get, set, back to wall time) and ``/ws/seq-gap``.

    Args:
        state: The exchange.
        admin: Admits a signed request from a loopback client (raises otherwise).
    """
    router = APIRouter()

    @router.get("/clock")
    async def get_clock(request: Request) -> dict:
        admin(request)
        return {"now": iso(state.clock.now()), "simulated": state.clock.is_simulated}

    @router.put(
        "/clock",
        openapi_extra=json_request(
            {"type": "object", "required": ["now"], "properties": {"now": {"type": "string"}}}
        ),
    )
    async def put_clock(request: Request) -> dict:
        admin(request)
        body = await json_body(request)
        moment = parse_iso(body.get("now"), "now")
        previous = state.clock.set(moment)
        state.sync()
        return {"now": iso(state.clock.now()), "previous": iso(previous), "simulated": True}

    @router.delete("/clock")
    async def wall_clock(request: Request) -> dict:
        admin(request)
        state.clock.use_wall_time()
        state.sync()
        return {"now": iso(state.clock.now()), "simulated": False}

    @router.post("/ws/seq-gap")
    async def seq_gap(request: Request) -> dict:
        admin(request)
        state.hub.force_seq_gap()
        return {"ok": True}

    return router

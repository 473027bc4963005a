"""The sim-only admin routes under ``/sim`` (not Kalshi's API): the exchange clock and a
WebSocket test hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from weather_trader.sim.exchange.routes.common import json_body
from weather_trader.sim.exchange.wire import iso, parse_iso

if TYPE_CHECKING:
    from weather_trader.sim.exchange.app import ExchangeState


def sim_admin_router(state: ExchangeState) -> APIRouter:
    """``/clock`` (get, set, back to wall time) and ``/ws/seq-gap``."""
    router = APIRouter()

    @router.get("/clock")
    async def get_clock() -> dict:
        return {"now": iso(state.clock.now()), "simulated": state.clock.is_simulated}

    @router.put("/clock")
    async def put_clock(request: Request) -> dict:
        body = await json_body(request)
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

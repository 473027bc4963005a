"""Signed V2 order writes under ``/portfolio/events/orders``: create (one or a batch), cancel
(one or a batch), amend and decrease (docs.kalshi.com/api-reference/orders/*-v2).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from weather_trader.sim.exchange.errors import BadRequestError, ExchangeError
from weather_trader.sim.exchange.matching import (
    STP_TYPES,
    TIME_IN_FORCE,
    NewOrder,
    expiration_from_seconds,
    validate_choice,
)
from weather_trader.sim.exchange.render import execution_v2_json
from weather_trader.sim.exchange.routes.common import UserAccess, json_body, json_request
from weather_trader.sim.exchange.wire import count_fp, parse_count, parse_price, ts_ms

if TYPE_CHECKING:
    from weather_trader.sim.exchange.app import ExchangeState

MAX_BATCH = 20

# The request bodies as JSON Schema, for the app's OpenAPI (the handlers validate by hand, with
# Kalshi's error codes, so FastAPI does not parse them).
_NUMBER = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
_ORDER = {
    "type": "object",
    "required": ["ticker", "side", "count", "price", "time_in_force", "self_trade_prevention_type"],
    "properties": {
        "ticker": {"type": "string"},
        "client_order_id": {"type": "string"},
        "side": {"type": "string", "enum": ["bid", "ask"]},
        "count": _NUMBER,
        "count_fp": _NUMBER,
        "price": _NUMBER,
        "time_in_force": {"type": "string", "enum": list(TIME_IN_FORCE)},
        "self_trade_prevention_type": {"type": "string", "enum": list(STP_TYPES)},
        "post_only": {"type": "boolean"},
        "reduce_only": {"type": "boolean"},
        "cancel_order_on_pause": {"type": "boolean"},
        "order_group_id": {"type": "string"},
        "expiration_time": {"type": "integer"},
        "subaccount": {"type": "integer"},
    },
}
_AMEND = {
    "type": "object",
    "required": ["ticker", "side", "price", "count"],
    "properties": {
        "ticker": {"type": "string"},
        "side": {"type": "string", "enum": ["bid", "ask"]},
        "price": _NUMBER,
        "count": _NUMBER,
        "client_order_id": {"type": "string"},
        "updated_client_order_id": {"type": "string"},
    },
}
_DECREASE = {"type": "object", "properties": {"reduce_by": _NUMBER, "reduce_to": _NUMBER}}
_BATCH_CREATE = {
    "type": "object",
    "required": ["orders"],
    "properties": {"orders": {"type": "array", "items": _ORDER, "maxItems": MAX_BATCH}},
}
_BATCH_CANCEL = {
    "type": "object",
    "properties": {
        "orders": {
            "type": "array",
            "maxItems": MAX_BATCH,
            "items": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
        "ids": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_BATCH},
    },
}


def orders_router(state: ExchangeState, user: UserAccess) -> APIRouter:
    """The V2 order-write routes.

    Args:
        state: The exchange.
        user: The account id of a signed request (syncs the clock).
    """
    router = APIRouter()
    engine = state.engine

    @router.post("/portfolio/events/orders", status_code=201, openapi_extra=json_request(_ORDER))
    async def create_order(request: Request) -> JSONResponse:
        user_id = user(request)
        req = parse_new_order(await json_body(request))
        execution = engine.create_order(user_id, req)
        return JSONResponse(execution_v2_json(execution, state.clock.now()), status_code=201)

    @router.post(
        "/portfolio/events/orders/batched",
        status_code=201,
        openapi_extra=json_request(_BATCH_CREATE),
    )
    async def batch_create(request: Request) -> JSONResponse:
        user_id = user(request)
        body = await json_body(request)
        items = body.get("orders")
        items = batch_items(items)
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

    @router.delete("/portfolio/events/orders/batched", openapi_extra=json_request(_BATCH_CANCEL))
    async def batch_cancel(request: Request) -> dict:
        user_id = user(request)
        body = await json_body(request)
        items = body.get("orders")
        if items is None and isinstance(body.get("ids"), list):
            items = [{"order_id": i} for i in body["ids"]]
        items = batch_items(items)
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

    @router.post("/portfolio/events/orders/{order_id}/amend", openapi_extra=json_request(_AMEND))
    async def amend_order(request: Request, order_id: str) -> dict:
        user_id = user(request)
        body = await json_body(request)
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

    @router.post(
        "/portfolio/events/orders/{order_id}/decrease", openapi_extra=json_request(_DECREASE)
    )
    async def decrease_order(request: Request, order_id: str) -> dict:
        user_id = user(request)
        body = await json_body(request)
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


def batch_items(items: object) -> list[Any]:
    """A batch's orders; refuses anything but a non-empty list of at most ``MAX_BATCH``."""
    if not isinstance(items, list) or not items:
        raise BadRequestError("orders must be a non-empty list", code="invalid_parameters")
    if len(items) > MAX_BATCH:
        raise BadRequestError(f"at most {MAX_BATCH} orders per batch", code="invalid_parameters")
    return items

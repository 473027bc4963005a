"""Conformance checks: responses of the local exchange against Kalshi's published schemas.

* REST endpoints in ``../shared/kalshi/openapi-v3.13.0.yaml`` are validated against the spec's
  response schema for the status code. The spec is OpenAPI 3.0, so :func:`to_json_schema`
  translates ``nullable`` (also beside ``$ref``/``allOf``, which 3.0 tooling honours) into
  JSON Schema 2020-12; ``$ref`` resolves through a :mod:`referencing` registry.
* Kalshi wraps errors as ``{"error": ErrorResponse}`` although the spec draws the bare
  ``ErrorResponse``; the inner object is validated.
* The V2 order endpoints are not in v3.13.0: their schemas below are transcribed from the
  pages of docs.kalshi.com (OpenAPI v3.29.0 of the pages), cited per schema.
* WebSocket message schemas are transcribed from the ``jsonPayloadSchema`` of the channel pages
  of docs.kalshi.com/websockets.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from weather_trader_tests.shared_data import require_kalshi_spec

SPEC_URI = "urn:kalshi:openapi-v3.13.0"
DOCS_URI = "urn:kalshi:docs-v2"
API_PREFIX = "/trade-api/v2"


def to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema (tree) as JSON Schema 2020-12: ``nullable`` becomes a null
    alternative; everything else is kept (unknown keywords are ignored by validators)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            return {"anyOf": [out, {"type": "null"}]}
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
    return out


def _doc_schema(ref: str, **properties: Any) -> dict:
    return {"$ref": f"{DOCS_URI}#/components/schemas/{ref}", **properties}


_FP_COUNT = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_FP_DOLLARS = {"type": "string", "pattern": r"^-?\d+\.\d{4,6}$"}
_ERROR = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "string"},
        "service": {"type": "string"},
    },
}

# docs.kalshi.com/api-reference/orders/{create-order-v2, cancel-order-v2, amend-order-v2,
# decrease-order-v2, batch-create-orders-v2, batch-cancel-orders-v2} (OpenAPI v3.29.0).
DOC_COMPONENTS: dict[str, Any] = {
    "components": {
        "schemas": {
            "FixedPointCount": _FP_COUNT,
            "FixedPointDollars": _FP_DOLLARS,
            "ErrorResponse": _ERROR,
            "CreateOrderV2Response": {
                "type": "object",
                "required": ["order_id", "fill_count", "remaining_count"],
                "properties": {
                    "order_id": {"type": "string"},
                    "client_order_id": {"type": "string"},
                    "fill_count": {"$ref": "#/components/schemas/FixedPointCount"},
                    "remaining_count": {"$ref": "#/components/schemas/FixedPointCount"},
                    "average_fill_price": {"$ref": "#/components/schemas/FixedPointDollars"},
                    "average_fee_paid": {"$ref": "#/components/schemas/FixedPointDollars"},
                    "ts_ms": {"type": "integer"},
                },
            },
            "CancelOrderV2Response": {
                "type": "object",
                "required": ["order_id", "reduced_by", "ts_ms"],
                "properties": {
                    "order_id": {"type": "string"},
                    "client_order_id": {"type": "string"},
                    "reduced_by": {"$ref": "#/components/schemas/FixedPointCount"},
                    "ts_ms": {"type": "integer"},
                },
            },
            "AmendOrderV2Response": {
                "type": "object",
                "required": ["order_id", "ts_ms"],
                "properties": {
                    "order_id": {"type": "string"},
                    "client_order_id": {"type": "string"},
                    "remaining_count": {
                        "$ref": "#/components/schemas/FixedPointCount",
                        "nullable": True,
                    },
                    "fill_count": {
                        "$ref": "#/components/schemas/FixedPointCount",
                        "nullable": True,
                    },
                    "average_fill_price": {
                        "$ref": "#/components/schemas/FixedPointDollars",
                        "nullable": True,
                    },
                    "average_fee_paid": {
                        "$ref": "#/components/schemas/FixedPointDollars",
                        "nullable": True,
                    },
                    "ts_ms": {"type": "integer"},
                },
            },
            "DecreaseOrderV2Response": {
                "type": "object",
                "required": ["order_id", "remaining_count", "ts_ms"],
                "properties": {
                    "order_id": {"type": "string"},
                    "client_order_id": {"type": "string"},
                    "remaining_count": {"$ref": "#/components/schemas/FixedPointCount"},
                    "ts_ms": {"type": "integer"},
                },
            },
            "BatchCreateOrdersV2Response": {
                "type": "object",
                "required": ["orders"],
                "properties": {
                    "orders": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "order_id": {"type": "string", "nullable": True},
                                "client_order_id": {"type": "string", "nullable": True},
                                "fill_count": {
                                    "$ref": "#/components/schemas/FixedPointCount",
                                    "nullable": True,
                                },
                                "remaining_count": {
                                    "$ref": "#/components/schemas/FixedPointCount",
                                    "nullable": True,
                                },
                                "average_fill_price": {
                                    "$ref": "#/components/schemas/FixedPointDollars",
                                    "nullable": True,
                                },
                                "average_fee_paid": {
                                    "$ref": "#/components/schemas/FixedPointDollars",
                                    "nullable": True,
                                },
                                "ts_ms": {"type": "integer", "nullable": True},
                                "error": {
                                    "allOf": [{"$ref": "#/components/schemas/ErrorResponse"}],
                                    "nullable": True,
                                },
                            },
                        },
                    }
                },
            },
            "BatchCancelOrdersV2Response": {
                "type": "object",
                "required": ["orders"],
                "properties": {
                    "orders": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["order_id", "reduced_by"],
                            "properties": {
                                "order_id": {"type": "string"},
                                "client_order_id": {"type": "string", "nullable": True},
                                "reduced_by": {"$ref": "#/components/schemas/FixedPointCount"},
                                "ts_ms": {"type": "integer", "nullable": True},
                                "error": {
                                    "allOf": [{"$ref": "#/components/schemas/ErrorResponse"}],
                                    "nullable": True,
                                },
                            },
                        },
                    }
                },
            },
        }
    }
}

# (method, path template under /trade-api/v2) -> {status: schema name in DOC_COMPONENTS}
V2_RESPONSES: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/portfolio/events/orders"): {201: "CreateOrderV2Response"},
    ("delete", "/portfolio/events/orders/{order_id}"): {200: "CancelOrderV2Response"},
    ("post", "/portfolio/events/orders/{order_id}/amend"): {200: "AmendOrderV2Response"},
    ("post", "/portfolio/events/orders/{order_id}/decrease"): {200: "DecreaseOrderV2Response"},
    ("post", "/portfolio/events/orders/batched"): {201: "BatchCreateOrdersV2Response"},
    ("delete", "/portfolio/events/orders/batched"): {200: "BatchCancelOrdersV2Response"},
}


def _ws(kind: str, msg: dict, *, seq: bool = False) -> dict:
    required = ["type", "sid", "msg"] + (["seq"] if seq else [])
    return {
        "type": "object",
        "required": required,
        "properties": {
            "type": {"const": kind},
            "sid": {"type": "integer", "minimum": 1},
            **({"seq": {"type": "integer", "minimum": 1}} if seq else {}),
            "msg": msg,
        },
    }


def _obj(required: list[str], **props: Any) -> dict:
    return {"type": "object", "required": required, "properties": props}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_SIDE = {"enum": ["yes", "no"]}
_BOOK = {"enum": ["bid", "ask"]}
_LEVELS = {"type": "array", "items": {"type": "array", "items": _STR, "minItems": 2, "maxItems": 2}}

# docs.kalshi.com/websockets/{orderbook-updates, user-fills, user-orders, market-positions,
# public-trades, market-ticker, market-lifecycle-v2}: jsonPayloadSchema of each message.
WS_SCHEMAS: dict[str, dict] = {
    "orderbook_snapshot": _ws(
        "orderbook_snapshot",
        _obj(["market_ticker", "market_id"], market_ticker=_STR, market_id=_STR,
             yes_dollars_fp=_LEVELS, no_dollars_fp=_LEVELS),
        seq=True,
    ),
    "orderbook_delta": _ws(
        "orderbook_delta",
        _obj(["market_ticker", "market_id", "price_dollars", "delta_fp", "side"],
             market_ticker=_STR, market_id=_STR, price_dollars=_FP_DOLLARS, delta_fp=_FP_COUNT,
             side=_SIDE, client_order_id=_STR, ts=_STR, ts_ms=_INT),
        seq=True,
    ),
    "fill": _ws(
        "fill",
        _obj(["trade_id", "order_id", "market_ticker", "exchange_index", "is_taker", "side",
              "yes_price_dollars", "count_fp", "fee_cost", "action", "outcome_side",
              "book_side", "ts", "ts_ms", "post_position_fp", "purchased_side"],
             trade_id=_STR, order_id=_STR, client_order_id=_STR, market_ticker=_STR,
             exchange_index=_INT, is_taker={"type": "boolean"}, side=_SIDE, ts=_INT, ts_ms=_INT,
             yes_price_dollars=_FP_DOLLARS, count_fp=_FP_COUNT, fee_cost=_FP_DOLLARS,
             action={"enum": ["buy", "sell", "sell_partial", "sell_to_close", ""]},
             post_position_fp=_FP_COUNT, purchased_side=_SIDE, outcome_side=_SIDE,
             book_side=_BOOK),
    ),
    "user_order": _ws(
        "user_order",
        _obj(["order_id", "user_id", "ticker", "status", "side", "is_yes", "outcome_side",
              "book_side", "yes_price_dollars", "fill_count_fp", "remaining_count_fp",
              "initial_count_fp", "taker_fill_cost_dollars", "maker_fill_cost_dollars",
              "taker_fees_dollars", "maker_fees_dollars", "client_order_id", "created_time",
              "created_ts_ms"],
             status={"enum": ["resting", "canceled", "executed"]}, side=_SIDE,
             outcome_side=_SIDE, book_side=_BOOK, yes_price_dollars=_FP_DOLLARS,
             fill_count_fp=_FP_COUNT, remaining_count_fp=_FP_COUNT, initial_count_fp=_FP_COUNT,
             created_ts_ms=_INT, last_updated_ts_ms=_INT),
    ),
    "market_position": _ws(
        "market_position",
        _obj(["user_id", "market_ticker", "position_fp", "position_cost_dollars",
              "realized_pnl_dollars", "fees_paid_dollars", "position_fee_cost_dollars",
              "volume_fp"],
             position_fp=_FP_COUNT, position_cost_dollars=_FP_DOLLARS,
             realized_pnl_dollars=_FP_DOLLARS, fees_paid_dollars=_FP_DOLLARS,
             position_fee_cost_dollars=_FP_DOLLARS, volume_fp=_FP_COUNT),
    ),
    "trade": _ws(
        "trade",
        _obj(["trade_id", "market_ticker", "yes_price_dollars", "no_price_dollars", "count_fp",
              "taker_side", "taker_outcome_side", "taker_book_side", "is_block_trade", "ts",
              "ts_ms"],
             yes_price_dollars=_FP_DOLLARS, no_price_dollars=_FP_DOLLARS, count_fp=_FP_COUNT,
             taker_side=_SIDE, taker_outcome_side=_SIDE, taker_book_side=_BOOK),
    ),
    "ticker": _ws(
        "ticker",
        _obj(["market_id", "market_ticker", "price_dollars", "yes_bid_dollars",
              "yes_ask_dollars", "volume_fp", "open_interest_fp", "dollar_volume",
              "dollar_open_interest", "yes_bid_size_fp", "yes_ask_size_fp",
              "last_trade_size_fp", "ts", "ts_ms", "time"],
             price_dollars=_FP_DOLLARS, yes_bid_dollars=_FP_DOLLARS, yes_ask_dollars=_FP_DOLLARS,
             dollar_volume=_INT, dollar_open_interest=_INT),
    ),
    "market_lifecycle_v2": _ws(
        "market_lifecycle_v2",
        _obj(["event_type", "market_ticker"],
             event_type={"enum": ["created", "deactivated", "activated", "close_date_updated",
                                  "determined", "settled", "price_level_structure_updated",
                                  "metadata_updated"]}),
    ),
}  # fmt: skip


@cache
def _spec() -> dict:
    with require_kalshi_spec().open() as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _registry() -> Registry:
    spec = to_json_schema(_spec())
    docs = to_json_schema(DOC_COMPONENTS)
    return Registry().with_resources(
        [
            (SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)),
            (DOCS_URI, Resource.from_contents(docs, default_specification=DRAFT202012)),
        ]
    )


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in _spec()["paths"]:
        pattern = re.sub(r"\{[^/]+\}", "[^/]+", template)
        out.append((re.compile(f"^{pattern}$"), template))
    out.sort(key=lambda item: item[1].count("{"))  # literal paths win over templates
    return out


def _validate(instance: Any, schema: dict) -> None:
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(instance)


def _resolve_response(node: dict) -> dict:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _spec()["components"]["responses"][name]
    return node


def response_schema(method: str, path: str, status: int) -> dict | None:
    """The JSON Schema of a spec'd or doc'd response, or None when there is none."""
    method = method.lower()
    for (m, template), statuses in sorted(V2_RESPONSES.items(), key=lambda i: i[0][1].count("{")):
        if m == method and re.match("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$", path):
            name = statuses.get(status)
            return _doc_schema(name) if name else None
    for pattern, template in _templates():
        if pattern.match(path):
            operation = _spec()["paths"][template].get(method)
            if operation is None:
                return None
            response = operation.get("responses", {}).get(str(status))
            if response is None:
                return None
            content = _resolve_response(response).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                return None
            return {"$ref": f"{SPEC_URI}#/components/schemas/{schema['$ref'].rsplit('/', 1)[-1]}"}
    return None


def check_response(method: str, url_path: str, status: int, body: Any) -> bool:
    """Validate one response body; returns whether a schema applied.

    Raises:
        jsonschema.ValidationError: If the body does not conform.
        AssertionError: If an error response lacks Kalshi's envelope.
    """
    if not url_path.startswith(API_PREFIX):
        return False
    path = url_path[len(API_PREFIX) :]
    if status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, body
        _validate(body["error"], _ERROR)
        assert body["error"]["code"] and body["error"]["message"], body
        return True
    schema = response_schema(method, path, status)
    if schema is None:
        return False
    _validate(body, schema)
    return True


def check_ws_message(message: dict) -> bool:
    """Validate a WebSocket data message against the docs' payload schema (if documented)."""
    schema = WS_SCHEMAS.get(message.get("type", ""))
    if schema is None:
        return False
    _validate(message, schema)
    return True

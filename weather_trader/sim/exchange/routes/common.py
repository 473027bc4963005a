"""What the exchange's route modules share: request access checks, JSON bodies, time filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request

from weather_trader.sim.exchange.errors import BadRequestError

PublicAccess = Callable[[Request], None]
"""Admits a public-data request (raises :class:`AuthError` on bad credentials)."""

UserAccess = Callable[[Request], str]
"""The account id of a signed request (raises :class:`AuthError`)."""


MAX_BODY_BYTES = 1_000_000
"""Largest accepted request body (a batch of 20 orders is a few kilobytes)."""


async def json_body(request: Request) -> dict:
    """The request's JSON object body.

    Raises:
        BadRequestError: If the body is too large, not JSON or not an object.
    """
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError(
            f"request body is larger than {MAX_BODY_BYTES} bytes", code="invalid_parameters"
        )
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # deep nesting exhausts the parser's recursion
        raise BadRequestError("request body must be JSON", code="invalid_parameters") from None
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object", code="invalid_parameters")
    return body


def json_request(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` describing a required JSON request body of ``schema`` (the handlers
    validate bodies by hand, with Kalshi's error codes, so FastAPI does not parse them)."""
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def in_range(moment: datetime, min_ts: int | None, max_ts: int | None) -> bool:
    """Whether ``moment`` lies within the optional Unix-second bounds (both inclusive)."""
    ts = moment.timestamp()
    return (min_ts is None or ts >= min_ts) and (max_ts is None or ts <= max_ts)

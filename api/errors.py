"""One JSON shape for every error the sidecar returns, and the handlers that produce it.

``{"error": {"code": "not_found", "message": "...", "request_id": "..."}}``; validation errors
add ``fields`` (each with the field's location and the message), so a 422 names the field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.logs import current_request_id
from weather_trader.core.operator_settings import OperatorSettingsError

logger = logging.getLogger(__name__)


class LoginRequired(Exception):
    """A page was asked for without a session: answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def status_code_name(status: int) -> str:
    """``404`` -> ``not_found``: the error code of a status."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error object, with the current request id."""
    return {
        "error": {"code": code, "message": message, "request_id": current_request_id(), **extra}
    }


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response of ``status``."""
    return JSONResponse(
        error_body(code or status_code_name(status), message), status_code=status, headers=headers
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (Starlette names only the first
    route's when a path has one route per method)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(exc.status_code, message, headers=headers or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p != "body"),
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return JSONResponse(error_body("validation_error", message, fields=fields), status_code=422)


async def _operator_settings_error(request: Request, exc: Exception) -> JSONResponse:
    message = str(exc)
    field = message.split(":", 1)[0] if ":" in message else ""
    return JSONResponse(
        error_body("validation_error", message, fields=[{"field": field, "message": message}]),
        status_code=422,
    )


async def _login_required(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequired)
    from api.security import login_url

    return RedirectResponse(login_url(exc.next_path), status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    """Route HTTP, validation and settings errors to the one JSON shape.

    Unexpected exceptions are answered (500, same shape) by
    :class:`api.middleware.RequestContextMiddleware`, which also logs them.
    """
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperatorSettingsError, _operator_settings_error)
    app.add_exception_handler(LoginRequired, _login_required)


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str
    request_id: str
    fields: list[dict[str, str]] | None = None


class ErrorOut(BaseModel):
    """Every error response of the sidecar."""

    error: ErrorDetail


def document_error_shape(app: FastAPI) -> None:
    """Make the OpenAPI schema describe validation errors (422) in the sidecar's error shape
    instead of FastAPI's default, so clients and the fuzz test check the real body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(components["ErrorOut"].pop("$defs", {}))
        ref = {"$ref": "#/components/schemas/ErrorOut"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"]["content"] = {"application/json": {"schema": ref}}
                if "requestBody" in operation:  # FastAPI answers 400 to a body it cannot decode
                    responses.setdefault(
                        "400",
                        {
                            "description": "The body could not be read (not UTF-8 text)",
                            "content": {"application/json": {"schema": ref}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

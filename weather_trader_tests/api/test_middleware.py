"""Production middleware: request ids in every log line, one log line per request, security
and cache headers, one JSON error shape with meaningful status codes."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI

from api.logs import JsonFormatter, current_request_id
from api.middleware import CONTENT_SECURITY_POLICY, cache_control, request_id_from
from weather_trader_tests.api.conftest import TestClient


def test_a_sane_request_id_is_kept_and_an_insane_one_replaced(client: TestClient) -> None:
    kept = client.get("/api/overview", headers={"X-Request-ID": "abc-123.x"})
    assert kept.headers["X-Request-ID"] == "abc-123.x"
    for bad in ("a b", "x" * 200, "<script>"):
        replaced = client.get("/api/overview", headers={"X-Request-ID": bad})
        assert replaced.headers["X-Request-ID"] != bad
        assert len(replaced.headers["X-Request-ID"]) == 32
    assert (
        client.get("/health").headers["X-Request-ID"]
        != client.get("/health").headers["X-Request-ID"]
    )


def test_every_log_line_of_a_request_carries_its_id_and_one_access_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client.put("/api/settings", json={"min_edge": "0.04"}, headers={"X-Request-ID": "req-42"})
    mine = [r for r in caplog.records if getattr(r, "request_id", None) == "req-42"]
    assert {r.name for r in mine} >= {"api.routes.settings", "api.access"}
    access = [r for r in mine if r.name == "api.access"]
    assert len(access) == 1
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "req-42" and line["status"] == 200
    assert line["method"] == "PUT" and line["path"] == "/api/settings"
    assert line["user"] == "tester" and line["duration_ms"] >= 0
    assert current_request_id() == "-"  # reset after the request


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for path in ("/", "/api/overview", "/nope", "/login"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # no inline or foreign script


def test_cache_control() -> None:
    assert cache_control("/api/overview") == "no-store"
    assert cache_control("/trades") == "no-store"
    assert cache_control("/static/app.3f9c2a1b.js") == "public, max-age=31536000, immutable"
    assert cache_control("/static/style.css") == "no-cache"


def test_cache_control_reaches_the_responses(client: TestClient) -> None:
    assert client.get("/api/overview").headers["Cache-Control"] == "no-store"
    assert client.get("/static/style.css").headers["Cache-Control"] == "no-cache"


def test_errors_share_one_json_shape(client: TestClient) -> None:
    missing = client.get("/api/nothing-here", headers={"X-Request-ID": "r-1"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "Not Found", "request_id": "r-1"}
    }
    invalid = client.get("/api/settings/audit", params={"limit": "0"})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"][0]["field"] == "query.limit"
    not_allowed = client.patch("/api/settings", json={})
    assert not_allowed.status_code == 405 and not_allowed.headers["Allow"] == "GET, PUT"
    assert not_allowed.json()["error"]["code"] == "method_not_allowed"


def test_an_unexpected_exception_is_a_500_in_the_same_shape(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    response = client.get("/api/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal server error",
            "request_id": "boom-1",
        }
    }
    assert "hunter2" not in response.text
    assert response.headers["X-Request-ID"] == "boom-1"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].request_id == "boom-1"  # type: ignore[attr-defined]


def test_request_id_from_generates_hex_ids() -> None:
    from starlette.datastructures import Headers

    assert request_id_from(Headers({"x-request-id": "ok-1"})) == "ok-1"
    assert len(request_id_from(Headers({}))) == 32

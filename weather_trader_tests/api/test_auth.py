"""Authentication: every route behind the login, sessions, CSRF, the rate limit, /ws, /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy import update
from starlette.routing import Mount, Route
from starlette.websockets import WebSocketDisconnect

from api import create_app, server
from api.security import PUBLIC_PATHS, SESSION_COOKIE, LoginRateLimiter, safe_next
from api.settings import ApiSettingsError
from weather_trader.store.db import make_engine, session_scope
from weather_trader.store.models import UserSessionRow
from weather_trader_tests.api.conftest import (
    TEST_PASSWORD,
    TEST_USER,
    SettingsFactory,
    TestClient,
    add_user,
    login,
)

METRICS_TOKEN = "m" * 32


def flat_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the app, through included routers (FastAPI wraps them) and mounts."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every HTTP route, path parameters filled in."""
    found = []
    for route in flat_routes(app.router.routes):
        if isinstance(route, APIRoute | Route) and not isinstance(route, Mount):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((method, _concrete(route.path)))
    return found


def test_the_route_enumeration_sees_the_included_routers(anon_client: TestClient) -> None:
    routes = http_routes(anon_client.app)
    assert ("GET", "/api/overview") in routes
    assert ("PUT", "/api/settings") in routes
    assert ("GET", "/") in routes
    assert len(routes) >= 12


def test_every_route_but_the_public_ones_needs_a_session(anon_client: TestClient) -> None:
    checked = 0
    for method, path in http_routes(anon_client.app):
        if path in PUBLIC_PATHS or path == "/metrics":
            continue
        response = anon_client.request(method, path, follow_redirects=False)
        checked += 1
        if path.startswith("/api/") or path == "/openapi.json" or method != "GET":
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")
    assert checked >= 10
    ws_routes = [
        r for r in flat_routes(anon_client.app.router.routes) if isinstance(r, APIWebSocketRoute)
    ]
    for route in ws_routes:
        with pytest.raises(WebSocketDisconnect), anon_client.websocket_connect(route.path):
            pass


def test_public_paths_answer_without_a_session(anon_client: TestClient) -> None:
    assert anon_client.get("/health").status_code == 200
    assert anon_client.get("/login").status_code == 200
    assert anon_client.get("/static/style.css").status_code == 200
    assert anon_client.get("/metrics").status_code == 200  # loopback, no token configured


def test_a_page_redirects_to_the_login_and_back(anon_client: TestClient) -> None:
    response = anon_client.get("/?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Fx%3D1"
    form = {"username": TEST_USER, "password": TEST_PASSWORD, "next": "/trades"}
    after = anon_client.post("/login", data=form, follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"] == "/trades"
    assert anon_client.get("/api/overview").status_code == 200


def test_the_login_form_says_wrong_password_and_keeps_no_cookie(anon_client: TestClient) -> None:
    form = {"username": TEST_USER, "password": "not it at all", "next": "/"}
    response = anon_client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert SESSION_COOKIE not in anon_client.cookies


def test_cross_site_login_form_is_refused(anon_client: TestClient) -> None:
    form = {"username": TEST_USER, "password": TEST_PASSWORD}
    response = anon_client.post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/trades?city=NYC", "/trades?city=NYC"), ("//evil.example/x", "/"),
     ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/")],
)  # fmt: skip
def test_next_stays_on_this_site(given: str, expected: str) -> None:
    assert safe_next(given) == expected


def test_login_cookie_is_httponly_samesite_and_not_secure_over_http(
    anon_client: TestClient,
) -> None:
    response = anon_client.post(
        "/api/auth/login", json={"username": TEST_USER, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"username", "csrf_token", "expires_at"}
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie


def test_cookie_is_secure_over_https(make_settings: SettingsFactory, database_url: str) -> None:
    add_user(database_url)
    body = {"username": TEST_USER, "password": TEST_PASSWORD}
    with TestClient(create_app(make_settings()), base_url="https://testserver") as client:
        assert "secure" in client.post("/api/auth/login", json=body).headers["set-cookie"].lower()


def test_forwarded_proto_counts_only_when_trusted(
    make_settings: SettingsFactory, database_url: str
) -> None:
    add_user(database_url)
    body = {"username": TEST_USER, "password": TEST_PASSWORD}
    proxied = {"X-Forwarded-Proto": "https"}
    for trusted in (False, True):
        with TestClient(create_app(make_settings(trust_forwarded_proto=trusted))) as client:
            cookie = client.post("/api/auth/login", json=body, headers=proxied).headers
            assert ("secure" in cookie["set-cookie"].lower()) is trusted


def test_state_changing_requests_need_the_csrf_token(anon_client: TestClient) -> None:
    token = login(anon_client)
    del anon_client.headers["X-CSRF-Token"]
    body = {"min_edge": "0.05"}
    missing = anon_client.put("/api/settings", json=body)
    wrong = anon_client.put("/api/settings", json=body, headers={"X-CSRF-Token": "nope"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert missing.json()["error"]["code"] == "csrf_failed"
    assert anon_client.get("/api/settings").json()["settings"]["min_edge"] == "0.03"
    right = anon_client.put("/api/settings", json=body, headers={"X-CSRF-Token": token})
    assert right.status_code == 200


def test_form_posts_carry_the_token_in_a_field(anon_client: TestClient) -> None:
    token = login(anon_client)
    del anon_client.headers["X-CSRF-Token"]
    refused = anon_client.post("/logout", data={"csrf_token": "bad"}, follow_redirects=False)
    assert refused.status_code == 403
    accepted = anon_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/login"
    assert anon_client.get("/api/overview").status_code == 401


def test_logout_really_ends_the_session(anon_client: TestClient) -> None:
    login(anon_client)
    cookie = anon_client.cookies[SESSION_COOKIE]
    assert anon_client.post("/api/auth/logout").status_code == 204
    anon_client.cookies.set(SESSION_COOKIE, cookie)  # a stolen copy of the old cookie
    assert anon_client.get("/api/overview").status_code == 401


def test_an_expired_session_is_refused(anon_client: TestClient, database_url: str) -> None:
    login(anon_client)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(UserSessionRow).values(expires_at=past))
    engine.dispose()
    assert anon_client.get("/api/overview").status_code == 401


def test_me_returns_the_user_and_token(client: TestClient) -> None:
    body = client.get("/api/auth/me").json()
    assert body == {"username": TEST_USER, "csrf_token": client.headers["X-CSRF-Token"]}


def test_repeated_failures_are_rate_limited(anon_client: TestClient) -> None:
    wrong = {"username": TEST_USER, "password": "wrong password!!"}
    statuses = [anon_client.post("/api/auth/login", json=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    right = anon_client.post(
        "/api/auth/login", json={"username": TEST_USER, "password": TEST_PASSWORD}
    )
    assert right.status_code == 429  # even the right password waits out the window
    assert int(right.headers["Retry-After"]) > 0
    other = anon_client.post("/api/auth/login", json={"username": "someone", "password": "x"})
    assert other.status_code == 401  # another name from the address is counted apart


def test_rate_limiter_window_and_address_wide_cap() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(max_failures=2, window=60, clock=lambda: now[0])
    limiter.failed("a", "1.2.3.4")
    assert limiter.retry_after("a", "1.2.3.4") is None
    limiter.failed("A", "1.2.3.4")  # names are case-insensitive
    assert limiter.retry_after("a", "1.2.3.4") == 60
    assert limiter.retry_after("a", "5.6.7.8") is None
    now[0] = 61
    assert limiter.retry_after("a", "1.2.3.4") is None
    for i in range(8):  # 4 x 2 failures over many names from one address
        limiter.failed(f"user{i}", "9.9.9.9")
    assert limiter.retry_after("fresh", "9.9.9.9") is not None


def test_websocket_needs_the_session_and_our_origin(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"Origin": "http://testserver"}):
        pass
    with (
        pytest.raises(WebSocketDisconnect) as foreign,
        client.websocket_connect("/ws", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert foreign.value.code == 1008


def test_metrics_need_the_bearer_token_when_configured(
    make_settings: SettingsFactory, database_url: str
) -> None:
    with TestClient(create_app(make_settings(metrics_token=METRICS_TOKEN))) as client:
        assert client.get("/metrics").status_code == 401
        bad = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and "Bearer" in bad.headers["www-authenticate"]
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200 and "weather_trader_" in ok.text


def test_serving_beyond_loopback_needs_a_metrics_token(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append(kw))
    with pytest.raises(ApiSettingsError, match="WEATHER_TRADER_API_METRICS_TOKEN"):
        server.serve(host="0.0.0.0", settings=make_settings())
    server.serve(host="0.0.0.0", settings=make_settings(metrics_token=METRICS_TOKEN))
    server.serve(host="127.0.0.1", settings=make_settings())
    assert [c["host"] for c in calls] == ["0.0.0.0", "127.0.0.1"]
    assert calls[0]["access_log"] is False


def test_the_prometheus_config_documents_the_metrics_token() -> None:
    from weather_trader.cli import REPO_ROOT

    text = (REPO_ROOT / "monitoring" / "prometheus" / "prometheus.yml").read_text()
    sidecar_job = text.split("job_name: weather-trader-sidecar", 1)[1].split("job_name:", 1)[0]
    assert "WEATHER_TRADER_API_METRICS_TOKEN" in sidecar_job
    assert "credentials_file:" in sidecar_job and "type: Bearer" in sidecar_job

"""SourceHttp: retries, backoff hooks, rate limit, typed errors and key redaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.sources.errors import (
    MalformedResponse,
    NotFound,
    RateLimited,
    RequestRejected,
    SourceUnavailable,
)
from weather_trader.sources.http import RawPayload, SourceHttp, parse_retry_after, redact_url

BASE = "https://api.example.test"
SECRET = "s3cr3t-key-value"


def make(sleeps: list[float], **kwargs: object) -> SourceHttp:
    options: dict[str, object] = {
        "timeout": 5.0,
        "max_attempts": 3,
        "min_interval": 0.0,
        "sleep": sleeps.append,
        "backoff_initial": 0.0,
        "jitter": 0.0,
    }
    options.update(kwargs)
    return SourceHttp("test-src", BASE, "weather-trader-tests (ops@example.test)", **options)  # type: ignore[arg-type]


def test_sends_user_agent_and_returns_json(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"ok": True})
    sleeps: list[float] = []
    assert make(sleeps).get_json("/x", {"a": 1}) == {"ok": True}
    request = httpx_mock.get_requests()[0]
    assert request.headers["User-Agent"] == "weather-trader-tests (ops@example.test)"
    assert request.url == httpx.URL(f"{BASE}/x?a=1")
    assert sleeps == []


def test_timeout_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("read timed out"))
    httpx_mock.add_response(json=[1, 2])
    sleeps: list[float] = []
    assert make(sleeps).get_json("/x") == [1, 2]
    assert sleeps == [0.0]  # zero backoff injected: no real sleeping


def test_connection_error_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_response(json={})
    assert make([]).get_json("/x") == {}


def test_429_honours_retry_after_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(json={"v": 1})
    sleeps: list[float] = []
    assert make(sleeps).get_json("/x") == {"v": 1}
    assert sleeps == [7.0]


def test_retry_after_is_capped(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "3600"})
    httpx_mock.add_response(json={})
    sleeps: list[float] = []
    make(sleeps, max_retry_after=30.0).get_json("/x")
    assert sleeps == [30.0]


def test_429_exhausted_raises_rate_limited(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, is_reusable=True)
    with pytest.raises(RateLimited, match=r"test-src: HTTP 429 rate limited \(https://api"):
        make([]).get_json("/x")
    assert len(httpx_mock.get_requests()) == 3


def test_500_every_time_raises_source_unavailable(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, is_reusable=True)
    sleeps: list[float] = []
    with pytest.raises(SourceUnavailable) as info:
        make(sleeps, max_attempts=4).get_json("/x")
    assert info.value.status == 503
    assert len(httpx_mock.get_requests()) == 4
    assert len(sleeps) == 3


def test_timeouts_exhausted_raise_source_unavailable(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectTimeout("slow"), is_reusable=True)
    with pytest.raises(SourceUnavailable, match="timed out"):
        make([]).get_json("/x")


def test_exponential_backoff_with_default_strategy(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, is_reusable=True)
    sleeps: list[float] = []
    with pytest.raises(SourceUnavailable):
        make(sleeps, max_attempts=4, backoff_initial=1.0, jitter=0.0).get_json("/x")
    assert sleeps == [1.0, 2.0, 4.0]


def test_404_not_found_is_not_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404)
    with pytest.raises(NotFound):
        make([]).get_json("/missing")
    assert len(httpx_mock.get_requests()) == 1


def test_400_rejected_with_body_excerpt(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=400, json={"reason": f"bad models, key {SECRET}"})
    with pytest.raises(RequestRejected) as info:
        make([], api_key=SECRET).get_json("/x")
    assert "bad models" in str(info.value)
    assert SECRET not in str(info.value)


def test_malformed_json_raises(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="<html>Service maintenance</html>")
    with pytest.raises(MalformedResponse, match="invalid JSON"):
        make([]).get_json("/x")


def test_half_delivered_body_raises_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(content=b'{"properties": {"gridId": "OKX", "gridX": 3')
    with pytest.raises(MalformedResponse, match="invalid JSON"):
        make([]).get_json("/x")


def test_connection_dropped_mid_body_raises_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(
        httpx.RemoteProtocolError("peer closed connection without sending complete body"),
        is_reusable=True,
    )
    with pytest.raises(MalformedResponse, match="full response"):
        make([]).get_json("/x")


def test_api_key_sent_but_redacted_from_errors_and_logs(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs each request's full URL at INFO
    httpx_mock.add_response(status_code=502, is_reusable=True)
    client = make([], api_key=SECRET)
    with pytest.raises(SourceUnavailable) as info:
        client.get_json("/v1/forecast", {"latitude": 40.7})
    assert httpx_mock.get_requests()[0].url.params["apikey"] == SECRET
    assert SECRET not in str(info.value)
    assert "apikey=REDACTED" in str(info.value)
    assert "HTTP Request" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(client)


def test_min_interval_rate_limit_uses_injected_clock(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={}, is_reusable=True)
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = make([], min_interval=2.0, sleep=sleep, clock=lambda: now[0])
    client.get_json("/a")
    now[0] += 0.5
    client.get_json("/b")
    client.get_json("/c")
    assert sleeps == [1.5, 2.0]


def test_redact_url_and_retry_after_parsing() -> None:
    url = "https://x.test/v1?latitude=1&apikey=abc&KEY=def&models=a,b"
    assert redact_url(url) == "https://x.test/v1?latitude=1&apikey=REDACTED&KEY=REDACTED&models=a,b"
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_user_agent_required() -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        SourceHttp("s", BASE, "  ")


def test_payload_listeners_capture_successful_bodies_redacted(httpx_mock: HTTPXMock) -> None:
    fixed = datetime(2026, 7, 9, 12, 0, tzinfo=UTC)
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(
        content=b'{"ok": true}', headers={"Content-Type": "application/geo+json"}
    )
    httpx_mock.add_response(status_code=404)
    first: list[RawPayload] = []
    second: list[RawPayload] = []
    client = make([], api_key=SECRET, on_payload=first.append, now=lambda: fixed)
    client.add_payload_listener(second.append)
    assert client.get_json("/v1/forecast", {"latitude": 40.7}) == {"ok": True}
    with pytest.raises(NotFound):
        client.get_json("/missing")
    (payload,) = first  # the 503 retry and the 404 are not captured
    assert second == first
    assert payload == RawPayload(
        source="test-src",
        url=f"{BASE}/v1/forecast?latitude=40.7&apikey=REDACTED",
        retrieved_at=fixed,
        status=200,
        content_type="application/geo+json",
        body=b'{"ok": true}',
    )
    assert SECRET not in repr(payload)


def test_failing_payload_listener_fails_the_request(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={})

    def broken(_payload: RawPayload) -> None:
        raise RuntimeError("archive full")

    with pytest.raises(RuntimeError, match="archive full"):
        make([], on_payload=broken).get_json("/x")

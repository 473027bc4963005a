"""KalshiClient's transport against mocked HTTP: signing, pagination, retries, errors, pacing."""

from __future__ import annotations

import base64
import logging
from decimal import Decimal

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpx import HTTPXMock

from weather_trader.kalshi_signing import verify_signature
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import (
    KalshiApiError,
    KalshiAuthError,
    KalshiBadRequest,
    KalshiConflict,
    KalshiGone,
    KalshiMalformedResponse,
    KalshiNotFound,
    KalshiRateLimited,
    KalshiUnavailable,
)
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.urls import DEMO_BASE_URL, PROD_BASE_URL
from weather_trader_tests.sources.kalshi.rest_support import BASE, TICKER, make, market_json, url

# -- signing -------------------------------------------------------------------------------------


def test_signs_every_request_with_the_base_path_and_no_query(
    httpx_mock: HTTPXMock, keys: tuple[KalshiCredentials, rsa.RSAPublicKey]
) -> None:
    credentials, public_key = keys
    httpx_mock.add_response(url=url("/portfolio/balance"), json={"balance": 12345})
    httpx_mock.add_response(url=url("/markets"), json={"markets": [], "cursor": ""})
    client = make(credentials)
    assert client.balance().balance == Decimal("123.45")
    client.markets(status="open", series_ticker="KXHIGHNY")
    balance_req, markets_req = httpx_mock.get_requests()
    for request, path in (
        (balance_req, "/trade-api/v2/portfolio/balance"),
        (markets_req, "/trade-api/v2/markets"),
    ):
        assert request.headers["KALSHI-ACCESS-KEY"] == "key-id-123"
        ts = int(request.headers["KALSHI-ACCESS-TIMESTAMP"])
        signature = request.headers["KALSHI-ACCESS-SIGNATURE"]
        assert verify_signature(public_key, ts, request.method, path, signature)
        assert not verify_signature(public_key, ts, "POST", path, signature)
    # The query string is not part of the signed message.
    assert markets_req.url.query
    ts = markets_req.headers["KALSHI-ACCESS-TIMESTAMP"]
    raw = base64.b64decode(markets_req.headers["KALSHI-ACCESS-SIGNATURE"])
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    public_key.verify(raw, f"{ts}GET/trade-api/v2/markets".encode(), pss, hashes.SHA256())
    with_query = f"{ts}GET/trade-api/v2/markets?{markets_req.url.query.decode()}".encode()
    with pytest.raises(InvalidSignature):
        public_key.verify(raw, with_query, pss, hashes.SHA256())


def test_local_exchange_base_url_is_signed_with_its_path(
    httpx_mock: HTTPXMock, keys: tuple[KalshiCredentials, rsa.RSAPublicKey]
) -> None:
    credentials, public_key = keys
    local = "http://127.0.0.1:8765/trade-api/v2"
    httpx_mock.add_response(url=local + "/portfolio/balance", json={"balance": 100})
    client = make(credentials, base_url=local + "/")
    assert client.balance().balance == Decimal(1)
    request = httpx_mock.get_request()
    assert request is not None
    assert verify_signature(
        public_key,
        int(request.headers["KALSHI-ACCESS-TIMESTAMP"]),
        "GET",
        "/trade-api/v2/portfolio/balance",
        request.headers["KALSHI-ACCESS-SIGNATURE"],
    )
    assert client.signed_path("/markets?x=1") == "/trade-api/v2/markets"
    assert PROD_BASE_URL.endswith("/trade-api/v2") and DEMO_BASE_URL.endswith("/trade-api/v2")


def test_unauthenticated_reads_and_portfolio_guard(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), json={"market": market_json()})
    client = make()
    assert not client.authenticated
    assert client.get_market(TICKER).yes_bid == Decimal("0.16")
    request = httpx_mock.get_request()
    assert request is not None and "KALSHI-ACCESS-SIGNATURE" not in request.headers
    with pytest.raises(KalshiAuthError, match="needs API credentials"):
        client.balance()  # refused locally: no request is sent


def test_no_key_material_in_repr_or_logs(
    httpx_mock: HTTPXMock, creds: KalshiCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(url=url("/portfolio/balance"), status_code=503)
    httpx_mock.add_response(url=url("/portfolio/balance"), json={"balance": 1})
    caplog.set_level(logging.DEBUG, logger="weather_trader.sources.kalshi.rest_transport")
    client = make(creds)
    client.balance()
    signatures = [r.headers["KALSHI-ACCESS-SIGNATURE"] for r in httpx_mock.get_requests()]
    assert "key-id-123" not in repr(client) and "authenticated=True" in repr(client)
    # Only the transport's own records: other loggers (httpx) may be captured too, depending on
    # the logging set up by earlier tests in the process.
    records = [
        r for r in caplog.records if r.name == "weather_trader.sources.kalshi.rest_transport"
    ]
    assert records, "requests and retries are logged"
    for record in records:
        assert record.path == "/trade-api/v2/portfolio/balance"  # type: ignore[attr-defined]
        assert record.method == "GET"  # type: ignore[attr-defined]
        assert hasattr(record, "status")
        text = record.getMessage()
        assert "key-id-123" not in text
        assert all(sig not in text for sig in signatures)
    assert any(getattr(r, "status", None) == 503 for r in records)
    assert all("key-id-123" not in r.getMessage() for r in caplog.records)


# -- pagination ----------------------------------------------------------------------------------


def test_cursor_pagination_carries_filters(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=url("/markets"),
        json={"markets": [market_json(), market_json("KXHIGHNY-26JUL12-T89")], "cursor": "c1"},
    )
    httpx_mock.add_response(
        url=url("/markets"),
        json={"markets": [market_json("KXHIGHNY-26JUL12-B88.5")], "cursor": ""},
    )
    markets = make().markets(series_ticker="KXHIGHNY", status="open", min_close_ts=1783700000)
    assert [m.ticker for m in markets] == [TICKER, "KXHIGHNY-26JUL12-T89", "KXHIGHNY-26JUL12-B88.5"]
    first, second = httpx_mock.get_requests()
    assert dict(first.url.params) == {
        "series_ticker": "KXHIGHNY",
        "status": "open",
        "min_close_ts": "1783700000",
        "limit": "1000",
    }
    assert second.url.params["cursor"] == "c1"
    assert second.url.params["series_ticker"] == "KXHIGHNY"


def test_repeated_cursor_is_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/markets/trades"), json={"trades": [], "cursor": "same"})
    httpx_mock.add_response(url=url("/markets/trades"), json={"trades": [], "cursor": "same"})
    with pytest.raises(KalshiMalformedResponse, match="repeated"):
        make().trades(ticker=TICKER)


def test_max_pages_stops_early(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/events"), json={"events": [], "cursor": "more"})
    assert make().events(series_ticker="KXHIGHNY", max_pages=1) == []
    assert len(httpx_mock.get_requests()) == 1


# -- retries on reads ----------------------------------------------------------------------------


def test_429_run_then_success(httpx_mock: HTTPXMock) -> None:
    for _ in range(2):
        httpx_mock.add_response(
            url=url(f"/markets/{TICKER}"), status_code=429, json={"error": "too many requests"}
        )
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), json={"market": market_json()})
    sleeps: list[float] = []
    assert make(sleeps=sleeps).get_market(TICKER).ticker == TICKER
    assert len(httpx_mock.get_requests()) == 3
    assert sleeps == [0.0, 0.0]  # two zero backoff waits, no real sleeping


def test_429_forever_raises_rate_limited(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=url(f"/markets/{TICKER}"),
        status_code=429,
        json={"error": "too many requests"},
        is_reusable=True,
    )
    with pytest.raises(KalshiRateLimited) as info:
        make(max_attempts=4).get_market(TICKER)
    assert info.value.status == 429 and info.value.message == "too many requests"
    assert len(httpx_mock.get_requests()) == 4


def test_5xx_and_timeouts_on_reads_are_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), status_code=503)
    httpx_mock.add_exception(httpx.ReadTimeout("read timed out"), url=url(f"/markets/{TICKER}"))
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), json={"market": market_json()})
    assert make().get_market(TICKER).ticker == TICKER
    assert len(httpx_mock.get_requests()) == 3


def test_5xx_forever_raises_unavailable(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=url(f"/markets/{TICKER}"),
        status_code=502,
        json={"error": {"code": "internal", "message": "bad gateway"}},
        is_reusable=True,
    )
    with pytest.raises(KalshiUnavailable) as info:
        make().get_market(TICKER)
    assert info.value.status == 502 and info.value.code == "internal"
    assert len(httpx_mock.get_requests()) == 3


def test_connection_errors_exhausted(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(
        httpx.RemoteProtocolError("peer closed"), url=url("/markets/trades"), is_reusable=True
    )
    with pytest.raises(KalshiUnavailable, match="connection_lost"):
        make().trades()
    assert len(httpx_mock.get_requests()) == 3


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_cls"),
    [
        (400, KalshiBadRequest),
        (401, KalshiAuthError),
        (403, KalshiAuthError),
        (404, KalshiNotFound),
        (409, KalshiConflict),
        (410, KalshiGone),
        (422, KalshiApiError),
    ],
)
def test_error_envelope_maps_to_typed_errors(
    httpx_mock: HTTPXMock, status: int, error_cls: type[KalshiApiError]
) -> None:
    httpx_mock.add_response(
        url=url("/markets/NOPE"),
        status_code=status,
        json={"error": {"code": "some_code", "message": "some message", "details": "more"}},
    )
    with pytest.raises(error_cls) as info:
        make().get_market("NOPE")
    error = info.value
    assert type(error) is error_cls
    assert (error.status, error.code, error.message, error.details) == (
        status,
        "some_code",
        "some message",
        "more",
    )
    assert (error.method, error.path) == ("GET", "/trade-api/v2/markets/NOPE")
    assert "GET /trade-api/v2/markets/NOPE" in str(error) and f"HTTP {status}" in str(error)
    assert len(httpx_mock.get_requests()) == 1  # 4xx is never retried


def test_non_json_error_body(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/markets/NOPE"), status_code=404, text="<html>nope</html>")
    with pytest.raises(KalshiNotFound, match="nope"):
        make().get_market("NOPE")


def test_410_on_v1_order_write(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="POST",
        status_code=410,
        json={"error": {"code": "endpoint_gone", "message": "use /portfolio/events/orders"}},
    )
    with pytest.raises(KalshiGone) as info:
        make(creds).request_json("post", "/portfolio/orders", body={"ticker": TICKER}, write=True)
    assert info.value.code == "endpoint_gone" and info.value.method == "POST"
    assert len(httpx_mock.get_requests()) == 1


def test_malformed_json_and_schema_mismatch(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), text="{not json")
    httpx_mock.add_response(
        url=url(f"/markets/{TICKER}"), json={"market": market_json(close_time=None)}
    )
    httpx_mock.add_response(url=url(f"/markets/{TICKER}"), json={"markets": []})
    httpx_mock.add_response(url=url("/markets"), json={"markets": {"a": 1}})
    deep = '{"market": ' + "[" * 100_000 + "]" * 100_000 + "}"
    httpx_mock.add_response(url=url("/markets/DEEP"), text=deep)  # RecursionError before
    client = make()
    with pytest.raises(KalshiMalformedResponse, match="invalid JSON"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="invalid JSON"):
        client.get_market("DEEP")
    with pytest.raises(KalshiMalformedResponse, match="close_time"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="'market'"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="list"):
        client.markets()


# -- pacing and lifecycle ------------------------------------------------------------------------


def test_rate_limiter_paces_requests(httpx_mock: HTTPXMock) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    httpx_mock.add_response(
        url=url(f"/markets/{TICKER}"), json={"market": market_json()}, is_reusable=True
    )
    client = KalshiClient(BASE, tier="basic", wait=lambda s: 0.0, sleep=sleep, clock=lambda: now[0])
    for _ in range(21):  # the 200-token read bucket covers 20 requests of 10 tokens
        client.get_market(TICKER)
    assert sleeps == [pytest.approx(0.05)]
    client.close()


def test_context_manager_closes() -> None:
    with make() as client:
        assert client.base_url == BASE
    with pytest.raises(ValueError):
        KalshiClient(BASE, max_attempts=0)
    with pytest.raises(ValueError):
        KalshiClient(BASE, tier="gold")

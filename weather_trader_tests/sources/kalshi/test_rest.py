"""KalshiClient against mocked HTTP: signing, pagination, retries, order recovery, errors."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpx import HTTPXMock

from weather_trader.core.records import OrderRequest
from weather_trader.kalshi_signing import generate_key_pair, load_public_key, verify_signature
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import (
    KalshiApiError,
    KalshiAuthError,
    KalshiBadRequest,
    KalshiConflict,
    KalshiGone,
    KalshiMalformedResponse,
    KalshiNotFound,
    KalshiOrderUnknown,
    KalshiRateLimited,
    KalshiUnavailable,
)
from weather_trader.sources.kalshi.ratelimit import KalshiRateLimiter
from weather_trader.sources.kalshi.rest import (
    DEMO_BASE_URL,
    PROD_BASE_URL,
    KalshiClient,
    format_count,
    format_price,
)

BASE = "https://api.example.test/trade-api/v2"
TICKER = "KXHIGHNY-26JUL12-T82"
ORDERS = "/portfolio/events/orders"


def url(path: str) -> re.Pattern[str]:
    """Match ``BASE + path`` with any query string."""
    return re.compile(re.escape(BASE + path) + r"(\?.*)?$")


@pytest.fixture(scope="module")
def keys() -> tuple[KalshiCredentials, rsa.RSAPublicKey]:
    private_pem, public_pem = generate_key_pair()
    return KalshiCredentials.from_pem("key-id-123", private_pem), load_public_key(public_pem)


@pytest.fixture
def creds(keys: tuple[KalshiCredentials, rsa.RSAPublicKey]) -> KalshiCredentials:
    return keys[0]


def make(
    credentials: KalshiCredentials | None = None,
    sleeps: list[float] | None = None,
    base_url: str = BASE,
    **kwargs: Any,
) -> KalshiClient:
    """A client with zero backoff waits and a recording sleep: tests never really sleep."""
    record: Callable[[float], None] = sleeps.append if sleeps is not None else (lambda s: None)
    options: dict[str, Any] = {
        "wait": lambda state: 0.0,
        "sleep": record,
        "order_lookup_delay": 0.0,
        "max_attempts": 3,
    }
    options.update(kwargs)
    return KalshiClient(base_url, credentials, **options)


def market_json(ticker: str = TICKER, **overrides: Any) -> dict[str, Any]:
    """A market in Kalshi's 2026 format (fields as in the recorded KXHIGHNY responses)."""
    body = {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "title": "Will the **high temp in NYC** be <82° on Jul 12, 2026?",
        "subtitle": "81° or below",
        "yes_sub_title": "81° or below",
        "no_sub_title": "81° or below",
        "open_time": "2026-07-11T14:00:00Z",
        "close_time": "2026-07-13T04:59:00Z",
        "expiration_time": "2026-07-19T14:00:00Z",
        "status": "active",
        "result": "",
        "expiration_value": "",
        "strike_type": "less",
        "cap_strike": 82,
        "yes_bid_dollars": "0.1600",
        "yes_ask_dollars": "0.1900",
        "no_bid_dollars": "0.8100",
        "no_ask_dollars": "0.8400",
        "last_price_dollars": "0.1700",
        "yes_bid_size_fp": "12.00",
        "yes_ask_size_fp": "11.00",
        "volume_fp": "1303.54",
        "open_interest_fp": "684.32",
        "rules_primary": "If the highest temperature ... is less than 82°, then the market "
        "resolves to Yes.",
    }
    body.update(overrides)
    return body


def order_json(client_order_id: str, order_id: str = "ord-1", **overrides: Any) -> dict[str, Any]:
    """An order as GET /portfolio/orders lists it (2026 fields)."""
    body = {
        "order_id": order_id,
        "user_id": "user-1",
        "client_order_id": client_order_id,
        "ticker": TICKER,
        "side": "yes",
        "action": "buy",
        "type": "limit",
        "status": "executed",
        "yes_price_dollars": "0.4200",
        "no_price_dollars": "0.5800",
        "fill_count_fp": "10.00",
        "remaining_count_fp": "0.00",
        "initial_count_fp": "10.00",
        "taker_fees_dollars": "0.1700",
        "maker_fees_dollars": "0.0000",
        "taker_fill_cost_dollars": "4.2000",
        "maker_fill_cost_dollars": "0.0000",
        "created_time": "2026-07-11T15:00:00Z",
    }
    body.update(overrides)
    return body


def request_order(client_order_id: str = "wt-NYC-2026-07-12-T82-1") -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id,
        ticker=TICKER,
        side="bid",
        count=10,
        price=Decimal("0.42"),
        time_in_force="immediate_or_cancel",
    )


def ack_json(client_order_id: str, order_id: str = "ord-1") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "client_order_id": client_order_id,
        "fill_count": "10.00",
        "remaining_count": "0.00",
        "average_fill_price": "0.4200",
        "average_fee_paid": "0.0170",
        "ts_ms": 1783782000000,
    }


def posts(httpx_mock: HTTPXMock, path: str = ORDERS) -> list[httpx.Request]:
    return httpx_mock.get_requests(method="POST", url=BASE + path)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


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
    caplog.set_level(logging.DEBUG, logger="weather_trader.sources.kalshi.rest")
    client = make(creds)
    client.balance()
    signatures = [r.headers["KALSHI-ACCESS-SIGNATURE"] for r in httpx_mock.get_requests()]
    assert "key-id-123" not in repr(client) and "authenticated=True" in repr(client)
    assert caplog.records, "requests and retries are logged"
    for record in caplog.records:
        assert record.path == "/trade-api/v2/portfolio/balance"  # type: ignore[attr-defined]
        assert record.method == "GET"  # type: ignore[attr-defined]
        assert hasattr(record, "status")
        text = record.getMessage()
        assert "key-id-123" not in text
        assert all(sig not in text for sig in signatures)
    assert any(getattr(r, "status", None) == 503 for r in caplog.records)


# -- pagination and market data ------------------------------------------------------------------


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


def test_temperature_series_discovery(httpx_mock: HTTPXMock) -> None:
    def series(ticker: str) -> dict[str, Any]:
        return {
            "ticker": ticker,
            "frequency": "daily",
            "title": ticker,
            "category": "Climate and Weather",
            "tags": ["Weather"],
            "settlement_sources": [{"name": "NWS", "url": "https://www.weather.gov/"}],
            "contract_url": "",
            "contract_terms_url": "",
            "fee_type": "quadratic",
            "fee_multiplier": 1,
            "additional_prohibitions": [],
        }

    httpx_mock.add_response(
        url=url("/series"),
        json={"series": [series("KXHIGHNY"), series("KXRAINNYC"), series("KXLOWTNYC")]},
    )
    found = make().temperature_series()
    assert [s.ticker for s in found] == ["KXHIGHNY", "KXLOWTNYC"]
    assert found[0].fee_multiplier == Decimal(1)
    request = httpx_mock.get_request()
    assert request is not None and request.url.params["category"] == "Climate and Weather"


def test_events_and_event(httpx_mock: HTTPXMock) -> None:
    event = {
        "event_ticker": "KXHIGHNY-26JUL12",
        "series_ticker": "KXHIGHNY",
        "sub_title": "On Jul 12, 2026",
        "title": "Highest temperature in NYC on Jul 12, 2026?",
        "collateral_return_type": "MECNET",
        "mutually_exclusive": True,
        "strike_date": "2026-07-13T04:59:00Z",
    }
    httpx_mock.add_response(
        url=url("/events"),
        json={"events": [{**event, "markets": [market_json()]}], "cursor": None},
    )
    httpx_mock.add_response(
        url=url("/events/KXHIGHNY-26JUL12"), json={"event": event, "markets": [market_json()]}
    )
    client = make()
    events = client.events(series_ticker="KXHIGHNY", status="open", with_nested_markets=True)
    assert events[0].markets is not None and events[0].markets[0].ticker == TICKER
    one = client.get_event("KXHIGHNY-26JUL12")
    assert one.markets is not None and one.markets[0].bracket.cap_strike == 82
    first = httpx_mock.get_requests()[0]
    assert first.url.params["with_nested_markets"] == "true"
    assert first.url.params["limit"] == "200"


def test_orderbooks(httpx_mock: HTTPXMock) -> None:
    book = {"yes_dollars": [["0.1600", "12.00"]], "no_dollars": [["0.8100", "11.00"]]}
    httpx_mock.add_response(url=url(f"/markets/{TICKER}/orderbook"), json={"orderbook_fp": book})
    httpx_mock.add_response(
        url=url("/markets/orderbooks"),
        json={"orderbooks": [{"ticker": TICKER, "orderbook_fp": book}]},
    )
    client = make()
    single = client.orderbook(TICKER, depth=5)
    assert single.ticker == TICKER and single.yes_ask == Decimal("0.19")
    many = client.orderbooks([TICKER, "KXHIGHNY-26JUL12-T89"])
    assert many[0].no_bid == Decimal("0.81")
    single_req, many_req = httpx_mock.get_requests()
    assert single_req.url.params["depth"] == "5"
    assert many_req.url.params.get_list("tickers") == [TICKER, "KXHIGHNY-26JUL12-T89"]


def test_candlesticks_trades_and_history(httpx_mock: HTTPXMock) -> None:
    candle = {
        "end_period_ts": 1783674000,
        "yes_bid": {
            "open_dollars": "0.62",
            "high_dollars": "0.62",
            "low_dollars": "0.55",
            "close_dollars": "0.60",
        },
        "yes_ask": {
            "open_dollars": "0.63",
            "high_dollars": "0.63",
            "low_dollars": "0.60",
            "close_dollars": "0.61",
        },
        "price": {"close_dollars": "0.6000", "mean_dollars": "0.6071"},
        "volume_fp": "83.70",
        "open_interest_fp": "6904.73",
    }
    httpx_mock.add_response(
        url=url(f"/series/KXHIGHNY/markets/{TICKER}/candlesticks"),
        json={"ticker": TICKER, "candlesticks": [candle]},
    )
    httpx_mock.add_response(
        url=url("/markets/trades"),
        json={
            "trades": [
                {
                    "trade_id": "t1",
                    "ticker": TICKER,
                    "count_fp": "3.00",
                    "yes_price_dollars": "0.1700",
                    "no_price_dollars": "0.8300",
                    "taker_side": "yes",
                    "created_time": "2026-07-11T15:00:00Z",
                }
            ],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/historical/cutoff"),
        json={
            "market_settled_ts": "2026-05-01T00:00:00Z",
            "trades_created_ts": "2026-05-01T00:00:00Z",
            "orders_updated_ts": "2026-05-01T00:00:00Z",
        },
    )
    httpx_mock.add_response(
        url=url("/historical/markets"),
        json={"markets": [market_json(status="finalized", result="yes")], "cursor": ""},
    )
    client = make()
    candles = client.candlesticks("KXHIGHNY", TICKER, 1783670000, 1783690000, 60)
    assert candles[0].price.mean == Decimal("0.6071")
    assert client.trades(ticker=TICKER)[0].count == Decimal(3)
    assert client.historical_cutoff().market_settled_ts.year == 2026
    assert client.historical_markets(series_ticker="KXHIGHNY")[0].result == "yes"
    params = httpx_mock.get_requests()[0].url.params
    assert (params["start_ts"], params["end_ts"], params["period_interval"]) == (
        "1783670000",
        "1783690000",
        "60",
    )


def test_portfolio_reads(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(
        url=url("/portfolio/positions"),
        json={
            "market_positions": [
                {
                    "ticker": TICKER,
                    "position_fp": "5.00",
                    "market_exposure_dollars": "0.8000",
                    "total_traded_dollars": "0.8000",
                    "realized_pnl_dollars": "0.0000",
                    "fees_paid_dollars": "0.0100",
                }
            ],
            "event_positions": [],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/fills"),
        json={
            "fills": [
                {
                    "fill_id": "f1",
                    "trade_id": "f1",
                    "order_id": "ord-1",
                    "ticker": TICKER,
                    "market_ticker": TICKER,
                    "side": "yes",
                    "action": "buy",
                    "count_fp": "5.00",
                    "yes_price_dollars": "0.1600",
                    "no_price_dollars": "0.8400",
                    "is_taker": True,
                    "fee_cost": "0.0100",
                    "created_time": "2026-07-11T15:00:00Z",
                }
            ],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/settlements"),
        json={
            "settlements": [
                {
                    "ticker": TICKER,
                    "event_ticker": "KXHIGHNY-26JUL12",
                    "market_result": "no",
                    "yes_count_fp": "5.00",
                    "yes_total_cost_dollars": "0.8000",
                    "no_count_fp": "0.00",
                    "no_total_cost_dollars": "0.0000",
                    "revenue": 0,
                    "settled_time": "2026-07-13T12:00:00Z",
                    "fee_cost": "0.0100",
                }
            ],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders/ord-1"), json={"order": order_json("c1", status="resting")}
    )
    client = make(creds)
    assert client.positions()[0].position == Decimal(5)
    assert client.fills(ticker=TICKER)[0].fee_cost == Decimal("0.01")
    assert client.settlements()[0].revenue == Decimal(0)
    assert client.get_order("ord-1").is_resting


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
    client = make()
    with pytest.raises(KalshiMalformedResponse, match="invalid JSON"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="close_time"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="'market'"):
        client.get_market(TICKER)
    with pytest.raises(KalshiMalformedResponse, match="list"):
        client.markets()


# -- order writes ---------------------------------------------------------------------------------


def test_create_order_sends_the_v2_body(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order, order_group_id="g-1")
    assert ack.order_id == "ord-1" and not ack.recovered
    assert ack.fill_count == Decimal(10) and ack.average_fill_price == Decimal("0.42")
    (request,) = posts(httpx_mock)
    assert body_of(request) == {
        "ticker": TICKER,
        "client_order_id": order.client_order_id,
        "side": "bid",
        "count": "10.00",
        "price": "0.4200",
        "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross",
        "post_only": False,
        "reduce_only": False,
        "order_group_id": "g-1",
    }


def test_create_timeout_resolved_by_lookup(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={
            "orders": [order_json("someone-else", "ord-0"), order_json(order.client_order_id)],
            "cursor": "",
        },
    )
    ack = make(creds).create_order(order)
    assert ack.recovered and ack.order_id == "ord-1" and ack.order is not None
    assert ack.fill_count == Decimal(10)
    assert len(posts(httpx_mock)) == 1  # nothing re-sent, certainly not under a new id
    lookup = httpx_mock.get_requests(method="GET")[0]
    assert lookup.url.params["ticker"] == TICKER


def test_create_timeout_not_found_resends_once_same_id(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order)
    assert not ack.recovered and ack.order_id == "ord-1"
    first, second = posts(httpx_mock)
    assert body_of(first) == body_of(second)
    assert body_of(second)["client_order_id"] == order.client_order_id


def test_resend_409_means_it_exists(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=500)
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    httpx_mock.add_response(
        url=BASE + ORDERS,
        method="POST",
        status_code=409,
        json={"error": {"code": "order_already_exists", "message": "duplicate client_order_id"}},
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json(order.client_order_id, "ord-9")], "cursor": ""},
    )
    ack = make(creds).create_order(order)
    assert ack.recovered and ack.order_id == "ord-9"
    assert len(posts(httpx_mock)) == 2


def test_unresolved_create_raises_order_unknown(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=502, is_reusable=True)
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [], "cursor": ""},
        is_reusable=True,
    )
    with pytest.raises(KalshiOrderUnknown) as info:
        make(creds).create_order(order)
    assert info.value.client_order_id == order.client_order_id
    sent = posts(httpx_mock)
    assert len(sent) == 2  # the original and exactly one re-send
    assert {body_of(r)["client_order_id"] for r in sent} == {order.client_order_id}


def test_failed_lookup_raises_order_unknown(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", status_code=503, is_reusable=True
    )
    with pytest.raises(KalshiOrderUnknown, match="could not look the order up"):
        make(creds).create_order(order)
    assert len(posts(httpx_mock)) == 1


def test_first_send_409_duplicate(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    duplicate = {"error": {"code": "order_already_exists", "message": "duplicate"}}
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=409, json=duplicate)
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json(order.client_order_id)], "cursor": ""},
    )
    ack = make(creds).create_order(order)  # idempotent per client id: the existing order
    assert ack.recovered and ack.order_id == "ord-1"

    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=409, json=duplicate)
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    with pytest.raises(KalshiConflict) as info:
        make(creds).create_order(order)
    assert info.value.code == "order_already_exists"


def test_write_retries_only_when_not_executed(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=429, json={"error": "too many requests"}
    )
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order)
    assert ack.order_id == "ord-1" and not ack.recovered
    assert len(posts(httpx_mock)) == 3
    assert not httpx_mock.get_requests(method="GET")  # no lookup needed


def test_other_writes_are_not_retried(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(url=url(f"{ORDERS}/ord-1"), method="DELETE", status_code=500)
    with pytest.raises(KalshiUnavailable):
        make(creds).cancel_order("ord-1")
    assert len(httpx_mock.get_requests()) == 1


def test_create_order_validates_inputs(creds: KalshiCredentials) -> None:
    with pytest.raises(ValueError, match="client_order_id"):
        make(creds).create_order(request_order(client_order_id=""))
    assert format_price(Decimal("0.5")) == "0.5000" and format_count(3) == "3.00"
    for bad_price in (Decimal(0), Decimal(1), 0.5):
        with pytest.raises(ValueError):
            format_price(bad_price)  # type: ignore[arg-type]
    for bad_count in (-1, True, 1.5):
        with pytest.raises(ValueError):
            format_count(bad_count)  # type: ignore[arg-type]


def test_cancel_amend_decrease(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(
        url=url(f"{ORDERS}/ord-1"),
        method="DELETE",
        json={"order_id": "ord-1", "client_order_id": "c1", "reduced_by": "4.00", "ts_ms": 1},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/ord-1/amend",
        method="POST",
        json={"order_id": "ord-1", "client_order_id": "c1b", "remaining_count": "6.00"},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/ord-1/decrease",
        method="POST",
        json={"order_id": "ord-1", "remaining_count": "2.00", "ts_ms": 2},
    )
    limiter = KalshiRateLimiter("basic", clock=lambda: 0.0, sleep=lambda s: None)
    client = make(creds, rate_limiter=limiter)
    cancel = client.cancel_order("ord-1", ticker=TICKER)
    assert cancel.ok and cancel.reduced_by == Decimal(4)
    assert limiter.write.available == pytest.approx(198)  # a cancel costs 2 write tokens
    amended = client.amend_order(
        "ord-1",
        ticker=TICKER,
        side="bid",
        price=Decimal("0.45"),
        count=10,
        client_order_id="c1",
        updated_client_order_id="c1b",
    )
    assert amended.remaining_count == Decimal(6)
    assert client.decrease_order("ord-1", reduce_to=2).remaining_count == Decimal(2)
    assert limiter.write.available == pytest.approx(178)
    assert limiter.read.available == pytest.approx(200)
    delete, amend, decrease = httpx_mock.get_requests()
    assert delete.url.params["market_ticker"] == TICKER
    assert body_of(amend) == {
        "ticker": TICKER,
        "side": "bid",
        "price": "0.4500",
        "count": "10.00",
        "client_order_id": "c1",
        "updated_client_order_id": "c1b",
    }
    assert body_of(decrease) == {"reduce_to": "2.00"}
    with pytest.raises(ValueError):
        client.decrease_order("ord-1", reduce_by=1, reduce_to=2)
    with pytest.raises(ValueError):
        client.decrease_order("ord-1")


def test_batch_create_and_cancel(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    a, b = request_order("c-a"), request_order("c-b")
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="POST",
        status_code=201,
        json={
            "orders": [
                {**ack_json("c-a", "ord-a"), "error": None},
                {"client_order_id": "c-b", "error": {"code": "bad", "message": "refused"}},
            ]
        },
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="DELETE",
        json={"orders": [{"order_id": "ord-a", "reduced_by": "10.00", "ts_ms": 5}]},
    )
    client = make(creds)
    results = client.batch_create_orders([a, b])
    assert [r.ok for r in results] == [True, False]
    assert results[1].error is not None and results[1].error.code == "bad"
    cancels = client.batch_cancel_orders(["ord-a"])
    assert cancels[0].reduced_by == Decimal(10)
    create_req, cancel_req = httpx_mock.get_requests()
    assert [o["client_order_id"] for o in body_of(create_req)["orders"]] == ["c-a", "c-b"]
    assert body_of(cancel_req) == {"orders": [{"order_id": "ord-a"}]}
    with pytest.raises(ValueError, match="unique"):
        client.batch_create_orders([a, a])


def test_batch_create_unknown_outcome_resends_only_missing(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    a, b = request_order("c-a"), request_order("c-b")
    httpx_mock.add_exception(
        httpx.ReadTimeout("timed out"), url=BASE + f"{ORDERS}/batched", method="POST"
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json("c-a", "ord-a")], "cursor": ""},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="POST",
        status_code=201,
        json={"orders": [ack_json("c-b", "ord-b")]},
    )
    results = make(creds).batch_create_orders([a, b])
    assert [r.client_order_id for r in results] == ["c-a", "c-b"]
    assert results[0].ack is not None and results[0].ack.recovered
    assert results[1].ack is not None and results[1].ack.order_id == "ord-b"
    first, second = posts(httpx_mock, f"{ORDERS}/batched")
    assert len(body_of(first)["orders"]) == 2
    assert [o["client_order_id"] for o in body_of(second)["orders"]] == ["c-b"]


def test_order_groups(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    groups = "/portfolio/order_groups"
    httpx_mock.add_response(
        url=BASE + f"{groups}/create", method="POST", status_code=201, json={"order_group_id": "g1"}
    )
    httpx_mock.add_response(
        url=BASE + f"{groups}/g1",
        method="GET",
        json={"is_auto_cancel_enabled": False, "contracts_limit_fp": "50.00", "orders": ["o1"]},
    )
    httpx_mock.add_response(
        url=BASE + groups,
        method="GET",
        json={"order_groups": [{"id": "g1", "is_auto_cancel_enabled": False}]},
    )
    httpx_mock.add_response(url=BASE + f"{groups}/g1/reset", method="PUT", json={})
    httpx_mock.add_response(url=BASE + f"{groups}/g1", method="DELETE", json={})
    client = make(creds)
    assert client.create_order_group(50) == "g1"
    group = client.get_order_group("g1")
    assert group.id == "g1" and group.contracts_limit == Decimal(50) and group.orders == ("o1",)
    assert [g.id for g in client.order_groups()] == ["g1"]
    client.reset_order_group("g1")
    client.delete_order_group("g1")
    create = httpx_mock.get_requests()[0]
    assert body_of(create) == {"contracts_limit": 50, "contracts_limit_fp": "50.00"}
    with pytest.raises(ValueError):
        client.create_order_group(0)


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

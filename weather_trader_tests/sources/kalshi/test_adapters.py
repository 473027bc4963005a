"""KalshiMarketData and KalshiBroker (the ports over the REST client) against mocked HTTP.

The markets are Kalshi's recorded 2026 responses (shared/realdata/kalshi/tMer234_trimmed); the
end-to-end path against the local exchange is tested with the exchange.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.records import MarketSnapshot, OrderRequest
from weather_trader.kalshi_signing import generate_key_pair
from weather_trader.sim.exchange.clocked import ClockedMarketData, ExchangeTime
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.broker import KalshiBroker
from weather_trader.sources.kalshi.market_data import KalshiMarketData, MarketDataUnavailable
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader_tests.shared_data import require_realdata

BASE = "https://api.example.test/trade-api/v2"
RECORDED = ("kalshi", "tMer234_trimmed", "kxhighny_open_trimmed.json")
DAY = date(2026, 7, 12)
NOW = datetime(2026, 7, 12, 15, tzinfo=UTC)


def url(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(BASE + path) + r"(\?.*)?$")


def client(credentials: KalshiCredentials | None = None) -> KalshiClient:
    return KalshiClient(
        BASE, credentials, wait=lambda state: 0.0, sleep=lambda s: None, order_lookup_delay=0.0
    )


def recorded_markets() -> list[dict[str, Any]]:
    return json.loads(require_realdata(*RECORDED).read_text())["markets"]


def mock_event(httpx_mock: HTTPXMock) -> list[dict[str, Any]]:
    markets = recorded_markets()
    event = {"event_ticker": "KXHIGHNY-26JUL12", "series_ticker": "KXHIGHNY", "markets": markets}
    httpx_mock.add_response(url=url("/events/KXHIGHNY-26JUL12"), json={"event": event})
    books = [
        {
            "ticker": m["ticker"],
            "orderbook_fp": {
                "yes_dollars": [["0.0100", "211.00"]],
                "no_dollars": [["0.9800", "5.00"]],
            },
        }
        for m in markets
    ]
    httpx_mock.add_response(url=url("/markets/orderbooks"), json={"orderbooks": books})
    series = {
        "ticker": "KXHIGHNY",
        "title": "NYC high",
        "fee_type": "quadratic",
        "fee_multiplier": 0.5,
    }
    httpx_mock.add_response(url=url("/series/KXHIGHNY"), json={"series": series})
    return markets


def test_event_markets_from_recorded_2026_markets(httpx_mock: HTTPXMock) -> None:
    markets = mock_event(httpx_mock)
    feed = KalshiMarketData(client(), now=lambda: NOW + timedelta(minutes=2))

    snaps = feed.event_markets("NYC", DAY, "high", NOW)

    assert len(snaps) == len(markets)
    # Coldest bracket first, strikes read from the strike fields.
    assert [(s.strike_type, s.floor_strike, s.cap_strike) for s in snaps] == [
        ("less", None, 82), ("between", 88, 89), ("greater", 89, None),
    ]  # fmt: skip
    first = snaps[0]
    assert (first.city, first.climate_date, first.kind, first.captured_at) == (
        "NYC",
        DAY,
        "high",
        NOW,
    )
    assert first.yes_bid == Decimal("0.01") and first.yes_ask == Decimal("0.02")
    assert first.fee_multiplier == Decimal("0.5")
    assert first.close_time == datetime(2026, 7, 13, 4, 59, tzinfo=UTC)  # 23:59 EST


def test_a_real_exchange_cannot_answer_for_the_past(httpx_mock: HTTPXMock) -> None:
    feed = KalshiMarketData(client(), now=lambda: NOW + timedelta(hours=3))
    with pytest.raises(MarketDataUnavailable, match="current books only"):
        feed.event_markets("NYC", DAY, "high", NOW)
    assert httpx_mock.get_requests() == []


def test_a_simulated_exchange_is_wound_to_the_instant_first(httpx_mock: HTTPXMock) -> None:
    mock_event(httpx_mock)
    moved: list[datetime] = []
    time = ExchangeTime(moved.append)
    feed = ClockedMarketData(KalshiMarketData(client(), now=time.now), time)
    assert len(feed.event_markets("NYC", DAY, "high", NOW)) == 3
    assert moved == [NOW]


def test_an_unlisted_event_has_no_markets(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=url("/events/KXHIGHNY-26JUL12"),
        status_code=404,
        json={"error": {"code": "not_found", "message": "event not found"}},
    )
    assert KalshiMarketData(client(), now=lambda: NOW).event_markets("NYC", DAY, "high", NOW) == []


ORDER = OrderRequest(
    client_order_id="wt-NYC-2026-07-12-T82-1",
    ticker="KXHIGHNY-26JUL12-T82",
    side="bid",
    count=10,
    price=Decimal("0.42"),
)


@pytest.fixture(scope="module")
def creds() -> KalshiCredentials:
    return KalshiCredentials.from_pem("key-1", generate_key_pair()[0])


def fill_json(fill_id: str, count: str, price: str, fee: str) -> dict[str, Any]:
    return {
        "fill_id": fill_id, "trade_id": fill_id, "order_id": "ord-1",
        "client_order_id": ORDER.client_order_id, "ticker": ORDER.ticker, "side": "yes",
        "action": "buy", "count_fp": count, "yes_price_dollars": price,
        "no_price_dollars": str(Decimal(1) - Decimal(price)), "is_taker": True,
        "fee_cost": fee, "created_time": "2026-07-12T15:00:01Z",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("tif", "fills", "status"),
    [
        ("immediate_or_cancel", [("6.00", "0.4100"), ("4.00", "0.4200")], "filled"),
        ("immediate_or_cancel", [("6.00", "0.4100")], "partially_filled"),
        ("immediate_or_cancel", [], "canceled"),
        ("good_till_canceled", [("6.00", "0.4100")], "resting"),
    ],
)
def test_broker_reports_the_exchanges_fills(
    httpx_mock: HTTPXMock,
    creds: KalshiCredentials,
    tif: str,
    fills: list[tuple[str, str]],
    status: str,
) -> None:
    filled = sum(Decimal(c) for c, _ in fills)
    ack = {"order_id": "ord-1", "client_order_id": ORDER.client_order_id, "fill_count": str(filled)}
    httpx_mock.add_response(
        url=BASE + "/portfolio/events/orders", method="POST", status_code=201, json=ack
    )
    body = [fill_json(f"f{i}", c, p, "0.0700") for i, (c, p) in enumerate(fills)]
    httpx_mock.add_response(url=url("/portfolio/fills"), json={"fills": body, "cursor": ""})
    order = ORDER.model_copy(update={"time_in_force": tif})
    book: Any = None  # the exchange holds the book; the broker never reads it

    result = KalshiBroker(client(creds)).place(order, book, NOW)

    assert result.status == status and result.filled_count == int(filled)
    assert [(f.count, f.price, f.fee, f.is_taker) for f in result.fills] == [
        (int(Decimal(c)), Decimal(p), Decimal("0.07"), True) for c, p in fills
    ]
    assert all(f.filled_at == datetime(2026, 7, 12, 15, 0, 1, tzinfo=UTC) for f in result.fills)


def test_broker_turns_a_refusal_into_a_rejection(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    httpx_mock.add_response(
        url=BASE + "/portfolio/events/orders",
        method="POST",
        status_code=400,
        json={"error": {"code": "market_closed", "message": "market is closed"}},
    )
    book: MarketSnapshot | Any = None
    result = KalshiBroker(client(creds)).place(ORDER, book, NOW)
    assert (result.status, result.filled_count) == ("rejected", 0)
    assert result.reason == "market_closed: market is closed"


def test_broker_passes_the_exchanges_fill_ids_through(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    # One taker order matching two makers at one price: two fills alike but for their ids.
    ack = {"order_id": "ord-1", "client_order_id": ORDER.client_order_id, "fill_count": "10.00"}
    httpx_mock.add_response(
        url=BASE + "/portfolio/events/orders", method="POST", status_code=201, json=ack
    )
    body = [fill_json(f, "5.00", "0.4200", "0.0700") for f in ("f-a", "f-b")]
    body[1]["trade_id"] = "t-b"
    httpx_mock.add_response(url=url("/portfolio/fills"), json={"fills": body, "cursor": ""})
    book: Any = None

    result = KalshiBroker(client(creds)).place(ORDER, book, NOW)

    assert [(f.fill_id, f.trade_id, f.count) for f in result.fills] == [
        ("f-a", "f-a", 5),
        ("f-b", "t-b", 5),
    ]
    assert result.filled_count == 10


def test_broker_reads_the_exchanges_net_positions(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    positions = [
        {"ticker": "KXHIGHNY-26JUL12-T82", "position_fp": "10.00"},
        {"ticker": "KXHIGHNY-26JUL12-B80.5", "position_fp": "-3.00"},
        {"ticker": "KXHIGHNY-26JUL12-B78.5", "position_fp": "0.00"},
    ]
    httpx_mock.add_response(
        url=url("/portfolio/positions"), json={"market_positions": positions, "cursor": ""}
    )
    assert KalshiBroker(client(creds)).positions() == {
        "KXHIGHNY-26JUL12-T82": 10,
        "KXHIGHNY-26JUL12-B80.5": -3,
    }

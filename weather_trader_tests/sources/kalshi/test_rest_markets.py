"""KalshiClient's market data reads against mocked HTTP: series, events, books, trades, history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pytest_httpx import HTTPXMock

from weather_trader_tests.sources.kalshi.rest_support import TICKER, make, market_json, url


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

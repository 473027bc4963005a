"""KalshiHistory: settled events and trades through the REST client, against mocked pages."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.sources.kalshi.errors import KalshiMalformedResponse
from weather_trader.sources.kalshi.history import (
    KalshiHistory,
    already_written,
    write_import_files,
)
from weather_trader_tests.shared_data import require_realdata
from weather_trader_tests.sources.kalshi.rest_support import BASE, make, market_json, url

EVENT_A = "KXHIGHCHI-25JAN10"
EVENT_B = "KXHIGHCHI-25JAN11"


def settled_market(ticker: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status": "finalized",
        "result": "no",
        "expiration_value": "31",
        "close_time": "2025-01-11T05:59:00Z",
        "subtitle": "",
        "yes_sub_title": "",
        "no_sub_title": "",
        "rules_primary": "",
    }
    return market_json(ticker, **{**fields, **overrides})


def event(ticker: str, markets: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_ticker": ticker,
        "series_ticker": "KXHIGHCHI",
        "title": "Highest temperature in Chicago",
        "mutually_exclusive": True,
    }
    if markets is not None:
        body["markets"] = markets
    return body


def trade(trade_id: str, ticker: str, minute: int, price: int = 40) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "ticker": ticker,
        "count": 5,
        "yes_price": price,
        "no_price": 100 - price,
        "taker_side": "yes",
        "created_time": f"2025-01-10T12:{minute:02d}:00Z",
    }


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def test_settled_events_follow_the_cursor_and_filter_days(httpx_mock: HTTPXMock) -> None:
    a = event(EVENT_A, [settled_market(f"{EVENT_A}-T30", strike_type="less", cap_strike=30)])
    b = event(EVENT_B, [settled_market(f"{EVENT_B}-T30", strike_type="less", cap_strike=30)])
    old = event("KXHIGHCHI-24DEC01", [settled_market("KXHIGHCHI-24DEC01-T30", cap_strike=30)])
    httpx_mock.add_response(url=url("/events"), json={"events": [a, old], "cursor": "p2"})
    httpx_mock.add_response(url=url("/events"), json={"events": [b], "cursor": ""})
    history = KalshiHistory(make())
    events = history.settled_events("KXHIGHCHI", start=date(2025, 1, 1))
    assert [e["event_ticker"] for e in events] == [EVENT_A, EVENT_B]
    first, second = httpx_mock.get_requests()
    assert params(first) == {
        "series_ticker": "KXHIGHCHI",
        "status": "settled",
        "with_nested_markets": "true",
        "limit": "200",
    }
    assert params(second)["cursor"] == "p2"
    # Raw payloads are kept: legacy cents stay cents, for the importer to read.
    assert events[0]["markets"][0]["yes_bid_dollars"] == "0.1600"


def test_markets_beyond_the_cutoff_come_from_the_archive(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/events"), json={"events": [event(EVENT_A, None)]})
    httpx_mock.add_response(
        url=url("/historical/cutoff"),
        json={
            "market_settled_ts": "2025-06-01T00:00:00Z",
            "trades_created_ts": "2025-06-01T00:00:00Z",
            "orders_updated_ts": "2025-06-01T00:00:00Z",
        },
    )
    archived = settled_market(f"{EVENT_A}-T30", cap_strike=30, strike_type="less")
    httpx_mock.add_response(url=url("/historical/markets"), json={"markets": [archived]})
    httpx_mock.add_response(
        url=url("/markets/trades"), json={"trades": [trade("t2", f"{EVENT_A}-T30", 2)]}
    )
    httpx_mock.add_response(
        url=url("/historical/trades"),
        json={"trades": [trade("t1", f"{EVENT_A}-T30", 1), trade("t2", f"{EVENT_A}-T30", 2)]},
    )
    [found] = list(KalshiHistory(make()).backfill("KXHIGHCHI"))
    assert [m["ticker"] for m in found.event_payload["markets"]] == [f"{EVENT_A}-T30"]
    assert [t["trade_id"] for t in found.trades] == ["t1", "t2"]  # merged by id, oldest first
    requests = {r.url.path: params(r) for r in httpx_mock.get_requests()}
    assert requests["/trade-api/v2/historical/markets"]["event_ticker"] == EVENT_A
    assert requests["/trade-api/v2/historical/trades"] == {
        "ticker": f"{EVENT_A}-T30",
        "limit": "1000",
    }
    typed = found.event()
    assert typed.markets is not None and typed.markets[0].settled_value == 31
    assert [t.trade_id for t in found.typed_trades()] == ["t1", "t2"]


def test_trades_pages_and_no_archive_on_a_local_exchange(httpx_mock: HTTPXMock) -> None:
    market = settled_market(f"{EVENT_A}-T30", cap_strike=30, strike_type="less")
    httpx_mock.add_response(url=url("/historical/cutoff"), status_code=404)
    ticker = f"{EVENT_A}-T30"
    httpx_mock.add_response(
        url=url("/markets/trades"), json={"trades": [trade("a", ticker, 1)], "cursor": "c1"}
    )
    httpx_mock.add_response(
        url=url("/markets/trades"), json={"trades": [trade("b", ticker, 3)], "cursor": None}
    )
    trades = KalshiHistory(make()).trades(market)
    assert [t["trade_id"] for t in trades] == ["a", "b"]
    pages = [params(r) for r in httpx_mock.get_requests() if r.url.path.endswith("/trades")]
    assert pages == [
        {"ticker": ticker, "limit": "1000"},
        {"ticker": ticker, "limit": "1000", "cursor": "c1"},
    ]


def test_429_is_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/events"), status_code=429)
    httpx_mock.add_response(url=url("/events"), json={"events": [], "cursor": ""})
    sleeps: list[float] = []
    assert KalshiHistory(make(sleeps=sleeps)).settled_events("KXHIGHCHI") == []
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"events": [{"series_ticker": "KXHIGHCHI"}]}, "event_ticker"),
        ({"events": ["nope"]}, "expected an object"),
        ({"events": {"x": 1}}, "expected a list under 'events'"),
        ({"events": [event("KXHIGHCHI-NODATE", [])]}, "not a Kalshi event"),
    ],
)
def test_malformed_pages_name_the_endpoint(
    httpx_mock: HTTPXMock, body: dict[str, Any], match: str
) -> None:
    httpx_mock.add_response(url=url("/events"), json=body)
    with pytest.raises(KalshiMalformedResponse, match=match) as error:
        KalshiHistory(make()).settled_events("KXHIGHCHI")
    assert "/trade-api/v2/events" in str(error.value)


def test_repeated_cursor_is_refused(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("/events"), json={"events": [], "cursor": "same"})
    httpx_mock.add_response(url=url("/events"), json={"events": [], "cursor": "same"})
    with pytest.raises(KalshiMalformedResponse, match="repeated"):
        KalshiHistory(make()).settled_events("KXHIGHCHI")


def test_files_round_trip_through_the_importer(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    importers = pytest.importorskip("weather_trader.history.importers")
    ticker = f"{EVENT_A}-B30.5"
    market = settled_market(
        ticker, strike_type="between", floor_strike=30, cap_strike=31, result="yes"
    )
    httpx_mock.add_response(url=url("/events"), json={"events": [event(EVENT_A, [market])]})
    httpx_mock.add_response(url=url("/historical/cutoff"), status_code=404)
    httpx_mock.add_response(url=url("/markets/trades"), json={"trades": [trade("t", ticker, 5)]})
    history = KalshiHistory(make())
    [found] = list(history.backfill("KXHIGHCHI"))
    events_file, trades_file = write_import_files(found, tmp_path)
    assert already_written(tmp_path)(EVENT_A) and not already_written(tmp_path)(EVENT_B)
    events = importers.read_events(events_file)
    trades = importers.read_trades(trades_file)
    assert not events.issues and not trades.issues
    [record] = events.records
    assert (record.ticker, record.city, record.result) == (ticker, "CHI", "yes")
    assert record.climate_date == date(2025, 1, 10)
    [tape] = trades.records
    assert tape.trade_id == "t"
    assert tape.traded_at == datetime(2025, 1, 10, 12, 5, tzinfo=UTC)
    # A resumed backfill skips what is on disk before fetching trades.
    httpx_mock.add_response(url=url("/events"), json={"events": [event(EVENT_A, [market])]})
    assert list(history.backfill("KXHIGHCHI", skip=already_written(tmp_path))) == []
    assert BASE in str(httpx_mock.get_requests()[-1].url)


def test_recorded_events_survive_the_round_trip(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    """Real recorded events (legacy cents) served as an /events page, written, re-imported."""
    importers = pytest.importorskip("weather_trader.history.importers")
    folder = require_realdata("kalshi", "cpratim", "events", "kxhighchi")
    files = sorted(folder.glob("2024-08-1*.json"))[:3]
    recorded = [json.loads(p.read_text()) for p in files]
    page = [{**r["event"], "markets": r["markets"]} for r in recorded]
    httpx_mock.add_response(url=url("/events"), json={"events": page, "cursor": ""})
    history = KalshiHistory(make())
    for found in history.backfill("KXHIGHCHI", with_trades=False):
        write_import_files(found, tmp_path)
    for source in files:
        original = importers.read_events(source)
        ticker = json.loads(source.read_text())["event"]["event_ticker"]
        again = importers.read_events(tmp_path / "events" / f"{ticker}.json")
        assert not original.issues and not again.issues
        strip = [dataclasses.replace(r, where="") for r in original.records]
        assert [dataclasses.replace(r, where="") for r in again.records] == strip
        assert len(strip) >= 6

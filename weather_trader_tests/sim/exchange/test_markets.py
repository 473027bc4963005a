from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from weather_trader.core.brackets import Bracket, parse_rules, parse_subtitle
from weather_trader.core.cities import CITIES
from weather_trader.core.fees import SeriesFees
from weather_trader.sim.exchange import ExchangeClock, ExchangeState
from weather_trader.sim.market import event_ticker
from weather_trader_tests.sim.exchange.conftest import T0, Exchange, two_sided


def test_exchange_status_and_series_with_fees(shared: Exchange) -> None:
    api = shared.api()
    assert api.get("/exchange/status").json()["trading_active"] is True
    series = api.get("/series", params={"include_volume": "true"}).json()["series"]
    tickers = {s["ticker"] for s in series}
    assert tickers == {c.series(k) for c in CITIES.values() for k in ("high", "low")}
    for s in series:
        fees = SeriesFees.from_series(s["fee_type"], s["fee_multiplier"])
        assert fees.fee_multiplier == Decimal(1) and not fees.maker_fees
    one = api.get("/series/KXHIGHCHI").json()["series"]
    assert one["title"] == "Highest temperature in Chicago (Midway)"
    assert api.get("/series/KXNOPE").status_code == 404
    assert len(api.checked) == 4


def test_events_list_today_and_tomorrow_open_and_past_days_settled(shared: Exchange) -> None:
    api = shared.api()
    today, tomorrow = T0.date(), T0.date() + timedelta(days=1)
    open_events = api.get("/events", params={"status": "open"}).json()["events"]
    got = {e["event_ticker"] for e in open_events}
    for city in CITIES.values():
        for kind in ("high", "low"):
            assert event_ticker(city.series(kind), today) in got
            assert event_ticker(city.series(kind), tomorrow) in got
    assert len(got) == 2 * 2 * len(CITIES)
    settled = api.get("/events", params={"status": "settled", "series_ticker": "KXHIGHNY"})
    days = [e["event_ticker"] for e in settled.json()["events"]]
    assert event_ticker("KXHIGHNY", today - timedelta(days=1)) in days
    assert api.get("/events", params={"status": "bogus"}).status_code == 400


def test_events_paginate_with_cursor_and_nest_markets(shared: Exchange) -> None:
    api = shared.api()
    first = api.get("/events", params={"limit": 5, "with_nested_markets": "true"}).json()
    assert len(first["events"]) == 5 and first["cursor"]
    assert all(len(e["markets"]) == 6 for e in first["events"])
    second = api.get("/events", params={"limit": 5, "cursor": first["cursor"]}).json()
    seen = {e["event_ticker"] for e in first["events"]}
    assert seen.isdisjoint(e["event_ticker"] for e in second["events"])
    every, cursor = [], None
    while cursor != "":  # walk every page: all cities' events no longer fit in one
        page = api.get("/events", params={"cursor": cursor} if cursor else {}).json()
        every += page["events"]
        cursor = page["cursor"]
    assert len(every) >= 2 * 2 * len(CITIES)
    assert len({e["event_ticker"] for e in every}) == len(every)
    assert api.get("/events", params={"cursor": "garbage!"}).status_code == 400


def test_event_and_market_fields_describe_the_brackets(shared: Exchange) -> None:
    api = shared.api()
    ticker = event_ticker("KXHIGHNY", T0.date())
    body = api.get(f"/events/{ticker}", params={"with_nested_markets": "true"}).json()
    assert body["event"]["series_ticker"] == "KXHIGHNY"
    markets = body["markets"]
    assert body["event"]["markets"] == markets
    brackets = [Bracket.from_kalshi_market(m) for m in markets]
    assert [b.strike_type for b in brackets] == ["less"] + ["between"] * 4 + ["greater"]
    for m, b in zip(markets, brackets, strict=True):
        assert m["status"] == "active" and m["result"] == ""
        assert parse_subtitle(m["yes_sub_title"]) == b
        assert parse_rules(m["rules_primary"]) == b
        assert m["close_time"] == "2026-11-21T04:59:00Z"  # 23:59 EST
        assert Decimal(m["yes_bid_dollars"]) < Decimal(m["yes_ask_dollars"])
    assert api.get("/events/KXHIGHNY-26NOV99").status_code == 404


def test_markets_filters_and_single_market(shared: Exchange) -> None:
    api = shared.api()
    ev = event_ticker("KXLOWTDEN", T0.date())
    by_event = api.get("/markets", params={"event_ticker": ev}).json()["markets"]
    assert len(by_event) == 6
    two = [m["ticker"] for m in by_event[:2]]
    by_tickers = api.get("/markets", params={"tickers": ",".join(two)}).json()["markets"]
    assert [m["ticker"] for m in by_tickers] == two
    page = api.get("/markets", params={"status": "open", "limit": 7}).json()
    assert len(page["markets"]) == 7 and page["cursor"]
    single = api.get(f"/markets/{two[0]}").json()["market"]
    assert single["ticker"] == two[0] and single["event_ticker"] == ev
    missing = api.get("/markets/KXLOWTDEN-26NOV20-B1.5")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    closed = api.get("/markets", params={"status": "settled", "series_ticker": "KXLOWTDEN"})
    finished = closed.json()["markets"]
    assert finished and all(m["status"] == "finalized" for m in finished)
    assert sum(m["result"] == "yes" for m in finished) == len(finished) // 6
    assert all(m["expiration_value"].lstrip("-").isdigit() for m in finished)


def test_orderbook_levels_are_ascending_fixed_point_strings(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 3)
    book = api.get(f"/markets/{ticker}/orderbook").json()["orderbook_fp"]
    for side in ("yes_dollars", "no_dollars"):
        prices = [Decimal(p) for p, _ in book[side]]
        assert prices == sorted(prices) and len(prices) >= 2
        assert all(len(p.split(".")[1]) == 4 and len(c.split(".")[1]) == 2 for p, c in book[side])
    top = api.get(f"/markets/{ticker}/orderbook", params={"depth": 1}).json()["orderbook_fp"]
    assert top["yes_dollars"] == book["yes_dollars"][-1:]
    market = api.get(f"/markets/{ticker}").json()["market"]
    assert market["yes_bid_dollars"] == book["yes_dollars"][-1][0]
    assert Decimal(market["yes_ask_dollars"]) == 1 - Decimal(book["no_dollars"][-1][0])
    multi = api.get("/markets/orderbooks", params=[("tickers", ticker), ("tickers", ticker)])
    assert [o["ticker"] for o in multi.json()["orderbooks"]] == [ticker, ticker]
    assert api.get("/markets/orderbooks").status_code == 400


def test_trades_list_user_trades(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 4)
    ask = 100 - int(Decimal(api.get(f"/markets/{ticker}").json()["market"]["no_bid_dollars"]) * 100)
    assert api.order(ticker, "bid", 2, ask, "immediate_or_cancel").status_code == 201
    trades = api.get("/markets/trades", params={"ticker": ticker}).json()["trades"]
    assert trades[0]["count_fp"] == "2.00" and trades[0]["taker_side"] == "yes"
    assert trades[0]["yes_price_dollars"] == f"{ask / 100:.4f}"
    assert any(c.startswith("GET /markets/trades") for c in api.checked)


def test_tickers_with_a_negative_strike_resolve() -> None:
    """Seed 7 quotes Chicago's low for 2026-11-27 around 2 F: a ``T-2`` tail market."""
    at = datetime(2026, 11, 26, 18, tzinfo=UTC)
    state = ExchangeState.create(clock=ExchangeClock.simulated(at))
    ref = state.catalog.market_ref("KXLOWTCHI-26NOV27-T-2", at)
    assert ref.ticker == "KXLOWTCHI-26NOV27-T-2"
    assert ref.event.event_ticker == "KXLOWTCHI-26NOV27"

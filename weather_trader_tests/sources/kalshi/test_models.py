"""Kalshi payload models against the real recorded responses (legacy cents and 2026 dollars)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from weather_trader.core.brackets import Bracket, BracketError, validate_event_brackets
from weather_trader.core.fees import FeeError
from weather_trader.sources.kalshi.models import (
    Balance,
    BatchOrderResult,
    CancelAck,
    Candlestick,
    Event,
    Fill,
    HistoricalCutoff,
    Market,
    Order,
    OrderAck,
    Orderbook,
    OrderGroup,
    Position,
    Series,
    Settlement,
    Trade,
    count,
    money,
    to_decimal,
    to_snapshot,
)

MONEY_FIELDS = ("yes_bid", "yes_ask", "no_bid", "no_ask")


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def kalshi_dir(realdata_dir: Path) -> Path:
    return realdata_dir / "kalshi"


@pytest.fixture(scope="module")
def legacy_events(kalshi_dir: Path) -> dict[str, Event]:
    files = sorted((kalshi_dir / "cpratim" / "events").glob("*/*.json"))
    assert len(files) == 532
    return {f"{f.parent.name}/{f.stem}": Event.from_response(_load(f)) for f in files}


@pytest.fixture(scope="module")
def legacy_markets(legacy_events: dict[str, Event]) -> dict[str, Market]:
    return {m.ticker: m for e in legacy_events.values() for m in e.markets or ()}


def _markets_2026(kalshi_dir: Path, name: str) -> list[Market]:
    payload = _load(kalshi_dir / "tMer234_trimmed" / name)
    return [Market.model_validate(m) for m in payload["markets"]]


# -- legacy integer-cent events ----------------------------------------------------------------


def test_every_legacy_market_parses_with_decimal_money_and_a_valid_event(
    legacy_events: dict[str, Event],
) -> None:
    n_markets = 0
    for key, event in legacy_events.items():
        assert event.markets, key
        assert event.event_ticker.split("-")[0] in (event.series_ticker, "HIGHNY", "HIGHCHI")
        # The brackets of each event are mutually exclusive and exhaustive.
        validate_event_brackets([m.bracket for m in event.markets])
        for market in event.markets:
            n_markets += 1
            for name in MONEY_FIELDS:
                value = getattr(market, name)
                assert isinstance(value, Decimal), (market.ticker, name)
                assert Decimal(0) <= value <= Decimal(1)
            assert market.close_time.tzinfo is not None
            assert market.open_time < market.close_time
    assert n_markets == 3192


def test_legacy_settled_events_have_exactly_one_yes(legacy_events: dict[str, Event]) -> None:
    settled = [e for e in legacy_events.values() if all(m.result for m in e.markets or ())]
    assert len(settled) > 400
    for event in settled:
        assert sum(m.result == "yes" for m in event.markets or ()) == 1, event.event_ticker


def test_known_legacy_values(legacy_markets: dict[str, Market]) -> None:
    tail = legacy_markets["KXHIGHCHI-25JAN26-T23"]
    assert tail.strike_type == "less"
    assert tail.cap_strike == Decimal(23) and tail.floor_strike is None
    assert tail.bracket == Bracket.less(23)
    assert (tail.yes_bid, tail.yes_ask, tail.no_bid, tail.no_ask) == (
        Decimal("0"),
        Decimal("0.01"),
        Decimal("0.99"),
        Decimal("1"),
    )
    assert tail.last_price == Decimal("0")
    assert tail.notional_value == Decimal("1")
    assert tail.result == "no" and tail.status == "finalized"
    assert tail.close_time == datetime(2025, 1, 27, 4, 59, tzinfo=UTC)
    assert tail.series_ticker == "KXHIGHCHI"

    inner = legacy_markets["KXHIGHCHI-25JAN26-B23.5"]
    assert inner.bracket == Bracket.between(23, 24)
    assert inner.volume == Decimal(29) and inner.open_interest == Decimal(29)
    assert inner.last_price == Decimal("0.01")


def test_legacy_markets_without_strike_fields_take_the_subtitle(
    legacy_markets: dict[str, Market],
) -> None:
    bare = [m for m in legacy_markets.values() if m.strike_type is None]
    assert len(bare) == 50
    for market in bare:
        assert market.floor_strike is None and market.cap_strike is None
        assert market.bracket.label == market.yes_sub_title, market.ticker
    between = legacy_markets["KXHIGHCHI-25JAN16-B38.5"]
    assert between.strike_type is None
    assert between.bracket == Bracket.between(38, 39)
    assert between.yes_bid == Decimal("0.99") and between.result == "yes"
    greater = legacy_markets["KXHIGHCHI-25JAN17-T42"]
    assert greater.bracket == Bracket.greater(42)  # "43° or above"


def test_event_metadata(legacy_events: dict[str, Event]) -> None:
    event = legacy_events["kxhighchi/2025-01-26"]
    assert event.event_ticker == "KXHIGHCHI-25JAN26"
    assert event.series_ticker == "KXHIGHCHI"
    assert event.mutually_exclusive is True
    assert event.category == "Climate and Weather"
    assert event.strike_date == datetime(2025, 1, 27, 4, 59, tzinfo=UTC)
    assert event.markets is not None and len(event.markets) == 6


# -- 2026 dollar-string markets ---------------------------------------------------------------


def test_open_2026_markets(kalshi_dir: Path) -> None:
    markets = {m.ticker: m for m in _markets_2026(kalshi_dir, "kxhighny_open_trimmed.json")}
    assert len(markets) == 3
    low = markets["KXHIGHNY-26JUL12-T82"]
    assert low.bracket == Bracket.less(82)
    assert (low.yes_bid, low.yes_ask, low.no_bid, low.no_ask) == (
        Decimal("0.16"),
        Decimal("0.19"),
        Decimal("0.81"),
        Decimal("0.84"),
    )
    assert low.last_price == Decimal("0.17")
    assert low.yes_bid_size == Decimal("12.00") and low.yes_ask_size == Decimal("11.00")
    assert low.open_interest == Decimal("684.32")
    assert low.volume == Decimal("1303.54") and low.volume_24h == Decimal("1300.54")
    assert low.status == "active" and low.result == "" and low.settled_value is None
    assert low.open_time == datetime(2026, 7, 11, 14, tzinfo=UTC)
    assert markets["KXHIGHNY-26JUL12-B88.5"].bracket == Bracket.between(88, 89)
    assert markets["KXHIGHNY-26JUL12-T89"].bracket == Bracket.greater(89)
    for market in markets.values():
        for name in (*MONEY_FIELDS, "last_price", "notional_value"):
            assert isinstance(getattr(market, name), Decimal)


def test_settled_2026_markets(kalshi_dir: Path) -> None:
    markets = {m.ticker: m for m in _markets_2026(kalshi_dir, "kxhighny_settled_trimmed.json")}
    won, lost = markets["KXHIGHNY-26JUL10-T87"], markets["KXHIGHNY-26JUL10-T94"]
    assert won.result == "yes" and won.settlement_value == Decimal("1")
    assert lost.result == "no" and lost.settlement_value == Decimal("0")
    assert won.settled_value == Decimal(85) == lost.settled_value
    assert won.bracket.settles_yes(85) and not lost.bracket.settles_yes(85)
    assert won.settlement_ts == datetime(2026, 7, 11, 12, 0, 59, 542488, tzinfo=UTC)


def test_market_round_trips_through_model_dump(
    kalshi_dir: Path, legacy_markets: dict[str, Market]
) -> None:
    samples = _markets_2026(kalshi_dir, "kxhighny_open_trimmed.json")[:2]
    for market in [*samples, legacy_markets["KXHIGHCHI-25JAN26-T23"]]:
        assert Market.model_validate(market.model_dump()) == market
        assert Market.model_validate_json(market.model_dump_json()) == market


def test_market_rejects_missing_and_invalid_fields(kalshi_dir: Path) -> None:
    raw = _load(kalshi_dir / "tMer234_trimmed" / "kxhighny_open_trimmed.json")["markets"][0]
    Market.model_validate(raw)
    for broken in (
        {k: v for k, v in raw.items() if k != "ticker"},
        {k: v for k, v in raw.items() if k != "close_time"},
        {**raw, "yes_bid_dollars": "33"},  # cents in a dollars field
        {**raw, "yes_ask_dollars": "abc"},
        {**raw, "close_time": "2026-07-13T04:59:00"},  # naive time
    ):
        with pytest.raises(ValidationError):
            Market.model_validate(broken)


def test_unknown_fields_are_ignored(kalshi_dir: Path) -> None:
    raw = _load(kalshi_dir / "tMer234_trimmed" / "kxhighny_open_trimmed.json")["markets"][0]
    market = Market.model_validate({**raw, "brand_new_field": {"x": 1}})
    assert market.ticker == raw["ticker"]


# -- events crawl, trades, candlesticks ----------------------------------------------------------


def test_events_crawl_parses(kalshi_dir: Path) -> None:
    payload = _load(kalshi_dir / "harrodyuan_kalshi-data-collector" / "open_events_20250219.json")
    events = [Event.model_validate(e) for e in payload["events"]]
    assert len(events) == 1911
    by_ticker = {e.event_ticker: e for e in events}
    ny = by_ticker["KXHIGHNY-25FEB19"]
    assert ny.series_ticker == "KXHIGHNY" and ny.markets is None
    assert ny.strike_date == datetime(2025, 2, 20, 4, 59, tzinfo=UTC)
    assert by_ticker["KXHIGHPHIL-25FEB19"].strike_date is None


def test_every_recorded_trade_parses(kalshi_dir: Path) -> None:
    n = 0
    for path in sorted((kalshi_dir / "cpratim" / "trades_sample").glob("*/*.json")):
        for trades in _load(path).values():
            for raw in trades:
                trade = Trade.model_validate(raw)
                assert trade.yes_price + trade.no_price == Decimal(1)  # type: ignore[operator]
                n += 1
    assert n == 42356
    first = _load(kalshi_dir / "cpratim" / "trades_sample" / "kxhighchi" / "2024-01-01.json")
    trade = Trade.model_validate(first["HIGHCHI-24JAN01-B31.5"][0])
    assert trade.trade_id == "b2575c7f-f89f-4ef8-a487-3bb3d23e4198"
    assert (trade.yes_price, trade.no_price, trade.count) == (
        Decimal("0.02"),
        Decimal("0.98"),
        Decimal(1),
    )
    assert trade.taker_side == "no"


def test_2026_candlesticks(kalshi_dir: Path) -> None:
    payload = _load(kalshi_dir / "tMer234_trimmed" / "candlesticks_trimmed.json")
    candles = [Candlestick.model_validate(c) for c in payload["candlesticks"]]
    assert len(candles) == 3
    first = candles[0]
    assert first.end_period == datetime.fromtimestamp(1783674000, UTC)
    assert first.price.close == Decimal("0.60") and first.price.mean == Decimal("0.6071")
    assert first.price.previous == Decimal("0.63")
    assert first.yes_bid.low == Decimal("0.55") and first.yes_ask.close == Decimal("0.61")
    assert first.volume == Decimal("83.70") and first.open_interest == Decimal("6904.73")


def test_legacy_candlestick_in_cents() -> None:
    candle = Candlestick.model_validate(
        {
            "end_period_ts": 1700000000,
            "yes_bid": {"open": 33, "high": 35, "low": 30, "close": 34},
            "yes_ask": {"open": 36, "high": 38, "low": 35, "close": 37},
            "price": {"open": None, "close": None},
            "volume": 12,
            "open_interest": 100,
        }
    )
    assert candle.yes_bid.close == Decimal("0.34") and candle.price.close is None
    assert candle.volume == Decimal(12)


# -- order book ----------------------------------------------------------------------------------


def test_orderbook_2026_format_sorted_best_first() -> None:
    book = Orderbook.model_validate(
        {
            "ticker": "KXHIGHNY-26JUL12-T82",
            "orderbook_fp": {
                "yes_dollars": [["0.1400", "5.00"], ["0.1600", "12.00"], ["0.1500", "3.50"]],
                "no_dollars": [["0.7900", "1.00"], ["0.8100", "11.00"]],
            },
        }
    )
    assert [lv.price for lv in book.yes_bids] == [Decimal("0.16"), Decimal("0.15"), Decimal("0.14")]
    assert book.yes_bids[1].count == Decimal("3.50")
    assert book.yes_bid == Decimal("0.16")
    assert book.no_bid == Decimal("0.81")
    assert book.yes_ask == Decimal("0.19")
    assert book.no_ask == Decimal("0.84")
    assert book.mid == Decimal("0.175") and book.spread == Decimal("0.03")


def test_orderbook_legacy_cents_and_null_sides() -> None:
    book = Orderbook.model_validate({"orderbook": {"yes": [[15, 100], [20, 7]], "no": None}})
    assert [(lv.price, lv.count) for lv in book.yes_bids] == [
        (Decimal("0.2"), Decimal(7)),
        (Decimal("0.15"), Decimal(100)),
    ]
    assert book.no_bids == () and book.yes_ask == Decimal(1)


def test_empty_orderbook_reads_bid_0_ask_1() -> None:
    book = Orderbook.model_validate({"orderbook_fp": {"yes_dollars": [], "no_dollars": None}})
    assert book.is_empty
    assert (book.yes_bid, book.yes_ask, book.no_bid, book.no_ask) == (
        Decimal(0),
        Decimal(1),
        Decimal(0),
        Decimal(1),
    )


def test_orderbook_rejects_bad_payloads() -> None:
    for bad in (
        {},
        {"orderbook_fp": [1, 2]},
        {"orderbook_fp": {"yes_dollars": [["1.5000", "1.00"]]}},
        {"orderbook_fp": {"yes_dollars": [["0.5000"]]}},
        {"orderbook_fp": {"yes_dollars": [["0.5000", "-1"]]}},
    ):
        with pytest.raises(ValidationError):
            Orderbook.model_validate(bad)
    book = Orderbook.model_validate({"orderbook_fp": {"yes_dollars": [["0.5", "1"]]}})
    assert Orderbook.model_validate(book.model_dump()) == book


# -- portfolio -------------------------------------------------------------------------------------


def test_balance_cents_to_dollars() -> None:
    balance = Balance.model_validate(
        {"balance": 123456, "portfolio_value": 5000, "updated_ts": 1783674000}
    )
    assert balance.balance == Decimal("1234.56") and balance.portfolio_value == Decimal("50")
    assert balance.updated_at == datetime.fromtimestamp(1783674000, UTC)
    assert Balance.model_validate(balance.model_dump()) == balance
    with pytest.raises(ValidationError):
        Balance.model_validate({"portfolio_value": 1})


def test_order_2026_and_legacy_formats() -> None:
    new = Order.model_validate(
        {
            "order_id": "o-1",
            "user_id": "u",
            "client_order_id": "wt-NYC-1",
            "ticker": "KXHIGHNY-26JUL12-T82",
            "side": "no",
            "action": "buy",
            "type": "limit",
            "status": "resting",
            "yes_price_dollars": "0.1600",
            "no_price_dollars": "0.8400",
            "fill_count_fp": "2.00",
            "remaining_count_fp": "8.00",
            "initial_count_fp": "10.00",
            "taker_fees_dollars": "0.0200",
            "maker_fees_dollars": "0.0000",
            "taker_fill_cost_dollars": "1.6800",
            "maker_fill_cost_dollars": "0.0000",
            "created_time": "2026-07-11T15:00:00Z",
        }
    )
    assert new.fill_count == Decimal(2) and new.remaining_count == Decimal(8)
    assert new.taker_fees == Decimal("0.02") and new.taker_fill_cost == Decimal("1.68")
    assert new.book_side == "ask" and new.book_price == Decimal("0.16")
    assert new.is_resting
    legacy = Order.model_validate(
        {
            "order_id": "o-2",
            "ticker": "T",
            "side": "yes",
            "action": "buy",
            "status": "executed",
            "yes_price": 42,
            "no_price": 58,
            "fill_count": 3,
            "remaining_count": 0,
            "taker_fees": 2,
        }
    )
    assert legacy.yes_price == Decimal("0.42") and legacy.taker_fees == Decimal("0.02")
    assert legacy.book_side == "bid" and not legacy.is_resting
    v2 = Order.model_validate({"order_id": "o-3", "ticker": "T", "side": "ask", "price": "0.3"})
    assert v2.book_side == "ask" and v2.book_price == Decimal("0.3")
    assert Order.model_validate({"order_id": "x", "ticker": "T", "no_price": 70}).book_price == (
        Decimal("0.3")
    )


def test_fill_position_settlement() -> None:
    fill = Fill.model_validate(
        {
            "fill_id": "f1",
            "trade_id": "f1",
            "order_id": "o1",
            "ticker": "T",
            "market_ticker": "T",
            "side": "yes",
            "action": "buy",
            "count_fp": "5.00",
            "yes_price_dollars": "0.4200",
            "no_price_dollars": "0.5800",
            "is_taker": True,
            "fee_cost": "0.0700",
            "created_time": "2026-07-11T15:00:00Z",
        }
    )
    assert fill.count == Decimal(5) and fill.fee_cost == Decimal("0.07")
    legacy_fill = Fill.model_validate(
        {
            "trade_id": "t9",
            "order_id": "o9",
            "market_ticker": "T",
            "side": "no",
            "count": 2,
            "yes_price": 40,
            "is_taker": False,
            "ts": 1700000000,
        }
    )
    assert legacy_fill.fill_id == "t9" and legacy_fill.ticker == "T"
    assert legacy_fill.yes_price == Decimal("0.4") and legacy_fill.fee_cost == Decimal(0)
    assert legacy_fill.created_time == datetime.fromtimestamp(1700000000, UTC)

    position = Position.model_validate(
        {
            "ticker": "T",
            "position_fp": "-3.00",
            "market_exposure_dollars": "1.7400",
            "total_traded_dollars": "1.7400",
            "realized_pnl_dollars": "0.0000",
            "fees_paid_dollars": "0.0400",
            "resting_orders_count": 0,
            "last_updated_ts": "2026-07-11T15:00:00Z",
        }
    )
    assert position.position == Decimal(-3) and position.fees_paid == Decimal("0.04")
    assert Position.model_validate({"ticker": "T", "position": 4, "fees_paid": 3}).fees_paid == (
        Decimal("0.03")
    )

    settlement = Settlement.model_validate(
        {
            "ticker": "T",
            "event_ticker": "E",
            "market_result": "yes",
            "yes_count_fp": "10.00",
            "yes_total_cost_dollars": "4.2000",
            "no_count_fp": "0.00",
            "no_total_cost_dollars": "0.0000",
            "revenue": 1000,
            "settled_time": "2026-07-11T12:00:59Z",
            "fee_cost": "0.1700",
            "value": 100,
        }
    )
    assert settlement.revenue == Decimal("10") and settlement.value == Decimal("1")
    assert settlement.yes_total_cost == Decimal("4.2") and settlement.fee_cost == Decimal("0.17")


def test_write_acknowledgements() -> None:
    ack = OrderAck.model_validate(
        {
            "order_id": "o1",
            "client_order_id": "c1",
            "fill_count": "10.00",
            "remaining_count": "0.00",
            "average_fill_price": "0.5600",
            "average_fee_paid": "0.0200",
            "ts_ms": 1715793660456,
        }
    )
    assert ack.fill_count == Decimal(10) and ack.average_fill_price == Decimal("0.56")
    assert not ack.recovered
    order = Order.model_validate({"order_id": "o1", "client_order_id": "c1", "ticker": "T"})
    recovered = OrderAck.from_order(order)
    assert recovered.recovered and recovered.order == order and recovered.order_id == "o1"

    ok, failed = (
        BatchOrderResult.model_validate(x)
        for x in (
            {"order_id": "o1", "client_order_id": "c1", "fill_count": "1.00", "error": None},
            {"client_order_id": "c2", "error": {"code": "invalid_price", "message": "bad"}},
        )
    )
    assert ok.ok and ok.ack is not None and ok.ack.fill_count == Decimal(1)
    assert not failed.ok and failed.error is not None and failed.error.code == "invalid_price"
    v1_item = BatchOrderResult.model_validate(
        {"client_order_id": "c3", "order": {"order_id": "o3", "ticker": "T", "yes_price": 5}}
    )
    assert v1_item.ack is not None and v1_item.ack.order_id == "o3"

    cancel = CancelAck.model_validate(
        {"order_id": "o1", "client_order_id": "c1", "reduced_by": "10.00", "ts_ms": 1}
    )
    assert cancel.ok and cancel.reduced_by == Decimal(10)
    v1_cancel = CancelAck.model_validate({"order": {"order_id": "o7"}, "reduced_by_fp": "2.00"})
    assert v1_cancel.order_id == "o7" and v1_cancel.reduced_by == Decimal(2)

    group = OrderGroup.model_validate(
        {"order_group_id": "g1", "contracts_limit_fp": "50.00", "orders": None}
    )
    assert group.id == "g1" and group.contracts_limit == Decimal(50) and group.orders == ()


def test_series_and_fees() -> None:
    series = Series.model_validate(
        {
            "ticker": "KXHIGHNY",
            "frequency": "daily",
            "title": "Highest temperature in NYC",
            "category": "Climate and Weather",
            "tags": None,
            "settlement_sources": [{"name": "National Weather Service", "url": "https://x"}],
            "contract_url": "",
            "contract_terms_url": "",
            "fee_type": "quadratic",
            "fee_multiplier": 1.0,
            "additional_prohibitions": None,
        }
    )
    assert series.tags == () and series.fee_multiplier == Decimal("1.0")
    assert series.settlement_sources[0].name == "National Weather Service"
    assert series.fees.taker(100, Decimal("0.50")) == Decimal("1.75")
    flat = series.model_copy(update={"fee_type": "flat"})
    with pytest.raises(FeeError):
        _ = flat.fees
    with pytest.raises(ValidationError):
        Series.model_validate({"ticker": "X", "fee_type": "quadratic"})


def test_historical_cutoff() -> None:
    cutoff = HistoricalCutoff.model_validate(
        {
            "market_settled_ts": "2026-05-01T00:00:00Z",
            "trades_created_ts": "2026-05-01T00:00:00Z",
            "orders_updated_ts": "2026-05-01T00:00:00Z",
        }
    )
    assert cutoff.market_settled_ts == datetime(2026, 5, 1, tzinfo=UTC)


def test_conversion_helpers() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("0.4200") == Decimal("0.42")
    for bad in (True, None, "", "x", "NaN", [1]):
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert money({"p_dollars": "0.33", "p": 99}, "p") == Decimal("0.33")
    assert money({"p": 33}, "p") == Decimal("0.33")
    assert money({"p": "0.33"}, "p") == Decimal("0.33")
    assert money({}, "p") is None
    assert count({"c_fp": "2.50", "c": 9}, "c") == Decimal("2.5")
    assert count({"c": 9}, "c") == Decimal(9) and count({}, "c") is None


# -- snapshot ----------------------------------------------------------------------------------


def test_to_snapshot_2026(kalshi_dir: Path) -> None:
    market = {m.ticker: m for m in _markets_2026(kalshi_dir, "kxhighny_open_trimmed.json")}[
        "KXHIGHNY-26JUL12-B88.5"
    ]
    book = Orderbook.model_validate(
        {
            "ticker": market.ticker,
            "orderbook_fp": {
                "yes_dollars": [["0.0200", "9.00"]],
                "no_dollars": [["0.9700", "4.00"]],
            },
        }
    )
    captured = datetime(2026, 7, 11, 15, tzinfo=UTC)
    snap = to_snapshot(market, book, "NYC", date(2026, 7, 12), "high", captured, Decimal("1"))
    assert (snap.strike_type, snap.floor_strike, snap.cap_strike) == ("between", 88, 89)
    assert snap.series_ticker == "KXHIGHNY" and snap.event_ticker == "KXHIGHNY-26JUL12"
    assert snap.yes_bid == Decimal("0.02") and snap.yes_ask == Decimal("0.03")
    assert snap.close_time == market.close_time and snap.title == "88° to 89°"
    assert snap.bracket == market.bracket
    other = book.model_copy(update={"ticker": "KXHIGHNY-26JUL12-T82"})
    with pytest.raises(ValueError):
        to_snapshot(market, other, "NYC", date(2026, 7, 12), "high", captured)
    with pytest.raises(ValidationError):
        to_snapshot(market, book, "NYC", date(2026, 7, 12), "high", datetime(2026, 7, 11))


def test_to_snapshot_of_a_market_without_strike_fields(legacy_markets: dict[str, Market]) -> None:
    market = legacy_markets["KXHIGHCHI-25JAN17-T42"]
    snap = to_snapshot(
        market,
        Orderbook.empty(market.ticker),
        "CHI",
        date(2025, 1, 17),
        "high",
        datetime(2025, 1, 17, 12, tzinfo=UTC),
    )
    assert (snap.strike_type, snap.floor_strike, snap.cap_strike) == ("greater", 42, None)
    assert snap.yes_bid == Decimal(0) and snap.yes_ask == Decimal(1)


def test_bracket_error_surfaces(kalshi_dir: Path) -> None:
    raw = _load(kalshi_dir / "tMer234_trimmed" / "kxhighny_open_trimmed.json")["markets"][0]
    broken = Market.model_validate(
        {
            **raw,
            "strike_type": None,
            "floor_strike": None,
            "yes_sub_title": "",
            "subtitle": "",
            "rules_primary": "no bracket here",
        }
    )
    with pytest.raises(BracketError):
        _ = broken.bracket

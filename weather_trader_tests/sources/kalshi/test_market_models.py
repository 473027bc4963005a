"""Kalshi market data models against the real recorded responses (legacy cents and 2026 dollars)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from weather_trader.core.brackets import Bracket, BracketError, validate_event_brackets
from weather_trader.core.fees import FeeError
from weather_trader.sources.kalshi.market_models import (
    Candlestick,
    Event,
    HistoricalCutoff,
    Market,
    Orderbook,
    Series,
    Trade,
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


# -- series, archive, brackets -------------------------------------------------------------------


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

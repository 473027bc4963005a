"""Tests of the local order books (weather_trader.sources.kalshi.book)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from weather_trader.core.records import BookLevel, MarketSnapshot
from weather_trader.sources.kalshi.book import (
    BookInvalid,
    BookKeeper,
    BookMessageError,
    NegativeSizeError,
    OrderBook,
    SequenceGap,
    count_to_decimal,
    parse_count,
    parse_price,
    price_to_decimal,
)

T = "KXHIGHNY-26NOV27-B45.5"
U = "KXHIGHNY-26NOV27-B47.5"


def snapshot(seq: int = 1, sid: int = 1, ticker: str = T, **levels: object) -> dict:
    msg = {"market_ticker": ticker, "market_id": "9b0f6b43", **levels}
    return {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}


def delta(
    seq: int, price: str, amount: str, side: str = "yes", sid: int = 1, ticker: str = T
) -> dict:
    msg = {
        "market_ticker": ticker,
        "market_id": "9b0f6b43",
        "price_dollars": price,
        "delta_fp": amount,
        "side": side,
        "ts": "2026-11-26T15:00:00Z",
    }
    return {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}


def keeper_with_book() -> BookKeeper:
    keeper = BookKeeper()
    keeper.apply(
        snapshot(
            yes_dollars_fp=[["0.4200", "100.00"], ["0.4000", "30.00"]],
            no_dollars_fp=[["0.5500", "50.00"]],
        )
    )
    return keeper


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.4200", 4200), ("0.42", 4200), ("1", 10000), ("0", 0), ("0.001", 10), ("0.420000", 4200)],
)
def test_parse_price_fixed_point(text: str, expected: int) -> None:
    assert parse_price(text) == expected


def test_parse_price_legacy_cents() -> None:
    assert parse_price(42) == 4200


@pytest.mark.parametrize("bad", ["1.0001", "-0.01", "abc", "0.42x", "0.00005", "", 101, -1, 4.2])
def test_parse_price_rejects(bad: object) -> None:
    with pytest.raises(BookMessageError):
        parse_price(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"), [("100.00", 10000), ("-20.00", -2000), ("3", 300), (-20, -2000)]
)
def test_parse_count(value: str | int, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("bad", ["1.005", "twelve", None, 1.5])
def test_parse_count_rejects(bad: object) -> None:
    with pytest.raises(BookMessageError):
        parse_count(bad)  # type: ignore[arg-type]


def test_decimal_edges_keep_kalshi_precision() -> None:
    assert price_to_decimal(4200) == Decimal("0.42")
    assert str(price_to_decimal(4200)) == "0.4200"
    assert str(count_to_decimal(10000)) == "100.00"


# -- snapshots -------------------------------------------------------------------------------


def test_snapshot_fixed_point_best_prices_and_ladders() -> None:
    book = keeper_with_book().book(T)
    assert book is not None
    assert book.best_yes_bid == Decimal("0.42")
    assert book.best_yes_ask == Decimal("0.45")
    assert book.best_no_bid == Decimal("0.55")
    assert book.best_no_ask == Decimal("0.58")
    assert book.mid == Decimal("0.435")
    assert book.yes_bids() == (
        BookLevel(price=Decimal("0.42"), count=Decimal("100")),
        BookLevel(price=Decimal("0.40"), count=Decimal("30")),
    )
    assert book.yes_bids(depth=1) == (BookLevel(price=Decimal("0.42"), count=Decimal("100")),)
    assert book.no_bids() == (BookLevel(price=Decimal("0.55"), count=Decimal("50")),)
    assert book.yes_asks() == (BookLevel(price=Decimal("0.45"), count=Decimal("50")),)
    assert book.market_id == "9b0f6b43"
    assert not book.crossed


def test_snapshot_legacy_integer_cents() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(yes=[[42, 100], [8, 300]], no=[[55, 50]]))
    book = keeper.book(T)
    assert book is not None
    assert book.yes == {4200: 10000, 800: 30000}
    assert book.best_yes_ask == Decimal("0.45")


def test_snapshot_dollars_with_integer_counts() -> None:
    """The 2025 shape: ``yes_dollars`` price strings with integer counts (docs example)."""
    keeper = BookKeeper()
    keeper.apply(snapshot(yes=[[8, 300]], yes_dollars=[["0.080", 300]], no_dollars=[["0.540", 20]]))
    book = keeper.book(T)
    assert book is not None
    assert book.yes == {800: 30000}
    assert book.no == {5400: 2000}


def test_snapshot_absent_sides_are_empty_and_read_bid0_ask1() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot())
    book = keeper.book(T)
    assert book is not None
    assert (book.best_yes_bid, book.best_yes_ask) == (Decimal("0"), Decimal("1"))
    assert book.yes_bids() == () and book.no_bids() == ()


def test_snapshot_one_side_absent() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(no_dollars_fp=[["0.5500", "50.00"]]))
    book = keeper.book(T)
    assert book is not None
    assert book.best_yes_bid == Decimal("0")
    assert book.best_yes_ask == Decimal("0.45")


def test_snapshot_zero_levels_skipped() -> None:
    book = OrderBook.from_snapshot(
        {"market_ticker": T, "yes_dollars_fp": [["0.4200", "0.00"], ["0.4100", "5.00"]]}
    )
    assert book.yes == {4100: 500}


@pytest.mark.parametrize(
    "levels",
    [
        {"yes_dollars_fp": [["0.4200", "-1.00"]]},
        {"yes_dollars_fp": [["0.4200", "1.00"], ["0.4200", "2.00"]]},
        {"yes_dollars_fp": [["1.2000", "1.00"]]},
        {"yes_dollars_fp": [["0.42"]]},
        {"yes_dollars_fp": [[0.42, "1.00"]]},
        {"yes_dollars_fp": "0.42"},
        {"yes": [["42", 1]]},
    ],
)
def test_malformed_snapshot_rejected(levels: dict) -> None:
    with pytest.raises(BookMessageError):
        OrderBook.from_snapshot({"market_ticker": T, **levels})
    keeper = BookKeeper()
    with pytest.raises(BookInvalid):
        keeper.apply(snapshot(**levels))
    assert keeper.book(T) is None


def test_book_converts_to_market_snapshot() -> None:
    book = keeper_with_book().book(T)
    assert book is not None
    snap = MarketSnapshot(
        ticker=T,
        event_ticker="KXHIGHNY-26NOV27",
        series_ticker="KXHIGHNY",
        city="NYC",
        climate_date=date(2026, 11, 27),
        kind="high",
        strike_type="between",
        floor_strike=45,
        cap_strike=46,
        captured_at=datetime(2026, 11, 26, 15, tzinfo=UTC),
        close_time=datetime(2026, 11, 28, 4, 59, tzinfo=UTC),
        **book.snapshot_fields(),
    )
    assert snap.yes_bid == book.best_yes_bid
    assert snap.yes_ask == book.best_yes_ask
    assert snap.mid == book.mid


# -- deltas ----------------------------------------------------------------------------------


def test_deltas_add_reduce_and_remove_levels() -> None:
    keeper = keeper_with_book()
    assert keeper.apply(delta(2, "0.4200", "-20.00")) == T
    assert keeper.apply(delta(3, "0.4300", "5.00")) == T
    assert keeper.apply(delta(4, "0.5500", "-50.00", side="no")) == T
    book = keeper.book(T)
    assert book is not None
    assert book.yes == {4300: 500, 4200: 8000, 4000: 3000}
    assert book.no == {}
    assert book.best_yes_bid == Decimal("0.43")
    assert book.best_yes_ask == Decimal("1")
    assert book.seq == 4
    assert keeper.deltas_applied == 3


def test_legacy_integer_delta() -> None:
    keeper = keeper_with_book()
    legacy = {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": 2,
        "msg": {"market_ticker": T, "price": 42, "delta": -20, "side": "yes"},
    }
    keeper.apply(legacy)
    book = keeper.book(T)
    assert book is not None and book.yes[4200] == 8000


def test_negative_size_invalidates_and_later_messages_are_ignored() -> None:
    keeper = keeper_with_book()
    with pytest.raises(BookInvalid) as info:
        keeper.apply(delta(2, "0.4000", "-31.00"))
    assert not isinstance(info.value, SequenceGap)
    assert info.value.sid == 1 and info.value.tickers == (T,)
    assert "negative" in info.value.reason
    assert keeper.book(T) is None
    assert keeper.apply(delta(3, "0.4000", "1.00")) is None  # stale sid
    assert keeper.tickers() == []


def test_sequence_gap_drops_every_book_of_the_sid() -> None:
    keeper = keeper_with_book()
    keeper.apply(snapshot(seq=2, ticker=U, yes_dollars_fp=[["0.1000", "1.00"]]))
    keeper.apply(snapshot(seq=1, sid=2, ticker="OTHER", no_dollars_fp=[["0.5000", "1.00"]]))
    assert keeper.tickers_of(1) == [T, U]
    with pytest.raises(SequenceGap) as info:
        keeper.apply(delta(4, "0.4200", "1.00"))
    assert (info.value.expected, info.value.received) == (3, 4)
    assert info.value.tickers == (T, U)
    assert keeper.book(T) is None and keeper.book(U) is None
    assert keeper.book("OTHER") is not None
    assert keeper.apply(snapshot(seq=5, ticker=T)) is None  # stale sid still ignored
    # a new subscription (new sid) rebuilds the book
    assert keeper.apply(snapshot(seq=1, sid=3, yes_dollars_fp=[["0.3000", "7.00"]])) == T
    book = keeper.book(T)
    assert book is not None and book.yes == {3000: 700} and book.sid == 3


def test_repeated_seq_is_a_gap() -> None:
    keeper = keeper_with_book()
    keeper.apply(delta(2, "0.4200", "1.00"))
    with pytest.raises(SequenceGap):
        keeper.apply(delta(2, "0.4200", "1.00"))


def test_delta_before_snapshot_is_invalid() -> None:
    keeper = BookKeeper()
    with pytest.raises(BookInvalid):
        keeper.apply(delta(1, "0.4200", "1.00"))
    assert keeper.apply(delta(2, "0.4200", "1.00")) is None


def test_delta_for_market_without_snapshot_on_the_sid() -> None:
    keeper = keeper_with_book()
    with pytest.raises(BookInvalid) as info:
        keeper.apply(delta(2, "0.4200", "1.00", ticker=U))
    assert info.value.tickers == (T,)


@pytest.mark.parametrize(
    "msg",
    [
        {"market_ticker": T, "price_dollars": "1.5000", "delta_fp": "1.00", "side": "yes"},
        {"market_ticker": T, "price_dollars": "0.4200", "delta_fp": "x", "side": "yes"},
        {"market_ticker": T, "price_dollars": "0.4200", "delta_fp": "1.00", "side": "maybe"},
        {"market_ticker": T, "price_dollars": "0.4200", "delta_fp": "1.00"},
        {"market_ticker": T, "price": 42, "delta": 1.5, "side": "yes"},
    ],
)
def test_malformed_delta_invalidates(msg: dict) -> None:
    keeper = keeper_with_book()
    with pytest.raises(BookInvalid):
        keeper.apply({"type": "orderbook_delta", "sid": 1, "seq": 2, "msg": msg})
    assert keeper.book(T) is None


def test_envelope_without_sid_is_a_message_error() -> None:
    with pytest.raises(BookMessageError):
        BookKeeper().apply({"type": "orderbook_delta", "seq": 1, "msg": {}})
    with pytest.raises(BookMessageError):
        BookKeeper().apply({"type": "ticker", "sid": 1, "msg": {}})


def test_forget_sid_and_reset() -> None:
    keeper = keeper_with_book()
    assert keeper.forget_sid(1) == [T]
    assert keeper.book(T) is None
    keeper.reset()
    # after a reset sid 1 is a fresh subscription again
    assert keeper.apply(snapshot(seq=1)) == T
    assert keeper.reset() == [T]
    assert keeper.tickers() == []


# -- OrderBook -------------------------------------------------------------------------------


def test_order_book_apply_delta_never_negative() -> None:
    book = OrderBook(T, yes={4200: 100})
    with pytest.raises(NegativeSizeError):
        book.apply_delta("yes", 4200, -101)
    assert book.yes == {4200: 100}
    book.apply_delta("yes", 4200, -100)
    assert book.yes == {}
    with pytest.raises(BookMessageError):
        book.apply_delta("up", 4200, 1)


def test_order_book_rejects_bad_levels() -> None:
    with pytest.raises(BookMessageError):
        OrderBook(T, yes={4200: 0})
    with pytest.raises(BookMessageError):
        OrderBook(T, no={20000: 5})


def test_copy_is_independent_and_equality() -> None:
    book = OrderBook(T, yes={4200: 100}, no={5500: 50})
    twin = book.copy()
    assert twin == book
    book.apply_delta("yes", 4200, 5)
    assert twin.yes == {4200: 100}
    assert twin != book
    assert "bid=0.4200" in repr(twin)


def test_crossed_book_flag() -> None:
    assert OrderBook(T, yes={6000: 1}, no={4000: 1}).crossed
    assert not OrderBook(T, yes={5900: 1}, no={4000: 1}).crossed

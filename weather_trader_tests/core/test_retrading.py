from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import pandas as pd

from weather_trader.core.records import BookLevel, MarketSnapshot
from weather_trader.core.retrading import PRICE_MOVE_TRIGGER, moved_markets

D = Decimal
EVENT = "KXHIGHNY-26JUL04"
TICKER = f"{EVENT}-B88.5"
PRICED_AT = datetime(2026, 7, 3, 15, tzinfo=UTC)
LATER = PRICED_AT + timedelta(minutes=5)


class Quote(NamedTuple):
    ticker: str
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    as_of: datetime


def priced(
    bid: str | None = "0.40", ask: str | None = "0.50", ticker: str = TICKER
) -> Quote:  # mid 0.45
    return Quote(
        ticker, None if bid is None else D(bid), None if ask is None else D(ask), PRICED_AT
    )


def book(
    yes_bid: str | None, yes_ask: str | None, captured_at: datetime = LATER, ticker: str = TICKER
) -> MarketSnapshot:
    return MarketSnapshot(
        ticker=ticker,
        event_ticker=EVENT,
        series_ticker="KXHIGHNY",
        city="NYC",
        climate_date=date(2026, 7, 4),
        kind="high",
        strike_type="between",
        floor_strike=88,
        cap_strike=89,
        captured_at=captured_at,
        close_time=captured_at + timedelta(days=1),
        yes_bids=() if yes_bid is None else (BookLevel(price=D(yes_bid), count=D(10)),),
        no_bids=() if yes_ask is None else (BookLevel(price=1 - D(yes_ask), count=D(10)),),
    )


def test_move_of_exactly_the_trigger_counts() -> None:
    assert D("0.02") == PRICE_MOVE_TRIGGER
    up = book("0.42", "0.52")  # mid 0.47
    down = book("0.38", "0.48")  # mid 0.43
    assert up.mid - D("0.45") == PRICE_MOVE_TRIGGER
    assert moved_markets([priced()], {TICKER: up}) == [TICKER]
    assert moved_markets([priced()], {TICKER: down}) == [TICKER]


def test_smaller_move_does_not_count() -> None:
    assert moved_markets([priced()], {TICKER: book("0.40", "0.50")}) == []
    assert moved_markets([priced()], {TICKER: book("0.42", "0.518")}) == []  # mid 0.469
    assert moved_markets([priced()], {TICKER: book("0.382", "0.48")}) == []  # mid 0.431
    # A wider spread around the same mid is no move.
    assert moved_markets([priced()], {TICKER: book("0.30", "0.60")}) == []


def test_custom_trigger() -> None:
    latest = {TICKER: book("0.42", "0.50")}  # mid 0.46: moved 0.01
    assert moved_markets([priced()], latest) == []
    assert moved_markets([priced()], latest, trigger=D("0.01")) == [TICKER]
    assert moved_markets([priced()], latest, trigger=D("0.011")) == []


def test_book_not_newer_than_the_pricing_does_not_count() -> None:
    moved = ("0.60", "0.70")
    assert moved_markets([priced()], {TICKER: book(*moved, captured_at=PRICED_AT)}) == []
    earlier = PRICED_AT - timedelta(minutes=1)
    assert moved_markets([priced()], {TICKER: book(*moved, captured_at=earlier)}) == []
    just_after = PRICED_AT + timedelta(microseconds=1)
    assert moved_markets([priced()], {TICKER: book(*moved, captured_at=just_after)}) == [TICKER]


def test_missing_quote_side_or_book_is_skipped() -> None:
    latest = {TICKER: book("0.60", "0.70")}
    assert moved_markets([priced(bid=None)], latest) == []
    assert moved_markets([priced(ask=None)], latest) == []
    assert moved_markets([priced(bid=None, ask=None)], latest) == []
    assert moved_markets([priced(ticker=f"{EVENT}-T91")], latest) == []
    assert moved_markets([], latest) == []
    assert moved_markets([priced()], {}) == []


def test_empty_book_prices_at_half() -> None:
    # A book with no bids has bid 0 and ask 1: its mid 0.5 is a move from 0.45.
    assert book(None, None).mid == D("0.5")
    assert moved_markets([priced()], {TICKER: book(None, None)}) == [TICKER]
    assert moved_markets([priced("0.49", "0.51")], {TICKER: book(None, None)}) == []


def test_several_markets_keep_priced_order() -> None:
    a, b, c = (f"{EVENT}-B{x}.5" for x in (84, 86, 88))
    quotes = [priced(ticker=c), priced(ticker=a), priced(ticker=b)]
    latest = {
        a: book("0.50", "0.60", ticker=a),  # moved
        b: book("0.41", "0.51", ticker=b),  # mid 0.46: not moved
        c: book("0.10", "0.20", ticker=c),  # moved
    }
    assert moved_markets(quotes, latest) == [c, a]


def test_rows_of_a_bracket_probabilities_frame() -> None:
    # The sensor passes DataFrame.itertuples rows: as_of is a pandas Timestamp, a missing
    # bid/ask is None in an object column.
    frame = pd.DataFrame(
        {
            "ticker": [TICKER, f"{EVENT}-T91"],
            "as_of": pd.to_datetime([PRICED_AT, PRICED_AT], utc=True),
            "p_model": [0.3, 0.1],
            "yes_bid": [D("0.40"), None],
            "yes_ask": [D("0.50"), None],
        }
    )
    latest = {
        TICKER: book("0.60", "0.70"),
        f"{EVENT}-T91": book("0.60", "0.70", ticker=f"{EVENT}-T91"),
    }
    assert moved_markets(frame.itertuples(index=False), latest) == [TICKER]

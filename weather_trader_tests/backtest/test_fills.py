"""The fill model: only later prints on the matching side, at printed prices, each print once."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from weather_trader.backtest.fills import FillError, Order, fill_order, match_prints
from weather_trader.backtest.tape import QuoteBook, Tape, TapeError
from weather_trader.core.fees import WEATHER_SERIES_FEES, SeriesFees
from weather_trader_tests.backtest.engine_support import D1_16, Print, tape, ticker

T0 = D1_16
LATER = T0 + pd.Timedelta(hours=6)
NO_QUOTES = QuoteBook(None)


def order(
    action: str = "buy",
    side: str = "yes",
    count: int = 10,
    limit: str = "0.41",
    liquidity: str = "taker",
    sent: pd.Timestamp = T0,
    expires: pd.Timestamp = LATER,
    order_id: str = "o1",
) -> Order:
    return Order(order_id, ticker(1), action, side, count, Decimal(limit), liquidity, sent, expires)  # type: ignore[arg-type]


def kalshi_fee_cents(rate_per_10000: int, count: int, price_cents: int) -> int:
    """Kalshi's formula in integers: ceil(rate * C * P * (1 - P)) cents, P in cents."""
    return math.ceil(rate_per_10000 * count * price_cents * (100 - price_cents) / 1_000_000)


def test_a_taker_bid_takes_only_later_offers_at_or_below_its_limit() -> None:
    book = Tape(
        tape(
            [
                Print(1, -60, 0.30, 50, "yes"),  # before the order: never used
                Print(1, 0, 0.30, 50, "yes"),  # at the arrival instant: not after it
                Print(1, 10, 0.42, 50, "yes"),  # above the limit
                Print(1, 20, 0.35, 50, "no"),  # a taker selling YES: a bid, not an offer
                Print(1, 30, 0.40, 4, "yes"),
                Print(1, 40, 0.41, 100, "yes"),
                Print(1, 6 * 3600, 0.30, 50, "yes"),  # at expiry: cancelled by then
            ]
        )
    )
    fills = match_prints(order(), book, WEATHER_SERIES_FEES)
    assert [(f.source, f.count, f.price) for f in fills] == [
        ("t4", 4, Decimal("0.40")),
        ("t5", 6, Decimal("0.41")),
    ]
    assert [f.fee for f in fills] == [Decimal("0.07"), Decimal("0.11")]
    assert all(f.filled_at > T0 for f in fills)
    assert book.remaining.tolist() == [50, 50, 50, 50, 0, 94, 50]


def test_a_print_fills_our_orders_at_most_once() -> None:
    book = Tape(tape([Print(1, 30, 0.40, 5, "yes")]))
    first = fill_order(order(count=3), book, NO_QUOTES, WEATHER_SERIES_FEES)
    second = fill_order(order(count=3, order_id="o2"), book, NO_QUOTES, WEATHER_SERIES_FEES)
    third = fill_order(order(count=3, order_id="o3"), book, NO_QUOTES, WEATHER_SERIES_FEES)
    assert [f.count for f in first + second + third] == [3, 2]


def test_buying_no_takes_yes_bids_at_or_above_one_minus_the_limit() -> None:
    # Buy NO at 0.62 = an ask at YES 0.38: takers selling YES at >= 0.38 show YES bids.
    book = Tape(
        tape(
            [
                Print(1, 10, 0.37, 10, "no"),  # YES bid below 0.38: NO would cost 0.63
                Print(1, 20, 0.40, 10, "yes"),  # an offer: wrong side for a NO buyer
                Print(1, 30, 0.39, 3, "no"),
            ]
        )
    )
    fills = match_prints(order(side="no", limit="0.62"), book, WEATHER_SERIES_FEES)
    assert [(f.source, f.count, f.price) for f in fills] == [("t2", 3, Decimal("0.61"))]
    assert fills[0].fee == Decimal(kalshi_fee_cents(700, 3, 61)) / 100


def test_slippage_moves_taker_prices_against_us() -> None:
    book = Tape(tape([Print(1, 30, 0.40, 5, "yes"), Print(1, 40, 0.60, 5, "no")]))
    buy = match_prints(order(count=5), book, WEATHER_SERIES_FEES, slippage_cents=2)
    sell = match_prints(order(action="sell", count=5, limit="0.55"), book, WEATHER_SERIES_FEES, 2)
    assert buy[0].price == Decimal("0.42")
    assert sell[0].price == Decimal("0.58")


def test_maker_orders_fill_only_when_prints_trade_through_their_price() -> None:
    book = Tape(
        tape(
            [
                Print(1, 10, 0.30, 10, "no"),  # at our bid: the queue may have taken it
                Print(1, 20, 0.29, 10, "yes"),  # below, but a buyer lifting an offer
                Print(1, 30, 0.29, 4, "no"),  # a seller trading through our bid
            ]
        )
    )
    fills = fill_order(order(limit="0.30", liquidity="maker"), book, NO_QUOTES, WEATHER_SERIES_FEES)
    assert [(f.source, f.count, f.price, f.fee, f.liquidity) for f in fills] == [
        ("t2", 4, Decimal("0.30"), Decimal("0.00"), "maker")
    ]


def test_maker_fees_only_on_series_that_charge_them() -> None:
    book = Tape(tape([Print(1, 30, 0.29, 100, "no")]))
    with_fees = SeriesFees("quadratic_with_maker_fees", Decimal(1), True)
    fills = fill_order(
        order(count=100, limit="0.30", liquidity="maker"), book, NO_QUOTES, with_fees
    )
    assert fills[0].fee == Decimal(math.ceil(175 * 100 * 30 * 70 / 1_000_000)) / 100  # 0.37


def test_kalshi_taker_fee_examples() -> None:
    assert WEATHER_SERIES_FEES.taker(100, Decimal("0.50")) == Decimal("1.75")
    assert WEATHER_SERIES_FEES.taker(20, Decimal("0.60")) == Decimal("0.34")
    for count, cents in [(1, 1), (7, 33), (58, 41), (100, 99), (3, 50)]:
        expected = Decimal(kalshi_fee_cents(700, count, cents)) / 100
        assert WEATHER_SERIES_FEES.taker(count, Decimal(cents) / 100) == expected


def quotes(rows: list[tuple[float, float, float, float, float]]) -> QuoteBook:
    """Quotes of market 1: (seconds after T0, bid, ask, bid size, ask size)."""
    return QuoteBook(
        pd.DataFrame(
            {
                "ticker": ticker(1),
                "at": [T0 + pd.Timedelta(seconds=r[0]) for r in rows],
                "yes_bid": [r[1] for r in rows],
                "yes_ask": [r[2] for r in rows],
                "yes_bid_size": [r[3] for r in rows],
                "yes_ask_size": [r[4] for r in rows],
            }
        )
    )


def test_a_recorded_quote_fills_a_taker_at_the_ask_up_to_its_size_once() -> None:
    book = Tape(tape([Print(1, 30, 0.40, 50, "yes")]))
    recorded = quotes([(-5, 0.38, 0.41, 10, 3), (5, 0.38, 0.45, 10, 3)])
    sent = T0 + pd.Timedelta(seconds=1)
    fills = fill_order(order(sent=sent), book, recorded, WEATHER_SERIES_FEES)
    assert [(f.count, f.price, f.source, f.filled_at) for f in fills] == [
        (3, Decimal("0.41"), "quote", sent)
    ]
    again = fill_order(order(sent=sent, order_id="o2"), book, recorded, WEATHER_SERIES_FEES)
    assert again == []  # the quote's size is used up; the rest is cancelled (IOC)
    assert book.remaining.tolist() == [50]  # prints untouched where a quote was in force


def test_a_quote_above_the_limit_does_not_fill_and_stale_quotes_are_not_used() -> None:
    book = Tape(tape([Print(1, 30, 0.40, 50, "yes")]))
    high = quotes([(-5, 0.38, 0.43, 10, 30)])
    assert fill_order(order(), book, high, WEATHER_SERIES_FEES) == []
    stale = quotes([(-3600, 0.38, 0.41, 10, 30)])
    fills = fill_order(order(), book, stale, WEATHER_SERIES_FEES, quote_max_age_seconds=600)
    assert [f.source for f in fills] == ["t0"]  # no fresh quote: the tape rule


def test_a_post_only_order_that_would_cross_is_rejected() -> None:
    book = Tape(tape([Print(1, 30, 0.20, 50, "no")]))
    recorded = quotes([(-5, 0.38, 0.41, 10, 30)])
    assert (
        fill_order(order(limit="0.41", liquidity="maker"), book, recorded, WEATHER_SERIES_FEES)
        == []
    )


def test_orders_refuse_bad_values() -> None:
    with pytest.raises(FillError):
        order(count=0)
    with pytest.raises(FillError):
        order(limit="1.00")
    with pytest.raises(TapeError):
        Tape(tape([Print(1, 30, 1.40, 5, "yes")]))
    naive = tape([Print(1, 30, 0.40, 5, "yes")])
    naive["traded_at"] = naive["traded_at"].dt.tz_localize(None)
    with pytest.raises(TapeError):
        Tape(naive)


def test_random_orders_never_fill_before_sending_off_print_or_beyond_prints() -> None:
    rng = np.random.default_rng(3)
    n = 400
    prints = [
        Print(1, float(s), round(float(p), 2), float(c), str(side))
        for s, p, c, side in zip(
            rng.uniform(-3600, 7200, n),
            rng.integers(1, 100, n) / 100,
            rng.integers(1, 20, n),
            rng.choice(["yes", "no"], n),
            strict=True,
        )
    ]
    frame = tape(prints)
    book = Tape(frame)
    by_id = frame.set_index("trade_id")
    taken: dict[str, int] = {}
    for k in range(60):
        sent = T0 + pd.Timedelta(seconds=float(rng.uniform(-1800, 5400)))
        o = order(
            action=str(rng.choice(["buy", "sell"])),
            side=str(rng.choice(["yes", "no"])),
            count=int(rng.integers(1, 40)),
            limit=f"{int(rng.integers(1, 100)) / 100:.2f}",
            liquidity=str(rng.choice(["taker", "maker"])),
            sent=sent,
            expires=sent + pd.Timedelta(seconds=float(rng.uniform(1, 3600))),
            order_id=f"o{k}",
        )
        fills = fill_order(o, book, NO_QUOTES, WEATHER_SERIES_FEES, slippage_cents=0)
        assert sum(f.count for f in fills) <= o.count
        for f in fills:
            printed = by_id.loc[f.source]
            assert o.sent_at < printed["traded_at"] < o.expires_at
            assert f.filled_at == printed["traded_at"]
            yes = Decimal(repr(float(printed["yes_price"])))
            side_price = yes if o.side == "yes" else 1 - yes
            if o.liquidity == "taker":
                assert f.price == side_price  # a price that printed
            else:
                assert f.price == o.limit
                # Strictly through our price, from the other side's taker.
                through = side_price < o.limit if o.action == "buy" else side_price > o.limit
                assert through
            better = f.price <= o.limit if o.action == "buy" else f.price >= o.limit
            assert better
            taken[f.source] = taken.get(f.source, 0) + f.count
    for trade_id, n_taken in taken.items():
        assert n_taken <= by_id.loc[trade_id, "count"]


def test_quotes_without_sizes_never_fill_a_taker_but_still_block_a_crossing_maker() -> None:
    book = Tape(tape([Print(1, 30, 0.40, 5, "yes"), Print(1, 40, 0.20, 5, "no")]))
    unsized = quotes([(-5, 0.38, 0.41, float("nan"), float("nan"))])
    fills = fill_order(order(), book, unsized, WEATHER_SERIES_FEES)
    assert [(f.source, f.count) for f in fills] == [("t0", 5)]  # the trade rule, not the quote
    assert (
        fill_order(order(limit="0.41", liquidity="maker"), book, unsized, WEATHER_SERIES_FEES) == []
    )

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from weather_trader.core.fees import SeriesFees, taker_fee
from weather_trader.core.records import BookLevel, MarketSnapshot, OrderRequest
from weather_trader.sim.broker import PaperBroker
from weather_trader.sim.market import SimMarket
from weather_trader.sim.weather import SimWeather

AT = datetime(2026, 11, 26, 18, tzinfo=UTC)
D = Decimal


ONE = Decimal(1)


def _book(status: str = "open", multiplier: Decimal = ONE) -> MarketSnapshot:
    # YES bids 0.40 x10, 0.38 x20; NO bids 0.55 x5 (YES ask 0.45), 0.53 x10 (0.47), 0.50 x100.
    return MarketSnapshot(
        ticker="KXHIGHNY-26NOV27-B41.5", event_ticker="KXHIGHNY-26NOV27", series_ticker="KXHIGHNY",
        city="NYC", climate_date=date(2026, 11, 27), kind="high", strike_type="between",
        floor_strike=41, cap_strike=42, status=status, captured_at=AT,
        close_time=datetime(2026, 11, 28, 4, 59, tzinfo=UTC),
        yes_bids=(BookLevel(price=D("0.40"), count=D(10)), BookLevel(price=D("0.38"), count=D(20))),
        no_bids=(BookLevel(price=D("0.55"), count=D(5)), BookLevel(price=D("0.53"), count=D(10)),
                 BookLevel(price=D("0.50"), count=D(100))),
        fee_multiplier=multiplier,
    )  # fmt: skip


def _order(cid: str, side: str, count: int, price: str, tif: str = "immediate_or_cancel", **kw):  # type: ignore[no-untyped-def]
    return OrderRequest(client_order_id=cid, ticker="KXHIGHNY-26NOV27-B41.5", side=side,
                        count=count, price=D(price), time_in_force=tif, **kw)  # fmt: skip


def test_buy_yes_walks_the_no_ladder_with_fee_per_fill() -> None:
    result = PaperBroker().place(_order("a", "bid", 12, "0.47"), _book(), AT)
    assert result.status == "filled" and result.filled_count == 12
    assert [(f.price, f.count) for f in result.fills] == [(D("0.45"), 5), (D("0.47"), 7)]
    assert [f.fee for f in result.fills] == [taker_fee(5, D("0.45")), taker_fee(7, D("0.47"))]
    assert [f.fee for f in result.fills] == [D("0.09"), D("0.13")]  # ceil per fill
    assert all(f.is_taker and f.filled_at == AT and f.side == "bid" for f in result.fills)


def test_buy_no_hits_the_yes_bids() -> None:
    result = PaperBroker().place(_order("b", "ask", 25, "0.38"), _book(), AT)
    assert result.status == "filled"
    assert [(f.price, f.count) for f in result.fills] == [(D("0.40"), 10), (D("0.38"), 15)]
    # NO bought at 0.60 and 0.62; P(1-P) is symmetric, so the fee equals the YES-side one.
    assert [f.fee for f in result.fills] == [taker_fee(10, D("0.60")), taker_fee(15, D("0.62"))]


def test_fee_uses_the_series_multiplier() -> None:
    half = PaperBroker().place(_order("m", "bid", 100, "0.50"), _book(multiplier=D("0.5")), AT)
    full = PaperBroker(SeriesFees("quadratic", D(1), False)).place(
        _order("m", "bid", 100, "0.50"), _book(multiplier=D("0.5")), AT
    )
    assert sum(f.fee for f in half.fills) < sum(f.fee for f in full.fills)
    assert full.fills[-1].fee == taker_fee(85, D("0.50"))


def test_limit_stops_the_walk_ioc_partial_and_nothing() -> None:
    broker = PaperBroker()
    partial = broker.place(_order("c", "bid", 30, "0.47"), _book(), AT)
    assert partial.status == "partially_filled" and partial.filled_count == 15
    assert "canceled" in partial.reason
    none = broker.place(_order("d", "bid", 5, "0.44"), _book(), AT)
    assert none.status == "canceled" and none.filled_count == 0 and none.fills == ()


def test_fill_or_kill_is_all_or_nothing() -> None:
    broker = PaperBroker()
    killed = broker.place(_order("e", "bid", 16, "0.47", "fill_or_kill"), _book(), AT)
    assert killed.status == "canceled" and killed.filled_count == 0 and not killed.fills
    ok = broker.place(_order("f", "bid", 15, "0.47", "fill_or_kill"), _book(), AT)
    assert ok.status == "filled" and ok.filled_count == 15


def test_good_till_canceled_is_rejected_before_taking_anything() -> None:
    broker = PaperBroker()
    gtc = broker.place(_order("g", "ask", 40, "0.39", "good_till_canceled"), _book(), AT)
    assert gtc.status == "rejected" and gtc.filled_count == 0 and gtc.fills == ()
    assert "never rests orders" in gtc.reason
    assert broker.position("KXHIGHNY-26NOV27-B41.5") == 0
    # The liquidity it would have taken is still there for the next order.
    ioc = broker.place(_order("i", "ask", 10, "0.40"), _book(), AT)
    assert ioc.status == "filled" and ioc.filled_count == 10


def test_duplicate_client_order_id_never_fills_twice() -> None:
    broker = PaperBroker()
    first = broker.place(_order("dup", "bid", 5, "0.45"), _book(), AT)
    again = broker.place(_order("dup", "bid", 50, "0.99"), _book(), AT + timedelta(minutes=1))
    assert again == first and broker.position("KXHIGHNY-26NOV27-B41.5") == 5


def test_liquidity_taken_from_a_snapshot_is_gone() -> None:
    broker = PaperBroker()
    broker.place(_order("h1", "bid", 5, "0.45"), _book(), AT)
    second = broker.place(_order("h2", "bid", 5, "0.45"), _book(), AT)
    assert second.status == "canceled" and second.filled_count == 0
    third = broker.place(_order("h3", "bid", 5, "0.47"), _book(), AT)
    assert [(f.price, f.count) for f in third.fills] == [(D("0.47"), 5)]


@pytest.mark.parametrize(
    ("order", "book", "at", "reason"),
    [
        (
            _order("r1", "bid", 1, "0.45").model_copy(update={"ticker": "OTHER"}),
            _book(),
            AT,
            "book is for",
        ),
        (_order("r2", "bid", 1, "0.45"), _book(status="closed"), AT, "is closed"),
        (
            _order("r3", "bid", 1, "0.45"),
            _book(),
            datetime(2026, 11, 28, 5, tzinfo=UTC),
            "closed at",
        ),
        (_order("r4", "bid", 1, "0.455"), _book(), AT, "1-cent grid"),
        (_order("r5", "bid", 1, "0.45", post_only=True), _book(), AT, "post_only"),
        (_order("r6", "ask", 1, "0.40", reduce_only=True), _book(), AT, "reduce_only"),
    ],
)
def test_invalid_orders_are_rejected(order, book, at, reason) -> None:  # type: ignore[no-untyped-def]
    result = PaperBroker().place(order, book, at)
    assert result.status == "rejected" and reason in result.reason and result.filled_count == 0


def test_reduce_only_allowed_when_it_reduces() -> None:
    broker = PaperBroker()
    broker.place(_order("long", "bid", 5, "0.45"), _book(), AT)
    result = broker.place(_order("cut", "ask", 3, "0.40", reduce_only=True), _book(), AT)
    assert result.status == "filled" and broker.position("KXHIGHNY-26NOV27-B41.5") == 2


def test_against_a_sim_book() -> None:
    market = SimMarket(SimWeather(7), seed=7)
    day = date(2026, 11, 27)
    at = market.open_time(day) + timedelta(hours=3)
    book = max(market.event_markets("NYC", day, "high", at), key=lambda m: m.yes_bid)
    order = OrderRequest(client_order_id="sim-1", ticker=book.ticker, side="bid", count=1,
                         price=book.yes_ask, time_in_force="fill_or_kill")  # fmt: skip
    result = PaperBroker().place(order, book, at)
    assert result.status == "filled" and result.fills[0].price == book.yes_ask
    assert result.fills[0].fee == taker_fee(1, book.yes_ask)


def test_fill_ids_are_unique_and_deterministic() -> None:
    order = _order("c1", "bid", 20, "0.50")  # takes the 0.45, 0.47 and 0.50 levels
    first = PaperBroker().place(order, _book(), AT)
    again = PaperBroker().place(order, _book(), AT)  # a fresh broker after a restart
    ids = [f.fill_id for f in first.fills]
    assert ids == ["c1-0", "c1-1", "c1-2"]
    assert [f.fill_id for f in again.fills] == ids  # the same fills get the same ids
    assert all(f.trade_id is None for f in first.fills)


def test_positions_are_net_yes_per_ticker() -> None:
    broker = PaperBroker()
    assert broker.positions() == {}
    broker.place(_order("c1", "bid", 5, "0.45"), _book(), AT)
    assert broker.positions() == {"KXHIGHNY-26NOV27-B41.5": 5}
    broker.place(_order("c2", "ask", 5, "0.40"), _book(), AT)
    assert broker.positions() == {}  # flat markets are left out
    broker.place(_order("c3", "ask", 10, "0.38"), _book(), AT)
    assert broker.positions() == {"KXHIGHNY-26NOV27-B41.5": -10}

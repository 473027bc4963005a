"""The matching engine without HTTP: edge cases of matching, clock moves and persistence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from weather_trader.sim.exchange.catalog import Catalog, minute_of
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.errors import BadRequestError, ConflictError, NotFoundError
from weather_trader.sim.exchange.events import BookChanged, FillExecuted, Lifecycle
from weather_trader.sim.exchange.matching import NewOrder
from weather_trader.sim.exchange.store import ExchangeStore
from weather_trader.sim.exchange.wire import (
    count_fp,
    decode_cursor,
    dollars,
    dollars_exact,
    encode_cursor,
    parse_count,
    parse_price,
)
from weather_trader_tests.sim.exchange.conftest import T0


@pytest.fixture
def eng(sim_market, tmp_path):  # type: ignore[no-untyped-def]
    clock = ExchangeClock.simulated(T0)
    eng = ExchangeEngine(
        Catalog(sim_market), clock, store=ExchangeStore(tmp_path / "exchange.sqlite")
    )
    eng.sync()
    return eng


def _ticker(eng: ExchangeEngine, skip: int = 0) -> str:
    now = eng.clock.now()
    found = [
        ref.ticker
        for ev in eng.catalog.listed_events(now)
        if eng.catalog.status(ev, now) == "open"
        for ref in eng.catalog.markets_of(ev)
        if len(eng.book(ref.ticker).yes) >= 2 and len(eng.book(ref.ticker).no) >= 2
    ]
    return found[skip]


def _order(ticker: str, coid: str, side: str, count: int, price: int, tif: str, **kw):  # type: ignore[no-untyped-def]
    return NewOrder(ticker, coid, side, count, price, tif, kw.pop("stp", "taker_at_cross"), **kw)


def test_wire_formats() -> None:
    assert (dollars(42), dollars(-5), dollars(100)) == ("0.4200", "-0.0500", "1.0000")
    assert dollars_exact(__import__("decimal").Decimal("0.017")) == "0.0170"
    assert dollars_exact(__import__("decimal").Decimal("0.0123456")) == "0.012346"
    assert count_fp(-3) == "-3.00"
    assert parse_price("0.42") == parse_price("0.4200") == 42
    assert parse_count("10") == parse_count("10.00") == parse_count(10) == 10
    for bad in ("0.425", "0", "1.00", "abc", 0.5):
        with pytest.raises(BadRequestError):
            parse_price(bad)
    assert decode_cursor(encode_cursor(40)) == 40 and decode_cursor("") == 0


def test_crowd_liquidity_is_remembered_within_the_minute_only(eng: ExchangeEngine) -> None:
    ticker = _ticker(eng)
    no_price, size = eng.book(ticker).best("no")
    ask = 100 - no_price
    first = eng.create_order("a", _order(ticker, "1", "bid", size, ask, "immediate_or_cancel"))
    assert first.fill_count == size
    second = eng.create_order("b", _order(ticker, "1", "bid", 1, ask, "immediate_or_cancel"))
    assert second.fill_count == 0 or eng.book(ticker).best("no")[0] == no_price
    eng.clock.advance(timedelta(minutes=1))
    eng.sync()
    assert all(key[1] >= minute_of(eng.clock.now()) for key in eng.books.taken)


def test_good_till_canceled_expires_and_market_close_cancels(eng: ExchangeEngine) -> None:
    ticker = _ticker(eng, 1)
    bid, _ = eng.book(ticker).best("yes")
    expiring = eng.create_order("a", _order(
        ticker, "e", "bid", 1, bid - 1, "good_till_canceled",
        expiration_time=T0 + timedelta(minutes=3)))  # fmt: skip
    lasting = eng.create_order("a", _order(ticker, "l", "bid", 1, 1, "good_till_canceled"))
    with pytest.raises(BadRequestError):
        eng.create_order("a", _order(ticker, "x", "bid", 1, 1, "immediate_or_cancel",
                                        expiration_time=T0 + timedelta(minutes=3)))  # fmt: skip
    eng.clock.advance(timedelta(minutes=5))
    eng.sync()
    assert eng.get_order("a", expiring.order.order_id).status == "canceled"
    assert eng.get_order("a", lasting.order.order_id).status == "resting"
    ref = eng.catalog.market_ref(ticker)
    eng.crossing_minutes_limit = 1  # one crossing check for the whole jump to the close
    eng.clock.set(eng.catalog.close_time(ref.event) + timedelta(minutes=2))
    eng.sync()
    assert eng.get_order("a", lasting.order.order_id).status == "canceled"
    with pytest.raises(ConflictError):
        eng.create_order("a", _order(ticker, "y", "bid", 1, 1, "good_till_canceled"))


def test_no_position_settles_and_clock_can_move_back(eng: ExchangeEngine) -> None:
    events: list[object] = []
    eng.listeners.append(events.append)
    ticker = _ticker(eng, 2)
    bid, _ = eng.book(ticker).best("yes")
    sold = eng.create_order("u", _order(ticker, "s", "ask", 3, bid, "immediate_or_cancel"))
    assert sold.fill_count == 3 and eng.position("u", ticker).position == -3
    assert any(isinstance(e, FillExecuted) for e in events)
    assert any(isinstance(e, BookChanged) for e in events)
    cash = eng.accounts["u"].balance
    eng.clock.set(T0 + timedelta(days=2))
    eng.sync()
    [settlement] = eng.user_settlements("u")
    assert settlement.no_count == 3 and settlement.no_cost == 3 * (100 - bid)
    won = settlement.market_result == "no"
    assert settlement.revenue == (300 if won else 0)
    assert eng.accounts["u"].balance == cash + settlement.revenue
    assert any(isinstance(e, Lifecycle) and e.event_type == "settled" for e in events)
    eng.clock.set(T0)  # back in time: nothing is undone, nothing settles twice
    eng.sync()
    eng.clock.set(T0 + timedelta(days=3))
    eng.sync()
    assert len(eng.user_settlements("u")) == 1


def test_state_survives_a_restart(eng: ExchangeEngine, sim_market) -> None:  # type: ignore[no-untyped-def]
    ticker = _ticker(eng, 3)
    bid, _ = eng.book(ticker).best("yes")
    _, size = eng.book(ticker).best("no")
    ask = 100 - eng.book(ticker).best("no")[0]
    taken = eng.create_order("u", _order(ticker, "t", "bid", min(size, 4), ask,
                                            "immediate_or_cancel"))  # fmt: skip
    resting = eng.create_order("u", _order(ticker, "r", "bid", 2, bid - 1, "good_till_canceled"))
    eng.amend_order("u", resting.order.order_id, ticker=ticker, book_side="bid",
                       price=bid - 1, count=3, updated_client_order_id="r2")  # fmt: skip
    assert eng.store is not None
    again = ExchangeEngine(Catalog(sim_market), eng.clock, store=eng.store)
    assert again.accounts["u"].balance == eng.accounts["u"].balance
    assert again.get_order("u", taken.order.order_id).fill_count == taken.fill_count
    assert again.book(ticker).yes.get(bid - 1, 0) == eng.book(ticker).yes.get(bid - 1, 0)
    assert again.position("u", ticker).position == taken.fill_count
    for coid in ("t", "r", "r2"):  # used ids stay used, even the one an amend replaced
        with pytest.raises(ConflictError):
            again.create_order("u", _order(ticker, coid, "bid", 1, 1, "good_till_canceled"))
    with pytest.raises(NotFoundError):
        again.get_order("someone-else", taken.order.order_id)


def test_long_clock_moves_sample_crossings(eng: ExchangeEngine) -> None:
    eng.crossing_minutes_limit = 10
    ticker = _ticker(eng, 4)
    bid, _ = eng.book(ticker).best("yes")
    order = eng.create_order("u", _order(ticker, "g", "bid", 1, bid - 1, "good_till_canceled"))
    eng.clock.set(T0 + timedelta(hours=3))
    eng.sync()  # 180 minutes, checked at 10 sampled minutes: it must not hang or fail
    assert eng.get_order("u", order.order.order_id).status in ("resting", "executed")


def test_sim_clock_and_accounts_survive_a_restart(tmp_path, sim_market) -> None:  # type: ignore[no-untyped-def]
    from weather_trader.sim.exchange import ExchangeState

    state = ExchangeState.create(
        home=tmp_path, clock=ExchangeClock.simulated(T0), market=sim_market
    )
    state.engine.account("someone")
    state.clock.set(T0 + timedelta(hours=2))
    state.sync()
    state.close()
    again = ExchangeState.create(home=tmp_path, market=sim_market)
    assert again.clock.is_simulated and again.clock.now() == T0 + timedelta(hours=2)
    assert again.engine.accounts["someone"].balance == 100_000
    again.close()

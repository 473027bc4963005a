"""The exchange stays correct and bounded under failures and hostile input: atomic operations
(a failed write or amend changes nothing), bounded numbers and times (fast 400s naming the
field), keyset cursors, and the ``/sim`` routes closed to unsigned and remote callers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from weather_trader.sim.exchange import ExchangeClock, ExchangeState, run_exchange_in_thread
from weather_trader.sim.exchange.app import create_exchange_app
from weather_trader.sim.exchange.errors import BadRequestError
from weather_trader.sim.exchange.wire import parse_count, parse_iso, parse_price
from weather_trader_tests.sim.exchange.conftest import T0, Api, Exchange, two_sided
from weather_trader_tests.sim.exchange.test_orders import top

ORDERS = "/portfolio/events/orders"


@pytest.fixture
def stored(keypair: tuple[bytes, bytes], sim_market, tmp_path: Path) -> Iterator[Exchange]:  # type: ignore[no-untyped-def]
    """An exchange persisting to SQLite (so its writes can fail), clock at :data:`T0`."""
    state = ExchangeState.create(
        home=tmp_path / "exchange", clock=ExchangeClock.simulated(T0), market=sim_market
    )
    with run_exchange_in_thread(state) as base:
        exchange = Exchange(state, base, *keypair)
        try:
            yield exchange
        finally:
            for client in exchange.clients:
                client.close()
            state.close()


def _snapshot(api: Api, ticker: str) -> tuple[Any, ...]:
    orders = api.get("/portfolio/orders")
    assert orders.status_code == 200
    book = api.get(f"/markets/{ticker}/orderbook").json()
    balance = api.get("/portfolio/balance").json()["balance"]
    return orders.json()["orders"], book, balance


def test_a_failed_store_write_changes_nothing(stored: Exchange, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    api = stored.api()
    ticker = two_sided(stored)
    store = stored.state.store
    assert store is not None
    resting = api.order(ticker, "bid", 3, 5, "good_till_canceled")
    assert resting.status_code == 201
    before = _snapshot(api, ticker)
    real_write = store.write

    def failing_write(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "write", failing_write)
    failed = api.order(ticker, "bid", 4, 6, "good_till_canceled")
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "service_unavailable"
    cancel = api.delete(f"{ORDERS}/{resting.json()['order_id']}")
    assert cancel.status_code == 503
    monkeypatch.setattr(store, "write", real_write)

    assert _snapshot(api, ticker) == before  # neither the order nor the cancel happened
    again = api.order(ticker, "bid", 4, 6, "good_till_canceled")
    assert again.status_code == 201
    listed = api.get("/portfolio/orders").json()["orders"]
    assert [o["order_id"] for o in listed] == [
        again.json()["order_id"],
        resting.json()["order_id"],
    ]
    # What was stored is what a restart sees.
    committed, _ = stored.state.engine.journal.committed()
    assert len(store.records()) == sum(len(rows) for rows in committed.values())


def test_a_failing_amend_is_rolled_back(shared: Exchange, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    api = shared.api()
    ticker = two_sided(shared, 5)
    r = api.order(ticker, "bid", 3, 5, "good_till_canceled").json()
    before = _snapshot(api, ticker)
    matcher = shared.state.engine.matcher

    def broken_take(*args: Any) -> list:
        raise RuntimeError("matching bug")  # after the amend changed price and count

    monkeypatch.setattr(matcher, "_take", broken_take)
    body = {"ticker": ticker, "side": "bid", "price": "0.0600", "count": "9.00"}
    amend = api.post(f"{ORDERS}/{r['order_id']}/amend", body)
    assert amend.status_code == 500
    monkeypatch.undo()
    api.client = httpx.Client(base_url=shared.base_url, timeout=10)  # the server dropped it
    shared.clients.append(api.client)

    assert _snapshot(api, ticker) == before
    [order] = api.get("/portfolio/orders").json()["orders"]
    assert (order["status"], order["yes_price_dollars"]) == ("resting", "0.0500")
    again = api.post(f"{ORDERS}/{r['order_id']}/amend", body)
    assert again.status_code == 200 and again.json()["remaining_count"] == "9.00"


def test_validation_errors_leave_state_alone(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 6)
    r = api.order(ticker, "bid", 3, 5, "good_till_canceled").json()
    before = _snapshot(api, ticker)
    bad = {"ticker": ticker, "side": "bid", "price": "0.0600", "count": "1e300000"}
    assert api.post(f"{ORDERS}/{r['order_id']}/amend", bad).status_code == 400
    bad = {"ticker": ticker, "side": "ask", "price": "0.0600", "count": "9"}
    assert api.post(f"{ORDERS}/{r['order_id']}/amend", bad).status_code == 400
    assert _snapshot(api, ticker) == before


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (parse_count, "1e300000"),
        (parse_count, "-1e300000"),
        (parse_count, "1e-300000"),
        (parse_count, 10**400),
        (parse_count, "9" * 1000),
        (parse_count, "2000000"),
        (parse_price, "1e300000"),
        (parse_price, "1E+999999999"),
        (parse_price, "0." + "0" * 100 + "1"),
    ],
)
def test_hostile_numbers_are_refused_at_once(parse: Any, value: Any) -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequestError):
        parse(value)
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1900-01-01T00:00:00Z"]
)
def test_out_of_range_times_are_refused(text: str) -> None:
    with pytest.raises(BadRequestError, match="now"):
        parse_iso(text, "now")


def test_hostile_input_gets_a_fast_400_naming_the_field(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared)
    statuses: list[int] = []

    def poll_status() -> None:
        with httpx.Client(base_url=shared.base_url, timeout=5) as client:
            for _ in range(5):
                statuses.append(client.get("/trade-api/v2/exchange/status").status_code)

    cases = [
        ({"count": "1e300000"}, "count"),
        ({"count": 10**400}, "count"),
        ({"price": "1e300000"}, "price"),
        ({"expiration_time": 10**20}, "expiration_time"),
        ({"expiration_time": -(10**20)}, "expiration_time"),
    ]
    for extra, field in cases:
        body = {
            "ticker": ticker,
            "side": "bid",
            "count": "1.00",
            "price": "0.0500",
            "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "taker_at_cross",
            **extra,
        }
        poller = threading.Thread(target=poll_status)
        started = time.perf_counter()
        poller.start()
        r = api.post(ORDERS, body)
        elapsed = time.perf_counter() - started
        poller.join()
        assert r.status_code == 400, (extra, r.text)
        assert field in r.json()["error"]["message"]
        assert elapsed < 1.0, (extra, elapsed)
    assert statuses == [200] * 5 * len(cases)
    deep = "[" * 100_000 + "]" * 100_000
    assert api.request("POST", ORDERS, content=deep).status_code == 400
    assert api.request("POST", ORDERS, content="{}" + " " * 2_000_000).status_code == 400
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        r = api.request("PUT", "/sim/clock", json={"now": moment})
        assert r.status_code == 400 and "now" in r.json()["error"]["message"]


def _walk(api: Api, path: str, rows: str, add: Any, **filters: str) -> list[str]:
    """Every id a cursor walk returns, calling ``add`` between pages."""
    ids: list[str] = []
    cursor = ""
    while True:
        params: dict[str, Any] = {"limit": 2, **filters}
        if cursor:
            params["cursor"] = cursor
        body = api.get(path, params=params).json()
        ids += [row.get("order_id") or row.get("trade_id") for row in body[rows]]
        cursor = body["cursor"]
        if not cursor:
            return ids
        add()


def test_cursors_neither_repeat_nor_skip_rows_while_orders_arrive(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 7)
    first = [api.order(ticker, "bid", 1, 2, "good_till_canceled").json() for _ in range(7)]
    added: list[str] = []

    def add() -> None:
        added.append(api.order(ticker, "bid", 1, 2, "good_till_canceled").json()["order_id"])

    ids = _walk(api, "/portfolio/orders", "orders", add)
    assert len(ids) == len(set(ids))
    assert set(ids) >= {o["order_id"] for o in first}
    assert added  # orders did arrive during the walk

    # The public tape: trades arrive between pages too.
    _, _, ask, _ = top(api, ticker)
    for _ in range(5):
        api.order(ticker, "bid", 1, ask, "immediate_or_cancel")

    def trade() -> None:
        api.order(ticker, "bid", 1, ask, "immediate_or_cancel")

    trades = _walk(api, "/markets/trades", "trades", trade, ticker=ticker)
    assert len(trades) == len(set(trades)) >= 5


def test_sim_routes_need_a_signature(shared: Exchange) -> None:
    api = shared.api()
    unsigned = api.request("PUT", "/sim/clock", sign=False, json={"now": T0.isoformat()})
    assert unsigned.status_code == 401
    assert api.request("DELETE", "/sim/clock", sign=False).status_code == 401
    assert api.request("POST", "/sim/ws/seq-gap", sign=False).status_code == 401
    assert api.request("GET", "/sim/clock").json()["simulated"] is True


def test_sim_routes_refuse_remote_clients(shared: Exchange) -> None:
    api = shared.api()
    app = create_exchange_app(shared.state)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4242))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://exchange") as remote:
            return await remote.delete(
                "/sim/clock", headers=api.creds.headers("DELETE", "/sim/clock")
            )

    r = asyncio.run(call())
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert shared.state.clock.is_simulated  # the clock did not go back to wall time

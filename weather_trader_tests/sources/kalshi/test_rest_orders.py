"""KalshiClient's orders against mocked HTTP: V2 writes, recovery by client_order_id, portfolio."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.records import OrderRequest
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import (
    KalshiConflict,
    KalshiOrderUnknown,
    KalshiUnavailable,
)
from weather_trader.sources.kalshi.ratelimit import KalshiRateLimiter
from weather_trader.sources.kalshi.rest_orders import format_count, format_price
from weather_trader_tests.sources.kalshi.rest_support import BASE, TICKER, make, url

ORDERS = "/portfolio/events/orders"


def order_json(client_order_id: str, order_id: str = "ord-1", **overrides: Any) -> dict[str, Any]:
    """An order as GET /portfolio/orders lists it (2026 fields)."""
    body = {
        "order_id": order_id,
        "user_id": "user-1",
        "client_order_id": client_order_id,
        "ticker": TICKER,
        "side": "yes",
        "action": "buy",
        "type": "limit",
        "status": "executed",
        "yes_price_dollars": "0.4200",
        "no_price_dollars": "0.5800",
        "fill_count_fp": "10.00",
        "remaining_count_fp": "0.00",
        "initial_count_fp": "10.00",
        "taker_fees_dollars": "0.1700",
        "maker_fees_dollars": "0.0000",
        "taker_fill_cost_dollars": "4.2000",
        "maker_fill_cost_dollars": "0.0000",
        "created_time": "2026-07-11T15:00:00Z",
    }
    body.update(overrides)
    return body


def request_order(client_order_id: str = "wt-NYC-2026-07-12-T82-1") -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id,
        ticker=TICKER,
        side="bid",
        count=10,
        price=Decimal("0.42"),
        time_in_force="immediate_or_cancel",
    )


def ack_json(client_order_id: str, order_id: str = "ord-1") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "client_order_id": client_order_id,
        "fill_count": "10.00",
        "remaining_count": "0.00",
        "average_fill_price": "0.4200",
        "average_fee_paid": "0.0170",
        "ts_ms": 1783782000000,
    }


def posts(httpx_mock: HTTPXMock, path: str = ORDERS) -> list[httpx.Request]:
    return httpx_mock.get_requests(method="POST", url=BASE + path)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- portfolio reads ------------------------------------------------------------------------------


def test_portfolio_reads(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(
        url=url("/portfolio/positions"),
        json={
            "market_positions": [
                {
                    "ticker": TICKER,
                    "position_fp": "5.00",
                    "market_exposure_dollars": "0.8000",
                    "total_traded_dollars": "0.8000",
                    "realized_pnl_dollars": "0.0000",
                    "fees_paid_dollars": "0.0100",
                }
            ],
            "event_positions": [],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/fills"),
        json={
            "fills": [
                {
                    "fill_id": "f1",
                    "trade_id": "f1",
                    "order_id": "ord-1",
                    "ticker": TICKER,
                    "market_ticker": TICKER,
                    "side": "yes",
                    "action": "buy",
                    "count_fp": "5.00",
                    "yes_price_dollars": "0.1600",
                    "no_price_dollars": "0.8400",
                    "is_taker": True,
                    "fee_cost": "0.0100",
                    "created_time": "2026-07-11T15:00:00Z",
                }
            ],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/settlements"),
        json={
            "settlements": [
                {
                    "ticker": TICKER,
                    "event_ticker": "KXHIGHNY-26JUL12",
                    "market_result": "no",
                    "yes_count_fp": "5.00",
                    "yes_total_cost_dollars": "0.8000",
                    "no_count_fp": "0.00",
                    "no_total_cost_dollars": "0.0000",
                    "revenue": 0,
                    "settled_time": "2026-07-13T12:00:00Z",
                    "fee_cost": "0.0100",
                }
            ],
            "cursor": "",
        },
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders/ord-1"), json={"order": order_json("c1", status="resting")}
    )
    client = make(creds)
    assert client.positions()[0].position == Decimal(5)
    assert client.fills(ticker=TICKER)[0].fee_cost == Decimal("0.01")
    assert client.settlements()[0].revenue == Decimal(0)
    assert client.get_order("ord-1").is_resting


# -- order writes ---------------------------------------------------------------------------------


def test_create_order_sends_the_v2_body(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order, order_group_id="g-1")
    assert ack.order_id == "ord-1" and not ack.recovered
    assert ack.fill_count == Decimal(10) and ack.average_fill_price == Decimal("0.42")
    (request,) = posts(httpx_mock)
    assert body_of(request) == {
        "ticker": TICKER,
        "client_order_id": order.client_order_id,
        "side": "bid",
        "count": "10.00",
        "price": "0.4200",
        "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross",
        "post_only": False,
        "reduce_only": False,
        "order_group_id": "g-1",
    }


def test_create_timeout_resolved_by_lookup(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={
            "orders": [order_json("someone-else", "ord-0"), order_json(order.client_order_id)],
            "cursor": "",
        },
    )
    ack = make(creds).create_order(order)
    assert ack.recovered and ack.order_id == "ord-1" and ack.order is not None
    assert ack.fill_count == Decimal(10)
    assert len(posts(httpx_mock)) == 1  # nothing re-sent, certainly not under a new id
    lookup = httpx_mock.get_requests(method="GET")[0]
    assert lookup.url.params["ticker"] == TICKER


def test_create_timeout_not_found_resends_once_same_id(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order)
    assert not ack.recovered and ack.order_id == "ord-1"
    first, second = posts(httpx_mock)
    assert body_of(first) == body_of(second)
    assert body_of(second)["client_order_id"] == order.client_order_id


def test_resend_409_means_it_exists(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=500)
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    httpx_mock.add_response(
        url=BASE + ORDERS,
        method="POST",
        status_code=409,
        json={"error": {"code": "order_already_exists", "message": "duplicate client_order_id"}},
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json(order.client_order_id, "ord-9")], "cursor": ""},
    )
    ack = make(creds).create_order(order)
    assert ack.recovered and ack.order_id == "ord-9"
    assert len(posts(httpx_mock)) == 2


def test_unresolved_create_raises_order_unknown(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=502, is_reusable=True)
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [], "cursor": ""},
        is_reusable=True,
    )
    with pytest.raises(KalshiOrderUnknown) as info:
        make(creds).create_order(order)
    assert info.value.client_order_id == order.client_order_id
    sent = posts(httpx_mock)
    assert len(sent) == 2  # the original and exactly one re-send
    assert {body_of(r)["client_order_id"] for r in sent} == {order.client_order_id}


def test_failed_lookup_raises_order_unknown(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", status_code=503, is_reusable=True
    )
    with pytest.raises(KalshiOrderUnknown, match="could not look the order up"):
        make(creds).create_order(order)
    assert len(posts(httpx_mock)) == 1


def test_first_send_409_duplicate(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    order = request_order()
    duplicate = {"error": {"code": "order_already_exists", "message": "duplicate"}}
    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=409, json=duplicate)
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json(order.client_order_id)], "cursor": ""},
    )
    ack = make(creds).create_order(order)  # idempotent per client id: the existing order
    assert ack.recovered and ack.order_id == "ord-1"

    httpx_mock.add_response(url=BASE + ORDERS, method="POST", status_code=409, json=duplicate)
    httpx_mock.add_response(
        url=url("/portfolio/orders"), method="GET", json={"orders": [], "cursor": ""}
    )
    with pytest.raises(KalshiConflict) as info:
        make(creds).create_order(order)
    assert info.value.code == "order_already_exists"


def test_write_retries_only_when_not_executed(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    order = request_order()
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=429, json={"error": "too many requests"}
    )
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=BASE + ORDERS, method="POST")
    httpx_mock.add_response(
        url=BASE + ORDERS, method="POST", status_code=201, json=ack_json(order.client_order_id)
    )
    ack = make(creds).create_order(order)
    assert ack.order_id == "ord-1" and not ack.recovered
    assert len(posts(httpx_mock)) == 3
    assert not httpx_mock.get_requests(method="GET")  # no lookup needed


def test_other_writes_are_not_retried(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(url=url(f"{ORDERS}/ord-1"), method="DELETE", status_code=500)
    with pytest.raises(KalshiUnavailable):
        make(creds).cancel_order("ord-1")
    assert len(httpx_mock.get_requests()) == 1


def test_create_order_validates_inputs(creds: KalshiCredentials) -> None:
    with pytest.raises(ValueError, match="client_order_id"):
        make(creds).create_order(request_order(client_order_id=""))
    assert format_price(Decimal("0.5")) == "0.5000" and format_count(3) == "3.00"
    for bad_price in (Decimal(0), Decimal(1), 0.5):
        with pytest.raises(ValueError):
            format_price(bad_price)  # type: ignore[arg-type]
    for bad_count in (-1, True, 1.5):
        with pytest.raises(ValueError):
            format_count(bad_count)  # type: ignore[arg-type]


def test_cancel_amend_decrease(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    httpx_mock.add_response(
        url=url(f"{ORDERS}/ord-1"),
        method="DELETE",
        json={"order_id": "ord-1", "client_order_id": "c1", "reduced_by": "4.00", "ts_ms": 1},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/ord-1/amend",
        method="POST",
        json={"order_id": "ord-1", "client_order_id": "c1b", "remaining_count": "6.00"},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/ord-1/decrease",
        method="POST",
        json={"order_id": "ord-1", "remaining_count": "2.00", "ts_ms": 2},
    )
    limiter = KalshiRateLimiter("basic", clock=lambda: 0.0, sleep=lambda s: None)
    client = make(creds, rate_limiter=limiter)
    cancel = client.cancel_order("ord-1", ticker=TICKER)
    assert cancel.ok and cancel.reduced_by == Decimal(4)
    assert limiter.write.available == pytest.approx(198)  # a cancel costs 2 write tokens
    amended = client.amend_order(
        "ord-1",
        ticker=TICKER,
        side="bid",
        price=Decimal("0.45"),
        count=10,
        client_order_id="c1",
        updated_client_order_id="c1b",
    )
    assert amended.remaining_count == Decimal(6)
    assert client.decrease_order("ord-1", reduce_to=2).remaining_count == Decimal(2)
    assert limiter.write.available == pytest.approx(178)
    assert limiter.read.available == pytest.approx(200)
    delete, amend, decrease = httpx_mock.get_requests()
    assert delete.url.params["market_ticker"] == TICKER
    assert body_of(amend) == {
        "ticker": TICKER,
        "side": "bid",
        "price": "0.4500",
        "count": "10.00",
        "client_order_id": "c1",
        "updated_client_order_id": "c1b",
    }
    assert body_of(decrease) == {"reduce_to": "2.00"}
    with pytest.raises(ValueError):
        client.decrease_order("ord-1", reduce_by=1, reduce_to=2)
    with pytest.raises(ValueError):
        client.decrease_order("ord-1")


def test_batch_create_and_cancel(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    a, b = request_order("c-a"), request_order("c-b")
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="POST",
        status_code=201,
        json={
            "orders": [
                {**ack_json("c-a", "ord-a"), "error": None},
                {"client_order_id": "c-b", "error": {"code": "bad", "message": "refused"}},
            ]
        },
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="DELETE",
        json={"orders": [{"order_id": "ord-a", "reduced_by": "10.00", "ts_ms": 5}]},
    )
    client = make(creds)
    results = client.batch_create_orders([a, b])
    assert [r.ok for r in results] == [True, False]
    assert results[1].error is not None and results[1].error.code == "bad"
    cancels = client.batch_cancel_orders(["ord-a"])
    assert cancels[0].reduced_by == Decimal(10)
    create_req, cancel_req = httpx_mock.get_requests()
    assert [o["client_order_id"] for o in body_of(create_req)["orders"]] == ["c-a", "c-b"]
    assert body_of(cancel_req) == {"orders": [{"order_id": "ord-a"}]}
    with pytest.raises(ValueError, match="unique"):
        client.batch_create_orders([a, a])


def test_batch_create_unknown_outcome_resends_only_missing(
    httpx_mock: HTTPXMock, creds: KalshiCredentials
) -> None:
    a, b = request_order("c-a"), request_order("c-b")
    httpx_mock.add_exception(
        httpx.ReadTimeout("timed out"), url=BASE + f"{ORDERS}/batched", method="POST"
    )
    httpx_mock.add_response(
        url=url("/portfolio/orders"),
        method="GET",
        json={"orders": [order_json("c-a", "ord-a")], "cursor": ""},
    )
    httpx_mock.add_response(
        url=BASE + f"{ORDERS}/batched",
        method="POST",
        status_code=201,
        json={"orders": [ack_json("c-b", "ord-b")]},
    )
    results = make(creds).batch_create_orders([a, b])
    assert [r.client_order_id for r in results] == ["c-a", "c-b"]
    assert results[0].ack is not None and results[0].ack.recovered
    assert results[1].ack is not None and results[1].ack.order_id == "ord-b"
    first, second = posts(httpx_mock, f"{ORDERS}/batched")
    assert len(body_of(first)["orders"]) == 2
    assert [o["client_order_id"] for o in body_of(second)["orders"]] == ["c-b"]


def test_order_groups(httpx_mock: HTTPXMock, creds: KalshiCredentials) -> None:
    groups = "/portfolio/order_groups"
    httpx_mock.add_response(
        url=BASE + f"{groups}/create", method="POST", status_code=201, json={"order_group_id": "g1"}
    )
    httpx_mock.add_response(
        url=BASE + f"{groups}/g1",
        method="GET",
        json={"is_auto_cancel_enabled": False, "contracts_limit_fp": "50.00", "orders": ["o1"]},
    )
    httpx_mock.add_response(
        url=BASE + groups,
        method="GET",
        json={"order_groups": [{"id": "g1", "is_auto_cancel_enabled": False}]},
    )
    httpx_mock.add_response(url=BASE + f"{groups}/g1/reset", method="PUT", json={})
    httpx_mock.add_response(url=BASE + f"{groups}/g1", method="DELETE", json={})
    client = make(creds)
    assert client.create_order_group(50) == "g1"
    group = client.get_order_group("g1")
    assert group.id == "g1" and group.contracts_limit == Decimal(50) and group.orders == ("o1",)
    assert [g.id for g in client.order_groups()] == ["g1"]
    client.reset_order_group("g1")
    client.delete_order_group("g1")
    create = httpx_mock.get_requests()[0]
    assert body_of(create) == {"contracts_limit": 50, "contracts_limit_fp": "50.00"}
    with pytest.raises(ValueError):
        client.create_order_group(0)

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from weather_trader.core.fees import taker_fee
from weather_trader.sim.market import event_ticker
from weather_trader_tests.sim.exchange.conftest import T0, Api, Exchange, two_sided

ORDERS = "/portfolio/events/orders"


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def top(api: Api, ticker: str) -> tuple[int, int, int, int]:
    """(best YES bid, its size, best YES ask, its size) from the REST order book."""
    book = api.get(f"/markets/{ticker}/orderbook").json()["orderbook_fp"]
    bid, bid_size = book["yes_dollars"][-1]
    no_bid, ask_size = book["no_dollars"][-1]
    return cents(bid), int(Decimal(bid_size)), 100 - cents(no_bid), int(Decimal(ask_size))


def balance(api: Api) -> int:
    return api.get("/portfolio/balance").json()["balance"]


def fee(count: int, price: int) -> int:
    return int(taker_fee(count, Decimal(price) / 100) * 100)


def test_fill_or_kill_fills_all_or_nothing(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 0)
    _, _, ask, ask_size = top(api, ticker)
    killed = api.order(ticker, "bid", ask_size + 1, ask, "fill_or_kill")
    assert killed.status_code == 201
    assert killed.json()["fill_count"] == "0.00" and killed.json()["remaining_count"] == "0.00"
    order = api.get(f"/portfolio/orders/{killed.json()['order_id']}").json()["order"]
    assert order["status"] == "canceled"
    assert api.get("/portfolio/fills").json()["fills"] == []
    assert balance(api) == 100_000
    filled = api.order(ticker, "bid", 3, ask, "fill_or_kill").json()
    assert filled["fill_count"] == "3.00" and filled["average_fill_price"] == f"{ask / 100:.4f}"
    assert balance(api) == 100_000 - 3 * ask - fee(3, ask)


def test_immediate_or_cancel_takes_what_crosses_and_cancels_the_rest(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 1)
    _, _, ask, ask_size = top(api, ticker)
    r = api.order(ticker, "bid", ask_size + 5, ask, "immediate_or_cancel").json()
    assert r["fill_count"] == f"{ask_size}.00" and r["remaining_count"] == "0.00"
    order = api.get(f"/portfolio/orders/{r['order_id']}").json()["order"]
    assert (order["status"], order["fill_count_fp"]) == ("canceled", f"{ask_size}.00")
    assert order["side"] == "yes" and order["action"] == "buy"
    # The crowd's liquidity stays taken until it re-quotes next minute: another account
    # finds that level gone.
    other = shared.api()
    assert top(other, ticker)[2] > ask
    again = other.order(ticker, "bid", 1, ask, "immediate_or_cancel").json()
    assert again["fill_count"] == "0.00"


def test_good_till_canceled_rests_in_the_book_and_cancels(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 2)
    bid, bid_size, _, _ = top(api, ticker)
    r = api.order(ticker, "bid", 7, bid, "good_till_canceled", post_only=True).json()
    assert (r["fill_count"], r["remaining_count"]) == ("0.00", "7.00")
    assert top(api, ticker)[:2] == (bid, bid_size + 7)
    resting = api.get("/portfolio/orders", params={"status": "resting"}).json()["orders"]
    assert [o["order_id"] for o in resting] == [r["order_id"]]
    positions = api.get("/portfolio/positions").json()
    assert positions["market_positions"] == []
    gone = api.delete(f"{ORDERS}/{r['order_id']}", params={"market_ticker": ticker}).json()
    assert gone["reduced_by"] == "7.00" and gone["client_order_id"] == r["client_order_id"]
    assert top(api, ticker)[:2] == (bid, bid_size)
    assert api.delete(f"{ORDERS}/{r['order_id']}").status_code == 404
    assert api.get("/portfolio/orders", params={"status": "canceled"}).json()["orders"]


def test_post_only_that_would_cross_is_rejected(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 3)
    _, _, ask, _ = top(api, ticker)
    r = api.order(ticker, "bid", 1, ask, "good_till_canceled", post_only=True)
    assert r.status_code == 400 and r.json()["error"]["code"] == "post_only_cross"
    assert api.get("/portfolio/orders").json()["orders"] == []


def test_duplicate_client_order_id_is_409_and_never_fills_twice(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 4)
    _, _, ask, _ = top(api, ticker)
    first = api.order(ticker, "bid", 2, ask, "immediate_or_cancel", client_order_id="dup-1")
    assert first.status_code == 201 and first.json()["fill_count"] == "2.00"
    after_first = balance(api)
    again = api.order(ticker, "bid", 2, ask, "immediate_or_cancel", client_order_id="dup-1")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_already_exists"
    assert balance(api) == after_first
    orders = api.get("/portfolio/orders").json()["orders"]
    assert [o["order_id"] for o in orders] == [first.json()["order_id"]]
    assert len(api.get("/portfolio/fills").json()["fills"]) == 1
    # Another account may use the same client order id.
    assert shared.api().order(ticker, "bid", 1, ask, "immediate_or_cancel",
                              client_order_id="dup-1").status_code == 201  # fmt: skip


def test_amend_and_decrease_a_resting_order(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 5)
    bid, _, ask, _ = top(api, ticker)
    price = bid - 1
    r = api.order(ticker, "bid", 5, price, "good_till_canceled").json()
    oid = r["order_id"]
    amended = api.post(f"{ORDERS}/{oid}/amend", {
        "ticker": ticker, "side": "bid", "price": f"{bid / 100:.2f}", "count": "8",
        "client_order_id": r["client_order_id"], "updated_client_order_id": "amended-1",
    }).json()  # fmt: skip
    assert amended["remaining_count"] == "8.00" and amended["fill_count"] == "0.00"
    order = api.get(f"/portfolio/orders/{oid}").json()["order"]
    assert (order["yes_price_dollars"], order["remaining_count_fp"]) == (
        f"{bid / 100:.4f}",
        "8.00",
    )
    assert order["client_order_id"] == "amended-1"
    bad = api.post(f"{ORDERS}/{oid}/amend", {"ticker": ticker, "side": "ask",
                                             "price": "0.10", "count": "8"})  # fmt: skip
    assert bad.status_code == 400
    cut = api.post(f"{ORDERS}/{oid}/decrease", {"reduce_by": "3"}).json()
    assert cut["remaining_count"] == "5.00"
    assert (
        api.post(f"{ORDERS}/{oid}/decrease", {"reduce_by": "1", "reduce_to": "1"}).status_code
        == 400
    )
    assert api.post(f"{ORDERS}/{oid}/decrease", {"reduce_to": "9"}).status_code == 400
    # Amending to the ask crosses the book: the order trades at once.
    crossed = api.post(f"{ORDERS}/{oid}/amend", {
        "ticker": ticker, "side": "bid", "price": f"{ask / 100:.2f}", "count": "5",
    }).json()  # fmt: skip
    assert crossed["fill_count"] == "5.00" and crossed["remaining_count"] == "0.00"
    assert crossed["average_fill_price"] == f"{ask / 100:.4f}"
    assert api.get(f"/portfolio/orders/{oid}").json()["order"]["status"] == "executed"
    assert api.post(f"{ORDERS}/{oid}/decrease", {"reduce_to": "0"}).status_code == 404


def test_positions_balance_and_fees_net_yes_and_no(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 6)
    bid, _, ask, _ = top(api, ticker)
    api.order(ticker, "bid", 10, ask, "immediate_or_cancel")
    pos = api.get("/portfolio/positions", params={"ticker": ticker}).json()
    market = pos["market_positions"][0]
    assert market["position_fp"] == "10.00"
    assert cents(market["market_exposure_dollars"]) == 10 * ask
    assert cents(market["fees_paid_dollars"]) == fee(10, ask)
    assert balance(api) == 100_000 - 10 * ask - fee(10, ask)
    # Selling 4 YES (ask at the YES bid) closes 4 of them: cash in, P&L realized.
    before = balance(api)
    r = api.order(ticker, "ask", 4, bid, "immediate_or_cancel").json()
    assert r["fill_count"] == "4.00"
    assert balance(api) == before + 4 * bid - fee(4, bid)
    market = api.get("/portfolio/positions").json()["market_positions"][0]
    assert market["position_fp"] == "6.00"
    assert cents(market["realized_pnl_dollars"]) == 4 * bid - 4 * ask
    assert cents(market["market_exposure_dollars"]) == 6 * ask
    event = api.get("/portfolio/positions").json()["event_positions"][0]
    assert event["event_ticker"] == ticker.rsplit("-", 1)[0]
    fills = api.get("/portfolio/fills", params={"ticker": ticker}).json()["fills"]
    assert [f["side"] for f in fills] == ["no", "yes"] and all(f["is_taker"] for f in fills)
    assert api.get("/portfolio/balance").json()["portfolio_value"] == 6 * top(api, ticker)[0]


def test_reduce_only_is_capped_by_the_position(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 7)
    bid, _, ask, _ = top(api, ticker)
    refused = api.order(ticker, "ask", 3, bid, "immediate_or_cancel", reduce_only=True)
    assert refused.status_code == 400
    api.order(ticker, "bid", 2, ask, "immediate_or_cancel")
    capped = api.order(ticker, "ask", 5, bid, "immediate_or_cancel", reduce_only=True).json()
    assert capped["fill_count"] == "2.00"
    assert api.get("/portfolio/positions").json()["market_positions"][0]["position_fp"] == "0.00"


def test_batch_create_and_cancel(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 8)
    bid, _, _, _ = top(api, ticker)
    order = {
        "ticker": ticker,
        "side": "bid",
        "count": "1",
        "price": f"{(bid - 1) / 100:.2f}",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker",
    }
    body = {"orders": [{**order, "client_order_id": "b1"}, {**order, "client_order_id": "b2"},
                       {**order, "client_order_id": "b1"}]}  # fmt: skip
    created = api.post(f"{ORDERS}/batched", body)
    assert created.status_code == 201
    items = created.json()["orders"]
    assert [i["error"]["code"] if i.get("error") else "ok" for i in items] == [
        "ok",
        "ok",
        "order_already_exists",
    ]
    ids = [i["order_id"] for i in items[:2]]
    canceled = api.delete(f"{ORDERS}/batched", {"orders": [{"order_id": i} for i in ids]})
    assert [o["reduced_by"] for o in canceled.json()["orders"]] == ["1.00", "1.00"]
    again = api.delete(f"{ORDERS}/batched", {"orders": [{"order_id": ids[0]}]}).json()
    assert again["orders"][0]["error"]["code"] == "order_not_resting"


def test_self_trade_prevention_between_own_orders(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 1, min_spread=2)
    bid = top(api, ticker)[0]
    mid = bid + 1
    resting = api.order(ticker, "ask", 3, mid, "good_till_canceled").json()
    stopped = api.order(ticker, "bid", 3, mid, "immediate_or_cancel").json()
    assert stopped["fill_count"] == "0.00"  # taker_at_cross: the taker stops at its own order
    assert api.get(f"/portfolio/orders/{resting['order_id']}").json()["order"]["status"] == (
        "resting"
    )
    api.order(ticker, "bid", 3, mid, "immediate_or_cancel", stp="maker")
    assert api.get(f"/portfolio/orders/{resting['order_id']}").json()["order"]["status"] == (
        "canceled"
    )


def test_two_accounts_trade_with_each_other(shared: Exchange) -> None:
    maker, taker = shared.api(), shared.api()
    ticker = two_sided(shared, 2, min_spread=2)
    bid = top(maker, ticker)[0]
    price = bid + 1
    maker.order(ticker, "ask", 4, price, "good_till_canceled")  # sells YES = buys NO at 1-p
    r = taker.order(ticker, "bid", 4, price, "immediate_or_cancel").json()
    assert r["fill_count"] == "4.00" and r["average_fill_price"] == f"{price / 100:.4f}"
    maker_fill = maker.get("/portfolio/fills").json()["fills"][0]
    assert (maker_fill["is_taker"], maker_fill["side"], maker_fill["fee_cost"]) == (
        False,
        "no",
        "0.0000",
    )
    assert maker.get("/portfolio/positions").json()["market_positions"][0]["position_fp"] == (
        "-4.00"
    )
    assert balance(maker) == 100_000 - 4 * (100 - price)


def test_invalid_orders_get_400(shared: Exchange) -> None:
    api = shared.api()
    ticker = two_sided(shared, 0)
    good = {
        "ticker": ticker,
        "side": "bid",
        "count": "1",
        "price": "0.05",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker",
    }
    for change in ({"price": "0.055"}, {"price": "1.00"}, {"count": "1.5"}, {"count": "0"},
                   {"side": "yes"}, {"time_in_force": "day"}, {"post_only": "yes"},
                   {"price": None}, {"expiration_time": 1}):  # fmt: skip
        r = api.post(ORDERS, {**good, **change})
        assert r.status_code == 400, change
    r = api.post(ORDERS, {**good, "ticker": "KXHIGHNY-26NOV20-B1.5"})
    assert r.status_code == 404
    huge = api.post(ORDERS, {**good, "count": "5000", "price": "0.90"})
    assert huge.status_code == 400 and huge.json()["error"]["code"] == "insufficient_balance"


def test_v1_order_writes_are_gone(shared: Exchange) -> None:
    api = shared.api()
    for method, path in (("POST", "/portfolio/orders"), ("DELETE", "/portfolio/orders/x"),
                         ("POST", "/portfolio/orders/x/amend"),
                         ("POST", "/portfolio/orders/batched")):  # fmt: skip
        r = api.request(method, path, json={})
        assert r.status_code == 410
        assert r.json()["error"]["code"] == "deprecated_v1_order_endpoint"


def test_settlement_pays_the_winning_bracket_after_the_final_report(fresh: Exchange) -> None:
    api = fresh.api()
    event = event_ticker("KXHIGHNY", T0.date())
    markets = api.get("/markets", params={"event_ticker": event}).json()["markets"]
    spent = 0
    for m in markets:
        ask = cents(m["yes_ask_dollars"])
        if ask < 100:
            r = api.order(m["ticker"], "bid", 1, ask, "immediate_or_cancel").json()
            if r["fill_count"] == "1.00":
                spent += ask + fee(1, ask)
    assert balance(api) == 100_000 - spent
    # After the close (23:59 EST) but before the final report: closed, no orders.
    assert api.set_clock(T0 + timedelta(hours=11)).status_code == 200
    closed = api.get(f"/markets/{markets[0]['ticker']}").json()["market"]
    assert closed["status"] == "closed"
    late = api.order(markets[0]["ticker"], "bid", 1, 50, "immediate_or_cancel")
    assert late.status_code == 409 and late.json()["error"]["code"] == "market_closed"
    assert api.get("/portfolio/settlements").json()["settlements"] == []
    # Next day the final climate report is out: settled, $1 per winning contract.
    api.set_clock(T0 + timedelta(days=1))
    settlements = api.get("/portfolio/settlements").json()["settlements"]
    held = {s["ticker"] for s in settlements}
    results = {
        m["ticker"]: m
        for m in api.get("/markets", params={"event_ticker": event}).json()["markets"]
    }
    winners = [t for t, m in results.items() if m["result"] == "yes"]
    assert len(winners) == 1 and all(m["status"] == "finalized" for m in results.values())
    value = int(results[winners[0]]["expiration_value"])
    assert value == fresh.state.market.settlement_value("NYC", T0.date(), "high")
    assert winners[0] in held  # the bought winner pays $1
    assert sum(s["revenue"] for s in settlements) == 100
    assert balance(api) == 100_000 - spent + 100
    won = next(s for s in settlements if s["ticker"] == winners[0])
    assert (won["market_result"], won["yes_count_fp"], won["value"]) == ("yes", "1.00", 100)
    positions = api.get("/portfolio/positions").json()["market_positions"]
    assert all(p["position_fp"] == "0.00" for p in positions)


def test_resting_order_fills_when_the_crowd_crosses_it(fresh: Exchange) -> None:
    api = fresh.api()
    ticker = two_sided(fresh, 0)
    bid, _, ask, _ = top(api, ticker)
    price = ask - 1 if ask - 1 > bid else bid
    r = api.order(ticker, "bid", 3, price, "good_till_canceled").json()
    oid = r["order_id"]
    for minute in range(1, 240):
        api.set_clock(T0 + timedelta(minutes=minute))
        if api.get(f"/portfolio/orders/{oid}").json()["order"]["status"] == "executed":
            break
    fills = api.get("/portfolio/fills", params={"order_id": oid}).json()["fills"]
    assert sum(int(Decimal(f["count_fp"])) for f in fills) == 3
    assert all(not f["is_taker"] and f["fee_cost"] == "0.0000" for f in fills)
    assert all(f["yes_price_dollars"] == f"{price / 100:.4f}" for f in fills)
    assert balance(api) == 100_000 - 3 * price

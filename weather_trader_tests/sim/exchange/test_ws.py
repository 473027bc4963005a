from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from weather_trader_tests.sim.exchange.conformance import check_ws_message
from weather_trader_tests.sim.exchange.conftest import T0, Api, Exchange, two_sided

WS_PATH = "/trade-api/ws/v2"


def ws_url(exchange: Exchange) -> str:
    return exchange.base_url.replace("http://", "ws://") + WS_PATH


async def connect(exchange: Exchange, api: Api) -> websockets.ClientConnection:
    return await websockets.connect(
        ws_url(exchange), additional_headers=api.creds.headers("GET", WS_PATH)
    )


async def send(ws: websockets.ClientConnection, cmd_id: int, cmd: str, **params: Any) -> None:
    await ws.send(json.dumps({"id": cmd_id, "cmd": cmd, "params": params}))


async def drain(ws: websockets.ClientConnection, quiet: float = 0.3) -> list[dict]:
    """Every message until the server is quiet for ``quiet`` seconds (all conform)."""
    out = []
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return out
        check_ws_message(message)
        out.append(message)


def of(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


def apply(book: dict[str, dict[str, Decimal]], message: dict) -> None:
    msg = message["msg"]
    if message["type"] == "orderbook_snapshot":
        book["yes"] = {p: Decimal(c) for p, c in msg.get("yes_dollars_fp", [])}
        book["no"] = {p: Decimal(c) for p, c in msg.get("no_dollars_fp", [])}
        return
    side = book[msg["side"]]
    side[msg["price_dollars"]] = side.get(msg["price_dollars"], Decimal(0)) + Decimal(
        msg["delta_fp"]
    )
    if side[msg["price_dollars"]] == 0:
        del side[msg["price_dollars"]]


def rest_book(api: Api, ticker: str) -> dict[str, dict[str, Decimal]]:
    book = api.get(f"/markets/{ticker}/orderbook").json()["orderbook_fp"]
    return {
        "yes": {p: Decimal(c) for p, c in book["yes_dollars"]},
        "no": {p: Decimal(c) for p, c in book["no_dollars"]},
    }


async def test_handshake_must_be_signed_and_fresh(shared: Exchange) -> None:
    api = shared.api()
    with pytest.raises(InvalidStatus) as unsigned:
        await websockets.connect(ws_url(shared))
    assert unsigned.value.response.status_code == 401
    stale = api.creds.headers("GET", WS_PATH, timestamp_ms=int(time.time() * 1000) - 120_000)
    with pytest.raises(InvalidStatus) as old:
        await websockets.connect(ws_url(shared), additional_headers=stale)
    assert old.value.response.status_code == 401
    wrong_path = api.creds.headers("GET", "/trade-api/v2/portfolio/balance")
    with pytest.raises(InvalidStatus):
        await websockets.connect(ws_url(shared), additional_headers=wrong_path)


async def test_book_snapshot_then_deltas_and_private_messages(fresh: Exchange) -> None:
    api = fresh.api()
    ticker = two_sided(fresh, 0)
    channels = ["orderbook_delta", "fill", "user_orders", "market_positions", "trade", "ticker"]
    async with await connect(fresh, api) as ws:
        await send(ws, 1, "subscribe", channels=channels, market_tickers=[ticker])
        first = await drain(ws)
        acks = of(first, "subscribed")
        assert [a["msg"]["channel"] for a in acks] == channels and all(a["id"] == 1 for a in acks)
        ob_sid = acks[0]["msg"]["sid"]
        snapshot = of(first, "orderbook_snapshot")
        assert len(snapshot) == 1 and snapshot[0]["seq"] == 1 and snapshot[0]["sid"] == ob_sid
        book: dict[str, dict[str, Decimal]] = {}
        apply(book, snapshot[0])
        assert book == rest_book(api, ticker)
        book_msgs = [snapshot[0]]

        # A resting order joins the book: a delta carrying our client_order_id.
        bid = max(Decimal(p) for p in book["yes"])
        api.order(ticker, "bid", 5, int(bid * 100), "good_till_canceled", client_order_id="ws-1")
        rested = await drain(ws)
        deltas = of(rested, "orderbook_delta")
        assert [(d["msg"]["delta_fp"], d["msg"].get("client_order_id")) for d in deltas] == [
            ("5.00", "ws-1")
        ]
        assert of(rested, "user_order")[0]["msg"]["status"] == "resting"
        book_msgs += deltas

        # A taker order fills: fill, user_order, market_position and trade messages.
        ask = 100 - int(max(Decimal(p) for p in book["no"]) * 100)
        api.order(ticker, "bid", 2, ask, "immediate_or_cancel", client_order_id="ws-2")
        filled = await drain(ws)
        fill = of(filled, "fill")[0]["msg"]
        assert (fill["client_order_id"], fill["count_fp"], fill["is_taker"]) == (
            "ws-2",
            "2.00",
            True,
        )
        assert (
            fill["yes_price_dollars"] == f"{ask / 100:.4f}" and fill["post_position_fp"] == "2.00"
        )
        assert of(filled, "user_order")[-1]["msg"]["status"] == "executed"
        assert of(filled, "market_position")[-1]["msg"]["position_fp"] == "2.00"
        assert of(filled, "trade")[0]["msg"]["taker_book_side"] == "bid"
        assert of(filled, "ticker")[-1]["msg"]["volume_fp"] == "2.00"
        book_msgs += of(filled, "orderbook_delta")

        # The crowd re-quotes at the next minute: more deltas, same sequence.
        api.set_clock(T0 + timedelta(minutes=1))
        requoted = of(await drain(ws), "orderbook_delta")
        assert requoted
        book_msgs += requoted
        assert [m["seq"] for m in book_msgs] == list(range(1, len(book_msgs) + 1))
        for message in book_msgs[1:]:
            apply(book, message)
        assert book == rest_book(api, ticker)


async def test_forced_seq_gap_and_subscription_commands(fresh: Exchange) -> None:
    api = fresh.api()
    first, second = two_sided(fresh, 0), two_sided(fresh, 1)
    async with await connect(fresh, api) as ws:
        await send(ws, 1, "subscribe", channels=["orderbook_delta"], market_ticker=first)
        sid = of(await drain(ws), "subscribed")[0]["msg"]["sid"]
        await ws.send(json.dumps({"id": 2, "cmd": "update_subscription",
                                  "params": {"sid": sid, "action": "add_markets",
                                             "market_tickers": [second]}}))  # fmt: skip
        added = await drain(ws)
        assert of(added, "orderbook_snapshot")[0]["seq"] == 2
        assert of(added, "ok")[0]["msg"]["market_tickers"] == sorted([first, second])
        assert api.post("/sim/ws/seq-gap", None).status_code == 200
        bid = int(Decimal(api.get(f"/markets/{first}").json()["market"]["yes_bid_dollars"]) * 100)
        api.order(first, "bid", 1, bid, "good_till_canceled")
        gap = of(await drain(ws), "orderbook_delta")
        assert [d["seq"] for d in gap] == [4]  # 3 was skipped: a client must resubscribe
        await send(ws, 3, "update_subscription", sid=sid, action="get_snapshot",
                   market_tickers=[first])  # fmt: skip
        assert of(await drain(ws), "orderbook_snapshot")[0]["seq"] == 5
        await ws.send(json.dumps({"id": 4, "cmd": "list_subscriptions"}))
        listed = await drain(ws)
        assert listed[0]["msg"] == [{"channel": "orderbook_delta", "sid": sid}]
        await send(ws, 5, "unsubscribe", sids=[sid])
        assert of(await drain(ws), "unsubscribed")[0]["sid"] == sid


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"cmd": "subscribe"}, 2),
        ({"cmd": "subscribe", "params": {}}, 3),
        ({"cmd": "subscribe", "params": {"channels": ["nope"]}}, 8),
        ({"cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}, 14),
        ({"cmd": "subscribe",
          "params": {"channels": ["trade"], "market_tickers": ["KXHIGHNY-26NOV20-B1.5"]}}, 16),
        ({"cmd": "unsubscribe", "params": {}}, 4),
        ({"cmd": "unsubscribe", "params": {"sids": [99]}}, 7),
        ({"cmd": "update_subscription", "params": {"sid": 1}}, 15),
        ({"cmd": "update_subscription", "params": {"sid": 1, "action": "jump"}}, 13),
        ({"cmd": "update_subscription", "params": {"sids": [1, 2], "action": "add_markets"}}, 12),
        ({"cmd": "dance", "params": {}}, 5),
    ],
)  # fmt: skip
async def test_command_errors_carry_kalshi_codes(
    shared: Exchange, command: dict, code: int
) -> None:
    api = shared.api()
    async with await connect(shared, api) as ws:
        await ws.send(json.dumps({"id": 7, **command}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert reply["type"] == "error" and reply["id"] == 7
        assert reply["msg"]["code"] == code and reply["msg"]["msg"]
        await ws.send("not json")
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))["msg"]["code"] == 1


async def test_lifecycle_messages_on_listing_and_settlement(fresh: Exchange) -> None:
    api = fresh.api()
    async with await connect(fresh, api) as ws:
        await send(ws, 1, "subscribe", channels=["market_lifecycle_v2"])
        await drain(ws)
        api.set_clock(T0 + timedelta(days=1, hours=1))  # past 10:00 ET listing and the final CLI
        events = of(await drain(ws, quiet=0.5), "market_lifecycle_v2")
    kinds = {(m["msg"]["event_type"], m["msg"]["market_ticker"].split("-")[1]) for m in events}
    assert ("created", "26NOV22") in kinds
    assert ("determined", "26NOV20") in kinds and ("settled", "26NOV20") in kinds
    determined = [m["msg"] for m in events if m["msg"]["event_type"] == "determined"]
    assert {m["result"] for m in determined} == {"yes", "no"}
    assert all(m["settlement_value"] in ("1.0000", "0.0000") for m in determined)

"""Tests of the Kalshi WebSocket client against a tiny in-test websockets server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    generate_key_pair,
    load_public_key,
    verify_signature,
)
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.urls import DEMO_WS_URL, PROD_WS_URL
from weather_trader.sources.kalshi.ws import ConnectionFailed, KalshiWebSocket, backoff_delay
from weather_trader.sources.kalshi.ws_messages import (
    BookInvalidated,
    BookUpdate,
    ConnectionStatus,
    FillEvent,
    ServerError,
    Subscription,
    UnparsedMessage,
    WsEvent,
)
from weather_trader.sources.kalshi.ws_queue import EventQueueOverflow

T = "KXHIGHNY-26NOV27-B45.5"
PATH = "/trade-api/ws/v2"
KEY_ID = "test-key-id"
BOOK_SUB = Subscription(channels=("orderbook_delta",), market_tickers=(T,))

Script = Callable[[ServerConnection, "FakeKalshi", int], Awaitable[None]]


@pytest.fixture(scope="module")
def keys() -> tuple[KalshiCredentials, Any]:
    private_pem, public_pem = generate_key_pair()
    return KalshiCredentials.from_pem(KEY_ID, private_pem), load_public_key(public_pem)


@dataclass
class FakeKalshi:
    """A Kalshi-like server: checks the signed handshake, then runs ``script`` per connection."""

    public_key: Any
    script: Script
    handshakes: list[dict[str, Any]] = field(default_factory=list)
    commands: list[list[dict[str, Any]]] = field(default_factory=list)
    reject_all: bool = False

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        headers = request.headers
        ts, sig = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
        valid = (
            request.path == PATH
            and headers.get(KEY_HEADER) == KEY_ID
            and ts is not None
            and sig is not None
            and verify_signature(self.public_key, int(ts), "GET", PATH, sig)
        )
        self.handshakes.append({"timestamp": ts, "signature": sig, "valid": valid})
        if not valid or self.reject_all:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad signature\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        session = len(self.commands)
        self.commands.append([])
        await self.script(connection, self, session)

    async def recv(self, connection: ServerConnection) -> dict[str, Any]:
        command = json.loads(await asyncio.wait_for(connection.recv(), 5))
        self.commands[-1].append(command)
        return command


async def send(connection: ServerConnection, **message: Any) -> None:
    await connection.send(json.dumps(message))


def snap(sid: int, seq: int, yes: list[list[str]], no: list[list[str]] | None = None) -> dict:
    msg: dict[str, Any] = {"market_ticker": T, "market_id": "m-1", "yes_dollars_fp": yes}
    if no is not None:
        msg["no_dollars_fp"] = no
    return {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}


def dlt(sid: int, seq: int, price: str, amount: str, side: str = "yes") -> dict:
    msg = {
        "market_ticker": T,
        "market_id": "m-1",
        "price_dollars": price,
        "delta_fp": amount,
        "side": side,
        "ts": "2026-11-26T15:00:00Z",
    }
    return {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}


def fill(trade_id: str) -> dict:
    msg = {
        "trade_id": trade_id,
        "order_id": "o-1",
        "client_order_id": "c-1",
        "market_ticker": T,
        "is_taker": True,
        "side": "yes",
        "action": "buy",
        "yes_price_dollars": "0.4200",
        "count_fp": "3.00",
        "fee_cost": "0.0600",
        "post_position_fp": "3.00",
        "ts": 1795100000,
    }
    return {"type": "fill", "sid": 9, "msg": msg}


async def subscribed(connection: ServerConnection, command: dict, sid: int) -> None:
    for channel in command["params"]["channels"]:
        await send(
            connection, type="subscribed", id=command["id"], msg={"channel": channel, "sid": sid}
        )


@asynccontextmanager
async def running(
    keys: tuple[KalshiCredentials, Any], script: Script, **client_kwargs: Any
) -> AsyncIterator[tuple[FakeKalshi, KalshiWebSocket, list[float]]]:
    credentials, public_key = keys
    server = FakeKalshi(public_key, script)
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0)

    async with serve(
        server.handler, "127.0.0.1", 0, process_request=server.process_request
    ) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        kwargs: dict[str, Any] = {
            "subscriptions": [BOOK_SUB],
            "sleep": fake_sleep,
            "rng": lambda: 0.5,
            "backoff_initial": 0.01,
            **client_kwargs,
        }
        client = KalshiWebSocket(f"ws://127.0.0.1:{port}{PATH}", credentials, **kwargs)
        async with client:
            yield server, client, sleeps


async def collect_until(
    client: KalshiWebSocket, stop: Callable[[WsEvent], bool], timeout: float = 5
) -> list[WsEvent]:
    events: list[WsEvent] = []

    async def run() -> None:
        async for event in client.events():
            events.append(event)
            if stop(event):
                return

    await asyncio.wait_for(run(), timeout)
    return events


def is_fill(trade_id: str) -> Callable[[WsEvent], bool]:
    return lambda e: isinstance(e, FillEvent) and e.trade_id == trade_id


# -- end to end ------------------------------------------------------------------------------


async def test_signed_handshake_subscribe_and_book(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        command = await server.recv(conn)
        await subscribed(conn, command, sid=1)
        await send(conn, **snap(1, 1, [["0.4200", "100.00"]], [["0.5500", "50.00"]]))
        await send(conn, **dlt(1, 2, "0.4200", "-20.00"))
        await send(conn, **dlt(1, 3, "0.4300", "5.00"))
        await send(conn, **fill("f-1"))
        await conn.wait_closed()

    async with running(keys, script) as (server, client, _):
        events = await collect_until(client, is_fill("f-1"))
        book = client.book(T)
        assert client.connected
    assert client.stats.connects == 1
    assert server.commands[0][0] == {
        "id": 1,
        "cmd": "subscribe",
        "params": {"channels": ["orderbook_delta"], "market_tickers": [T]},
    }
    assert len(server.handshakes) == 1 and server.handshakes[0]["valid"]
    assert isinstance(events[0], ConnectionStatus) and events[0].state == "connected"
    updates = [e for e in events if isinstance(e, BookUpdate)]
    assert [u.kind for u in updates] == ["snapshot", "delta", "delta"]
    assert updates[1].price == Decimal("0.42") and updates[1].delta == Decimal("-20")
    assert updates[1].side == "yes" and updates[1].seq == 2
    assert book is not None
    assert book.best_yes_bid == Decimal("0.43")
    assert book.best_yes_ask == Decimal("0.45")
    assert book.yes == {4300: 500, 4200: 8000}
    fill_event = events[-1]
    assert isinstance(fill_event, FillEvent)
    assert fill_event.yes_price == Decimal("0.42") and fill_event.count == Decimal("3")
    assert fill_event.fee == Decimal("0.06") and fill_event.post_position == Decimal("3")


async def test_sequence_gap_resubscribes_and_rebuilds(keys: tuple) -> None:
    proceed = asyncio.Event()

    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=1)
        await send(conn, **snap(1, 1, [["0.4200", "100.00"]]))
        await send(conn, **dlt(1, 2, "0.4200", "-20.00"))
        await send(conn, **dlt(1, 4, "0.4200", "-20.00"))  # seq 3 lost
        await send(conn, **dlt(1, 5, "0.4200", "-20.00"))  # in flight on the old sid
        unsubscribe = await server.recv(conn)
        assert unsubscribe["cmd"] == "unsubscribe" and unsubscribe["params"] == {"sids": [1]}
        await send(conn, type="unsubscribed", id=unsubscribe["id"], sid=1, seq=6)
        resubscribe = await server.recv(conn)
        assert resubscribe["params"] == {"channels": ["orderbook_delta"], "market_tickers": [T]}
        await subscribed(conn, resubscribe, sid=2)
        await proceed.wait()
        await send(conn, **snap(2, 1, [["0.3000", "7.00"]]))
        await send(conn, **dlt(2, 2, "0.3100", "1.00"))
        await send(conn, **fill("marker"))
        await conn.wait_closed()

    async with running(keys, script) as (_, client, _):
        first = await collect_until(client, lambda e: isinstance(e, BookInvalidated))
        assert client.book(T) is None  # stale book dropped until the new snapshot
        proceed.set()
        rest = await collect_until(client, is_fill("marker"))
        book = client.book(T)
    invalidated = first[-1]
    assert isinstance(invalidated, BookInvalidated)
    assert invalidated.market_tickers == (T,)
    assert "expected seq 3, got 4" in invalidated.reason
    assert client.stats.gaps == 1 and client.stats.resyncs == 1
    assert [e.sid for e in rest if isinstance(e, BookUpdate)] == [2, 2]
    assert book is not None and book.yes == {3100: 100, 3000: 700} and book.sid == 2


async def test_reconnect_resigns_and_resubscribes(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=1)
        await subscribed(conn, await server.recv(conn), sid=2)
        if session == 0:
            await send(conn, **snap(1, 1, [["0.4200", "100.00"]]))
            await conn.close(code=1011, reason="server restart")
            return
        await send(conn, **snap(1, 1, [["0.2000", "5.00"]]))
        await send(conn, **fill("after"))
        await conn.wait_closed()

    async with running(
        keys, script, subscriptions=[BOOK_SUB, Subscription(channels=("fill",))]
    ) as (
        server,
        client,
        sleeps,
    ):
        events = await collect_until(client, is_fill("after"))
        book = client.book(T)
    assert len(server.handshakes) == 2 and all(h["valid"] for h in server.handshakes)
    first, second = server.handshakes
    assert int(second["timestamp"]) > int(first["timestamp"])
    assert second["signature"] != first["signature"]
    for session in server.commands:  # every subscription sent again after the reconnect
        assert [c["params"]["channels"] for c in session] == [["orderbook_delta"], ["fill"]]
    kinds = [type(e).__name__ for e in events if not isinstance(e, BookUpdate)]
    assert kinds == [
        "ConnectionStatus",
        "BookInvalidated",
        "ConnectionStatus",
        "ConnectionStatus",
        "FillEvent",
    ]
    states = [e.state for e in events if isinstance(e, ConnectionStatus)]
    assert states == ["connected", "disconnected", "connected"]
    assert sleeps == [pytest.approx(0.0075)]  # initial 0.01 less jitter 0.5 * rng 0.5
    assert client.stats.connects == 2
    assert book is not None and book.yes == {2000: 500}


async def test_flood_keeps_queue_bounded_and_never_drops_fills(keys: tuple) -> None:
    deltas = 3000

    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=1)
        await send(conn, **snap(1, 1, [["0.4200", "10.00"]]))
        for i in range(deltas):
            await send(conn, **dlt(1, i + 2, "0.4200", "1.00" if i % 2 == 0 else "-1.00"))
            if i % 500 == 0:
                await send(conn, **fill(f"f-{i}"))
        await send(conn, **dlt(1, deltas + 2, "0.4100", "2.00"))
        await send(conn, **fill("last"))
        await conn.wait_closed()

    async with running(keys, script, queue_size=50) as (_, client, _):
        # slow consumer: read nothing until the whole flood went through the client
        async def flood_done() -> None:
            while client.stats.book_messages < deltas + 2:
                assert client.queued <= 50
                await asyncio.sleep(0.005)

        await asyncio.wait_for(flood_done(), 10)
        assert client.queued <= 50
        events = await collect_until(client, is_fill("last"))
        book = client.book(T)
    fills = [e.trade_id for e in events if isinstance(e, FillEvent)]
    assert fills == [f"f-{i}" for i in range(0, deltas, 500)] + ["last"]
    assert 40 < client.stats.queue_high_water <= 50
    dropped = client.stats.dropped
    assert set(dropped) == {"BookUpdate"} and dropped["BookUpdate"] > deltas - 100
    assert book is not None and book.yes == {4200: 1000, 4100: 200}


async def test_non_droppable_overflow_raises(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=9)
        for i in range(10):
            await send(conn, **fill(f"f-{i}"))
        await conn.wait_closed()

    subs = [Subscription(channels=("fill",))]
    async with running(keys, script, subscriptions=subs, queue_size=3, overflow_timeout=0.2) as (
        _,
        client,
        _,
    ):
        await asyncio.sleep(0.5)  # consumer asleep: the queue fills with fills
        received: list[WsEvent] = []
        with pytest.raises(EventQueueOverflow):
            async for event in client.events():
                received.append(event)
    assert isinstance(received[0], ConnectionStatus)
    assert [e.trade_id for e in received[1:] if isinstance(e, FillEvent)] == ["f-0", "f-1"]


async def test_server_error_becomes_an_event(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        command = await server.recv(conn)
        await send(conn, type="error", id=command["id"], msg={"code": 8, "msg": "Unknown channel"})
        await conn.wait_closed()

    async with running(keys, script, subscriptions=[Subscription(channels=("nope",))]) as (
        _,
        client,
        _,
    ):
        events = await collect_until(client, lambda e: isinstance(e, ServerError))
    error = events[-1]
    assert isinstance(error, ServerError)
    assert (error.code, error.message, error.command_id) == (8, "Unknown channel", 1)


async def test_rejected_handshake_retries_with_backoff_then_fails(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        raise AssertionError("never reached")

    async with running(keys, script, max_reconnect_attempts=2, backoff_jitter=0.0) as (
        server,
        client,
        sleeps,
    ):
        server.reject_all = True
        with pytest.raises(ConnectionFailed):
            await collect_until(client, lambda e: False)
    assert len(server.handshakes) == 3
    assert len({h["timestamp"] for h in server.handshakes}) == 3
    assert sleeps == [pytest.approx(0.01), pytest.approx(0.02)]
    assert not client.connected


async def test_unparseable_fill_is_kept_not_dropped(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=9)
        await send(conn, type="fill", sid=9, msg={"trade_id": "x", "is_taker": "maybe"})
        await send(conn, type="something_new", sid=9, msg={})
        await send(conn, type=["odd"], sid=9, msg={})
        await conn.send("not json")
        await conn.send("[" * 100_000 + "]" * 100_000)  # too deep: ignored, the loop goes on
        await send(conn, **fill("ok"))
        await conn.wait_closed()

    async with running(keys, script, subscriptions=[Subscription(channels=("fill",))]) as (
        _,
        client,
        _,
    ):
        events = await collect_until(client, is_fill("ok"))
    bad = [e for e in events if isinstance(e, UnparsedMessage)]
    assert len(bad) == 1 and bad[0].message_type == "fill" and "is_taker" in bad[0].error
    assert client.stats.unknown == {"something_new": 1, "['odd']": 1}


async def test_close_ends_events_and_runtime_subscribe(keys: tuple) -> None:
    async def script(conn: ServerConnection, server: FakeKalshi, session: int) -> None:
        await subscribed(conn, await server.recv(conn), sid=1)
        command = await server.recv(conn)
        assert command["params"] == {"channels": ["ticker"]}
        await subscribed(conn, command, sid=2)
        await conn.wait_closed()

    async with running(keys, script) as (server, client, _):
        await collect_until(client, lambda e: isinstance(e, ConnectionStatus))
        await client.subscribe(["ticker"])
        for _ in range(100):
            if len(server.commands[0]) == 2:
                break
            await asyncio.sleep(0.01)
        await client.close()
        assert [e async for e in client.events()] == []
    assert not client.connected
    assert len(server.commands[0]) == 2


# -- units -----------------------------------------------------------------------------------


def test_urls_and_validation() -> None:
    assert PROD_WS_URL == "wss://api.elections.kalshi.com/trade-api/ws/v2"
    assert DEMO_WS_URL == "wss://demo-api.kalshi.co/trade-api/ws/v2"
    with pytest.raises(ValueError):
        KalshiWebSocket("https://api.elections.kalshi.com/trade-api/ws/v2")
    with pytest.raises(ValueError):
        KalshiWebSocket(PROD_WS_URL, queue_size=0)
    with pytest.raises(ValueError):
        Subscription(channels=())


def test_handshake_timestamps_strictly_increase(keys: tuple) -> None:
    credentials, public_key = keys
    client = KalshiWebSocket(PROD_WS_URL, credentials, clock_ms=lambda: 1_000)
    first, second = client._handshake_headers(), client._handshake_headers()
    assert first is not None and second is not None
    assert (first[TIMESTAMP_HEADER], second[TIMESTAMP_HEADER]) == ("1000", "1001")
    for headers in (first, second):
        ts, sig = int(headers[TIMESTAMP_HEADER]), headers[SIGNATURE_HEADER]
        assert verify_signature(public_key, ts, "GET", PATH, sig)
    assert KalshiWebSocket(PROD_WS_URL)._handshake_headers() is None


def test_backoff_delay_grows_caps_and_jitters() -> None:
    delays = [
        backoff_delay(n, initial=0.5, maximum=4, jitter=0, rng=lambda: 0.9) for n in (1, 2, 3, 4, 5)
    ]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff_delay(1, initial=1, maximum=10, jitter=0.5, rng=lambda: 1.0) == 0.5
    assert backoff_delay(10_000, initial=1, maximum=30) <= 30


def test_headers_type_is_websockets_headers() -> None:
    """The fake server reads headers case-insensitively, as a real server does."""
    headers = Headers({"kalshi-access-key": KEY_ID})
    assert headers.get(KEY_HEADER) == KEY_ID

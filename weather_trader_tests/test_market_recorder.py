"""The Kalshi WebSocket client and the feed against the local exchange on real loopback.

The exchange's clock is simulated, so the crowd re-quotes (book deltas) exactly when the test
moves it; a forced ``seq`` gap exercises the client's resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from weather_trader.cli import main
from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.records import OrderRequest
from weather_trader.market_recorder import discover_markets, run_feed, websocket_url
from weather_trader.sim.exchange import (
    ExchangeClock,
    ExchangeState,
    create_key,
    run_exchange_in_thread,
)
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.errors import KalshiNotFound
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.ws import KalshiWebSocket
from weather_trader.sources.kalshi.ws_messages import Subscription
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import BookSnapshotRow

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 13:00 ET: the Nov 20 and Nov 21 events are open
EVENT = "KXHIGHNY-26NOV20"
DAY = timedelta(days=1)


@dataclass
class Local:
    """A running local exchange with a registered key."""

    origin: str
    credentials: KalshiCredentials

    @property
    def api(self) -> str:
        return f"{self.origin}/trade-api/v2"

    @property
    def ws(self) -> str:
        return self.origin.replace("http://", "ws://") + "/trade-api/ws/v2"

    def client(self) -> KalshiClient:
        return KalshiClient(self.api, self.credentials)

    def move_clock(self, at: datetime) -> None:
        headers = self.credentials.headers("PUT", "/sim/clock")
        body = {"now": at.isoformat()}
        httpx.put(f"{self.origin}/sim/clock", json=body, headers=headers).raise_for_status()

    def force_gap(self) -> None:
        headers = self.credentials.headers("POST", "/sim/ws/seq-gap")
        httpx.post(f"{self.origin}/sim/ws/seq-gap", headers=headers).raise_for_status()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    state = ExchangeState.create(home=tmp_path / "exchange", clock=ExchangeClock.simulated(T0))
    key_path = tmp_path / "key.pem"
    key_id = create_key(state.keys, key_path)
    with run_exchange_in_thread(state) as origin:
        yield Local(origin, KalshiCredentials.from_pem(key_id, key_path.read_bytes()))
    state.close()


async def until(condition: object, timeout: float = 5.0) -> None:
    """Wait until ``condition()`` holds (the client works in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def same_as_rest(ws: KalshiWebSocket, rest: KalshiClient, tickers: list[str]) -> bool:
    books = {b.ticker: b for b in rest.orderbooks(tickers)}
    for ticker in tickers:
        local = ws.book(ticker)
        if local is None:
            return False
        fields = local.snapshot_fields()
        if (fields["yes_bids"], fields["no_bids"]) != (
            books[ticker].yes_bids,
            books[ticker].no_bids,
        ):
            return False
    return True


async def test_ws_books_follow_rest_through_requotes_and_a_seq_gap(local: Local) -> None:
    rest = local.client()
    tickers = [m.ticker for m in rest.markets(event_ticker=EVENT)]
    sub = Subscription(channels=("orderbook_delta",), market_tickers=tuple(tickers))
    async with KalshiWebSocket(local.ws, local.credentials, [sub], backoff_initial=0.01) as ws:
        await until(lambda: all(ws.book(t) is not None for t in tickers))
        assert same_as_rest(ws, rest, tickers)

        for minute in (1, 2, 3):  # the crowd re-quotes every minute: deltas
            await asyncio.to_thread(local.move_clock, T0 + timedelta(minutes=minute))
            await until(lambda: same_as_rest(ws, rest, tickers))
        applied = ws.stats.book_messages
        assert applied > len(tickers)

        await asyncio.to_thread(local.force_gap)
        await asyncio.to_thread(local.move_clock, T0 + timedelta(minutes=4))
        await until(lambda: ws.stats.gaps == 1 and ws.stats.resyncs >= 1)
        await until(lambda: same_as_rest(ws, rest, tickers))  # rebuilt from a fresh snapshot


async def test_feed_records_books_and_trades(local: Local, engine: Engine) -> None:
    rest = local.client()
    markets = await asyncio.to_thread(discover_markets, rest)
    assert {m.climate_date for m in markets.values()} == {date(2026, 11, 20), date(2026, 11, 21)}
    assert {m.city for m in markets.values()} == set(CITIES)

    def connect(subscriptions: object) -> KalshiWebSocket:
        return KalshiWebSocket(local.ws, local.credentials, subscriptions, backoff_initial=0.01)  # type: ignore[arg-type]

    stop = asyncio.Event()
    feed = asyncio.create_task(
        run_feed(rest, connect, engine, flush_seconds=0.05, rediscover_seconds=0.2, stop=stop)
    )
    target = next(m for m in markets.values() if m.city == "NYC")

    def recorded(trades: int) -> bool:
        with session_scope(engine) as session:
            tape = repo.trades_for(session, target.ticker, T0 - timedelta(days=1), T0 + DAY)
            books = session.scalar(select(func.count()).select_from(BookSnapshotRow))
        return len(tape) == trades and books >= len(markets)

    await until(lambda: recorded(0), timeout=10)  # every market's first book is in
    # Someone buys YES from the crowd: a public trade the feed records.
    book = rest.orderbook(target.ticker)
    order = OrderRequest(
        client_order_id="feed-test-1", ticker=target.ticker, side="bid", count=3,
        price=book.yes_ask, time_in_force="immediate_or_cancel",
    )  # fmt: skip
    ack = await asyncio.to_thread(rest.create_order, order)
    assert ack.fill_count == Decimal(3)
    await asyncio.to_thread(local.move_clock, T0 + timedelta(minutes=1))
    await until(lambda: recorded(1), timeout=10)

    def books_match_the_exchange() -> bool:
        with session_scope(engine) as session:
            latest = repo.market_snapshots(session, "NYC", target.climate_date, target.kind)
        now = {b.ticker: b for b in rest.orderbooks([s.ticker for s in latest])}
        return all(s.yes_bids == now[s.ticker].yes_bids for s in latest)

    await until(books_match_the_exchange)  # the re-quoted books are recorded too

    # A day later the next day's events are listed: the feed finds and records them.
    await asyncio.to_thread(local.move_clock, T0 + DAY)

    def next_day_recorded() -> bool:
        with session_scope(engine) as session:
            return bool(repo.market_snapshots(session, "NYC", date(2026, 11, 22), "high"))

    await until(next_day_recorded, timeout=15)
    stop.set()
    await asyncio.wait_for(feed, 5)
    with session_scope(engine) as session:
        (trade,) = repo.trades_for(session, target.ticker, T0 - DAY, T0 + DAY)
    assert (trade.count, trade.yes_price, trade.taker_side) == (Decimal(3), book.yes_ask, "yes")


def test_feed_command_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path))
    for var in (
        "KALSHI_API_URL",
        "KALSHI_KEY_ID",
        "KALSHI_PRIVATE_KEY_PATH",
        "WEATHER_TRADER_MODE",
    ):
        monkeypatch.delenv(var, raising=False)
    assert main(["feed"]) == 2
    assert "the feed needs KALSHI_API_URL" in capsys.readouterr().err
    monkeypatch.setenv("KALSHI_API_URL", "http://127.0.0.1:9/trade-api/v2")
    monkeypatch.setenv("KALSHI_KEY_ID", "k")
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    assert main(["feed"]) == 2
    assert "cannot read the Kalshi private key" in capsys.readouterr().err


def test_websocket_url_sits_on_the_rest_host() -> None:
    assert websocket_url("https://api.elections.kalshi.com/trade-api/v2") == (
        "wss://api.elections.kalshi.com/trade-api/ws/v2"
    )
    assert websocket_url("http://127.0.0.1:8100/trade-api/v2/") == (
        "ws://127.0.0.1:8100/trade-api/ws/v2"
    )


def test_discovery_skips_a_series_the_exchange_cannot_list(
    local: Local, caplog: pytest.LogCaptureFixture
) -> None:
    class Flaky(KalshiClient):
        def markets(self, **filters: object) -> list:  # type: ignore[override]
            if filters.get("series_ticker") == "KXLOWTCHI":
                raise KalshiNotFound(404, "not_found", "market not found", "/markets")
            return super().markets(**filters)  # type: ignore[arg-type]

    markets = discover_markets(Flaky(local.api, local.credentials))
    assert {m.series_ticker for m in markets.values()} == {
        c.series(k) for c in CITIES.values() for k in KINDS
    } - {"KXLOWTCHI"}
    assert "cannot list KXLOWTCHI" in caplog.text

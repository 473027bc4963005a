"""The market feed: live books and trades from Kalshi's WebSocket into the database.

``weather-trader feed`` discovers the open markets of every registered city (REST), keeps their
books from ``orderbook_delta`` (snapshot + deltas, resynced on a sequence gap) and records,
about once a second, the top of book of every market that changed and every public trade. That
is the tick archive later backtests replay, and what ``trading_sensor`` compares with the prices
the last trading run used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from weather_trader.core.cities import CITIES, KINDS, parse_event_ticker
from weather_trader.core.records import MarketSnapshot, PublicTrade
from weather_trader.feed_metrics import FeedMetrics
from weather_trader.settings import Settings
from weather_trader.sources.kalshi.errors import KalshiError
from weather_trader.sources.kalshi.market_data import to_snapshot
from weather_trader.sources.kalshi.market_models import Orderbook
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.ws import KalshiWebSocket
from weather_trader.sources.kalshi.ws_messages import BookUpdate, Subscription, TradeEvent
from weather_trader.store import repo
from weather_trader.store.db import session_scope

logger = logging.getLogger(__name__)

CHANNELS = ("orderbook_delta", "trade")


def websocket_url(api_url: str) -> str:
    """Kalshi's WebSocket URL on the host of a REST base (``.../trade-api/v2``)."""
    base = api_url.rstrip("/").removesuffix("/trade-api/v2")
    return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/trade-api/ws/v2"


def discover_markets(client: KalshiClient) -> dict[str, MarketSnapshot]:
    """Every open market of the registered cities' series, as an empty-book snapshot by ticker.

    A series the exchange fails to list, or a market whose bracket cannot be read, is logged
    and skipped; the next discovery tries again.
    """
    now = datetime.now(UTC)
    out: dict[str, MarketSnapshot] = {}
    for city in CITIES.values():
        for kind in KINDS:
            series = city.series(kind)
            try:
                fee = client.get_series(series).fees.fee_multiplier
                markets = client.markets(series_ticker=series, status="open")
            except KalshiError as exc:
                logger.warning("feed: cannot list %s: %s", series, exc, extra={"series": series})
                continue
            for market in markets:
                try:
                    _, day = parse_event_ticker(market.ticker)
                    empty = Orderbook.empty(market.ticker)
                    snapshot = to_snapshot(market, empty, city.code, day, kind, now, fee)
                except ValueError as exc:  # BracketError too: an unreadable market is skipped
                    logger.warning("feed: skipping %s: %s", market.ticker, exc)
                    continue
                out[market.ticker] = snapshot
    return out


@dataclass
class FeedRecorder:
    """Collects book changes and trades, and writes them in one transaction per flush.

    Attributes:
        engine: The domain database.
        markets: Market definitions by ticker (books are filled in from the feed).
        dirty: Tickers whose book changed since the last flush.
        trades: Trades received since the last flush.
    """

    engine: Engine
    markets: dict[str, MarketSnapshot]
    dirty: set[str] = field(default_factory=set)
    trades: list[PublicTrade] = field(default_factory=list)

    def on_trade(self, event: TradeEvent, now: datetime) -> None:
        """Buffer a public trade (one without an id cannot be de-duplicated and is skipped)."""
        if event.trade_id is None or event.market_ticker not in self.markets:
            return
        side = event.taker_side if event.taker_side in ("yes", "no") else "yes"
        self.trades.append(
            PublicTrade(
                trade_id=event.trade_id,
                ticker=event.market_ticker,
                traded_at=event.ts or now,
                yes_price=event.yes_price,
                count=event.count,
                taker_side=side,
            )
        )

    def flush(self, books: Callable[[str], object | None], now: datetime) -> tuple[int, int]:
        """Write the changed books (as of ``now``) and the buffered trades.

        Args:
            books: The feed's current book of a ticker (None while it is being resynced).
            now: The capture time of the books.

        Returns:
            ``(book snapshots written, trades newly recorded)``.
        """
        snapshots: dict[tuple[str, object], list[MarketSnapshot]] = {}
        for ticker in sorted(self.dirty):
            book = books(ticker)
            if book is None:
                continue  # resyncing: the fresh snapshot marks it dirty again
            market = self.markets[ticker]
            snap = market.model_copy(update={**book.snapshot_fields(), "captured_at": now})
            snapshots.setdefault((snap.city, snap.climate_date), []).append(snap)
        with session_scope(self.engine) as session:
            written = sum(
                repo.replace_markets(session, city, day, snaps)
                for (city, day), snaps in snapshots.items()
            )
            recorded = repo.append_trades(session, self.trades)
        self.dirty.clear()
        self.trades.clear()
        return written, recorded


async def run_feed(
    client: KalshiClient,
    ws: Callable[[Iterable[Subscription]], KalshiWebSocket],
    engine: Engine,
    *,
    flush_seconds: float = 1.0,
    rediscover_seconds: float = 900.0,
    stop: asyncio.Event | None = None,
    metrics: FeedMetrics | None = None,
) -> None:
    """Record books and trades until ``stop`` is set (or forever).

    Args:
        client: REST client, for discovering the markets.
        ws: Builds the WebSocket client for the given subscriptions.
        engine: The domain database.
        flush_seconds: How often changed books and new trades are written.
        rediscover_seconds: How often newly listed markets are looked for and subscribed.
        stop: Set it to end the feed after a last flush.
        metrics: Where to count; when None, a new registry served on
            ``127.0.0.1:$WEATHER_TRADER_FEED_METRICS_PORT`` (unless that is 0).
    """
    if metrics is None:
        metrics = FeedMetrics()
        port = Settings.from_env().feed_metrics_port
        if port:
            metrics.serve(port)
    markets = await asyncio.to_thread(discover_markets, client)
    metrics.markets.set(len(markets))
    if not markets:
        logger.warning("feed: no open markets of the registered cities")
    recorder = FeedRecorder(engine, markets)
    stop = stop or asyncio.Event()
    async with ws([Subscription(channels=CHANNELS, market_tickers=tuple(sorted(markets)))]) as feed:
        metrics.attach(feed)
        events = feed.events()

        async def consume() -> None:
            async for event in events:
                if isinstance(event, BookUpdate) and event.market_ticker in markets:
                    recorder.dirty.add(event.market_ticker)
                elif isinstance(event, TradeEvent):
                    recorder.on_trade(event, datetime.now(UTC))

        consumer = asyncio.create_task(consume())
        loop = asyncio.get_running_loop()
        next_discovery = loop.time() + rediscover_seconds
        try:
            while not stop.is_set():
                if loop.time() >= next_discovery:
                    next_discovery = loop.time() + rediscover_seconds
                    listed = await asyncio.to_thread(discover_markets, client)
                    new = sorted(set(listed) - set(markets))
                    markets.update(listed)
                    metrics.markets.set(len(markets))
                    if new:
                        await feed.subscribe(CHANNELS, new)
                        logger.info("feed: %d new markets", len(new), extra={"new": len(new)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), flush_seconds)
                if consumer.done():
                    consumer.result()  # re-raise what ended the stream
                    break
                written, recorded = recorder.flush(feed.book, datetime.now(UTC))
                metrics.recorded(written, recorded)
                if written or recorded:
                    logger.info(
                        "feed: %d books, %d trades recorded",
                        written,
                        recorded,
                        extra={"books": written, "trades": recorded},
                    )
            metrics.recorded(*recorder.flush(feed.book, datetime.now(UTC)))
        finally:
            consumer.cancel()

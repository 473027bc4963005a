"""The feed's own metrics: WebSocket counters read at scrape time, writes counted per flush,
served over HTTP on a loopback port."""

from __future__ import annotations

import asyncio
import math
import socket
import urllib.request
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from weather_trader.feed_metrics import FeedMetrics
from weather_trader.market_recorder import run_feed
from weather_trader.sources.kalshi.ws import KalshiWebSocket
from weather_trader.sources.kalshi.ws_queue import WsStats
from weather_trader_tests.test_market_recorder import Local, local, until

__all__ = ["local"]  # the local exchange fixture, shared with the recorder's tests


@dataclass
class FakeFeed:
    stats: WsStats = field(default_factory=WsStats)
    connected: bool = True


def samples(metrics: FeedMetrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return out


def test_before_any_connection_the_feed_is_down_and_infinitely_stale() -> None:
    got = samples(FeedMetrics(clock=lambda: 1000.0))
    assert got["weather_trader_feed_connected"] == 0
    assert math.isinf(got["weather_trader_feed_last_message_age_seconds"])
    assert got["weather_trader_feed_messages_total"] == 0
    assert got["weather_trader_feed_books_recorded_total"] == 0


def test_counters_follow_the_websocket_and_the_flushes() -> None:
    now = [1000.0]
    metrics = FeedMetrics(clock=lambda: now[0])
    feed = FakeFeed()
    metrics.attach(feed)
    feed.stats.connects, feed.stats.messages, feed.stats.gaps = 2, 40, 1
    feed.stats.dropped["BookUpdate"] = 3
    metrics.recorded(books=5, trades=2)
    metrics.markets.set(12)
    now[0] = 1030.0
    got = samples(metrics)
    assert got["weather_trader_feed_connected"] == 1
    assert got["weather_trader_feed_connects_total"] == 2
    assert got["weather_trader_feed_messages_total"] == 40
    assert got["weather_trader_feed_gaps_total"] == 1
    assert got["weather_trader_feed_dropped_events_total{event=BookUpdate}"] == 3
    assert got["weather_trader_feed_books_recorded_total"] == 5
    assert got["weather_trader_feed_trades_recorded_total"] == 2
    assert got["weather_trader_feed_markets"] == 12
    assert got["weather_trader_feed_last_message_age_seconds"] == 30.0
    feed.stats.messages += 1  # a new message seen at the next scrape
    assert samples(metrics)["weather_trader_feed_last_message_age_seconds"] == 0.0
    feed.connected = False
    assert samples(metrics)["weather_trader_feed_connected"] == 0


def test_metrics_are_served_over_http_on_loopback() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = FeedMetrics()
    assert metrics.serve(port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert "weather_trader_feed_connected 0.0" in body
    assert not FeedMetrics().serve(port)  # taken: the feed logs and carries on


async def test_run_feed_counts_what_it_records(local: Local, engine: Engine) -> None:
    """The real feed against the local exchange: connected, messages, books recorded."""
    metrics = FeedMetrics()

    def connect(subscriptions: object) -> KalshiWebSocket:
        return KalshiWebSocket(local.ws, local.credentials, subscriptions, backoff_initial=0.01)  # type: ignore[arg-type]

    stop = asyncio.Event()
    feed = asyncio.create_task(
        run_feed(local.client(), connect, engine, flush_seconds=0.05, stop=stop, metrics=metrics)
    )

    def recording() -> bool:
        got = samples(metrics)
        return (
            got["weather_trader_feed_books_recorded_total"] > 0
            and got["weather_trader_feed_connected"] == 1
        )

    await until(recording, timeout=10)
    stop.set()
    await asyncio.wait_for(feed, 5)
    got = samples(metrics)
    assert got["weather_trader_feed_markets"] > 0
    assert got["weather_trader_feed_messages_total"] > 0
    assert got["weather_trader_feed_connects_total"] == 1
    assert got["weather_trader_feed_last_message_age_seconds"] < 60

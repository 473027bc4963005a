"""Prometheus metrics of ``weather-trader feed`` (the market recorder), on their own registry.

The feed is a long-running process, so it exports live counters itself: ``run_feed`` serves
them on ``127.0.0.1:$WEATHER_TRADER_FEED_METRICS_PORT`` (default 9101, 0 disables), scraped by
Prometheus's ``weather-trader-feed`` job. The WebSocket client's :class:`WsStats` are read at
scrape time (cumulative over reconnects); books and trades recorded are counted at each flush.

Families (all prefixed ``weather_trader_feed_``): ``connected``, ``connects_total``,
``messages_total``, ``book_messages_total``, ``gaps_total``, ``resyncs_total``,
``dropped_events_total{event}``, ``last_message_timestamp_seconds``,
``last_message_age_seconds`` (+Inf before the first message), ``markets``,
``books_recorded_total``, ``trades_recorded_total``, ``flushes_total``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from weather_trader.sources.kalshi.ws_queue import WsStats

logger = logging.getLogger(__name__)

PREFIX = "weather_trader_feed"
DEFAULT_ADDR = "127.0.0.1"


class FeedSource(Protocol):
    """What the metrics read of the WebSocket client."""

    stats: WsStats

    @property
    def connected(self) -> bool: ...


class _WsCollector(Collector):
    """Reads the current WebSocket client's counters on each scrape."""

    def __init__(self, metrics: FeedMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        source = self._metrics.source
        stats = source.stats if source is not None else WsStats()
        yield GaugeMetricFamily(
            f"{PREFIX}_connected",
            "1 while the Kalshi WebSocket is connected.",
            value=1 if source is not None and source.connected else 0,
        )
        for name, value, help_text in (
            ("connects", stats.connects, "Successful WebSocket handshakes (reconnects count)."),
            ("messages", stats.messages, "WebSocket messages received."),
            ("book_messages", stats.book_messages, "Book snapshots and deltas applied."),
            ("gaps", stats.gaps, "Sequence gaps detected on book subscriptions."),
            ("resyncs", stats.resyncs, "Book subscriptions re-subscribed (gaps, invalid books)."),
        ):
            yield CounterMetricFamily(f"{PREFIX}_{name}", help_text, value=value)
        dropped = CounterMetricFamily(
            f"{PREFIX}_dropped_events",
            "Market-data events dropped by the full event queue, by event class.",
            labels=["event"],
        )
        for event, count in sorted(stats.dropped.items()):
            dropped.add_metric([event], count)
        yield dropped
        self._metrics.observe(stats.messages)
        last = self._metrics.last_message_at
        yield GaugeMetricFamily(
            f"{PREFIX}_last_message_timestamp_seconds",
            "Unix time the feed last saw a WebSocket message (0 before the first).",
            value=last or 0.0,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_last_message_age_seconds",
            "Seconds since the last WebSocket message (+Inf before the first).",
            value=math.inf if last is None else max(0.0, self._metrics.clock() - last),
        )


class FeedMetrics:
    """The feed's metrics on a dedicated :class:`CollectorRegistry`.

    Args:
        clock: Unix time now (tests pin it).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        self.source: FeedSource | None = None
        self.last_message_at: float | None = None
        self._messages_seen = 0
        self.markets = Gauge(
            f"{PREFIX}_markets", "Markets the feed is subscribed to.", registry=self.registry
        )
        self.books_recorded = Counter(
            f"{PREFIX}_books_recorded",
            "Book snapshots written to the database.",
            registry=self.registry,
        )
        self.trades_recorded = Counter(
            f"{PREFIX}_trades_recorded",
            "Public trades newly written to the database.",
            registry=self.registry,
        )
        self.flushes = Counter(
            f"{PREFIX}_flushes",
            "Flushes of books and trades to the database.",
            registry=self.registry,
        )
        self.registry.register(_WsCollector(self))

    def attach(self, source: FeedSource) -> None:
        """Read the counters of this WebSocket client from now on."""
        self.source = source

    def observe(self, messages: int) -> None:
        """Note the message count; a change since the last call stamps ``last_message_at``."""
        if messages != self._messages_seen:
            self._messages_seen = messages
            self.last_message_at = self.clock()

    def recorded(self, books: int, trades: int) -> None:
        """Count one flush's writes (and note the messages seen so far)."""
        self.flushes.inc()
        self.books_recorded.inc(books)
        self.trades_recorded.inc(trades)
        if self.source is not None:
            self.observe(self.source.stats.messages)

    def serve(self, port: int, addr: str = DEFAULT_ADDR) -> bool:
        """Serve ``/metrics`` on ``addr:port`` in a daemon thread; False if it cannot bind."""
        try:
            start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            logger.warning(
                "feed: cannot serve metrics on %s:%d: %s", addr, port, exc, extra={"port": port}
            )
            return False
        logger.info("feed: metrics on http://%s:%d/metrics", addr, port, extra={"port": port})
        return True

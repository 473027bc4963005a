"""Prometheus metrics of the sidecar, on a registry private to each app instance."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.dagster_runs import (
    RUN_STATUSES,
    DagsterRunReader,
    DagsterRunsSnapshot,
)
from weather_trader.core.cities import CITIES
from weather_trader.core.records import OrderStatus
from weather_trader.store.repo_metrics import ModelStatus, ProviderFetches, TradingCounts

ORDER_STATUSES = ("pending", *get_args(OrderStatus))
"""Order statuses always exported (0 when none), so a rule on rejects has a series."""
WEATHER_PROVIDERS = ("nws", "open-meteo", "iem", "aviationweather")
"""Providers always exported; a provider never fetched has payload age +Inf."""
INF = float("inf")

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "weather_trader"


@dataclass(frozen=True)
class DomainSnapshot:
    """Domain figures exported as gauges, computed from the database at scrape time.

    Attributes:
        open_positions: Number of positions with a non-zero contract count.
        pnl_total: Realized P&L in dollars over all time.
        pnl_today: Realized P&L in dollars for today's (UTC) settlements.
        bankroll: Bankroll in dollars.
        daily_loss_limit: Daily realized loss limit in dollars.
        outbox_head_event_id: Latest event id in the outbox table (0 when empty).
        reconciliation_mismatches: Positions found to differ from the exchange's, ever (each
            one halted trading on its market).
        latest: Per data product, the latest timestamp (None when the table is empty).
        weather: Stored weather responses per provider.
        trading: Orders by status, fills, open exposure.
        model: The latest model version and recent Brier scores.
    """

    open_positions: int
    pnl_total: Decimal
    pnl_today: Decimal
    bankroll: Decimal
    daily_loss_limit: Decimal
    outbox_head_event_id: int
    reconciliation_mismatches: int = 0
    latest: dict[str, datetime | None] = field(default_factory=dict)
    weather: dict[str, ProviderFetches] = field(default_factory=dict)
    trading: TradingCounts | None = None
    model: ModelStatus | None = None


class DomainCollector(Collector):
    """Collects domain gauges by querying the database on each scrape.

    Args:
        snapshot: Returns the current figures; any exception marks the database as down.
        clock: Returns "now" (UTC), for ages.
    """

    def __init__(
        self,
        snapshot: Callable[[], DomainSnapshot],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._snapshot = snapshot
        self._clock = clock

    def describe(self) -> list[Metric]:
        """No up-front description: the families are produced by the database query."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield the domain gauges, or only ``database_up 0`` when the query fails."""
        up = GaugeMetricFamily(
            f"{PREFIX}_database_up", "1 when the domain database answered the last scrape."
        )
        try:
            snap = self._snapshot()
        except Exception as exc:  # a scrape must never fail because the DB does
            logger.warning("domain metrics query failed", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            f"{PREFIX}_open_positions",
            "Open positions (non-zero contract count).",
            value=snap.open_positions,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_pnl_total_dollars",
            "Realized P&L over all time.",
            value=float(snap.pnl_total),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_pnl_today_dollars",
            "Realized P&L of settlements dated today (UTC).",
            value=float(snap.pnl_today),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_bankroll_dollars", "Configured bankroll.", value=float(snap.bankroll)
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_daily_loss_limit_dollars",
            "Configured daily realized loss limit.",
            value=float(snap.daily_loss_limit),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_head_event_id",
            "Latest event id in the outbox table.",
            value=snap.outbox_head_event_id,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_reconciliation_mismatches",
            "Stored positions found to differ from the exchange's (each halts its market).",
            value=snap.reconciliation_mismatches,
        )
        now = self._clock()
        age = GaugeMetricFamily(
            f"{PREFIX}_data_age_seconds",
            "Seconds since the latest row of each data product.",
            labels=["product"],
        )
        stamp = GaugeMetricFamily(
            f"{PREFIX}_data_latest_timestamp_seconds",
            "Unix time of the latest row of each data product.",
            labels=["product"],
        )
        for product, latest in sorted(snap.latest.items()):
            if latest is None:
                age.add_metric([product], INF)  # an empty table is infinitely stale
                continue
            age.add_metric([product], max(0.0, (now - latest).total_seconds()))
            stamp.add_metric([product], latest.timestamp())
        yield age
        yield stamp
        yield from self._weather(snap, now)
        yield from self._trading(snap)
        yield from self._model(snap, now)

    def _weather(self, snap: DomainSnapshot, now: datetime) -> Iterator[Metric]:
        fetches = CounterMetricFamily(
            f"{PREFIX}_weather_fetches",
            "Weather responses stored per provider (raw_payloads; identical bodies once).",
            labels=["provider"],
        )
        failures = CounterMetricFamily(
            f"{PREFIX}_weather_fetch_failures",
            "Weather responses stored per provider with an HTTP status >= 400.",
            labels=["provider"],
        )
        age = GaugeMetricFamily(
            f"{PREFIX}_weather_payload_age_seconds",
            "Seconds since the latest stored response of each provider (+Inf when none).",
            labels=["provider"],
        )
        for provider in sorted(set(WEATHER_PROVIDERS) | set(snap.weather)):
            got = snap.weather.get(provider, ProviderFetches(0, 0, None))
            fetches.add_metric([provider], got.fetches)
            failures.add_metric([provider], got.failures)
            seconds = INF if got.latest is None else (now - got.latest).total_seconds()
            age.add_metric([provider], max(0.0, seconds))
        yield from (fetches, failures, age)

    def _trading(self, snap: DomainSnapshot) -> Iterator[Metric]:
        counts = snap.trading or TradingCounts({}, 0, 0, Decimal(0))
        orders = CounterMetricFamily(
            f"{PREFIX}_orders", "Orders recorded, by current status.", labels=["status"]
        )
        for status in sorted(set(ORDER_STATUSES) | set(counts.orders)):
            orders.add_metric([status], counts.orders.get(status, 0))
        yield orders
        yield CounterMetricFamily(f"{PREFIX}_fills", "Fills recorded.", value=counts.fills)
        yield CounterMetricFamily(
            f"{PREFIX}_filled_contracts", "Contracts filled.", value=counts.filled_contracts
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_open_exposure_dollars",
            "Cost of open, unsettled positions.",
            value=float(counts.open_exposure),
        )

    def _model(self, snap: DomainSnapshot, now: datetime) -> Iterator[Metric]:
        model = snap.model or ModelStatus(None, None, None, None, 0)
        created = model.created_at
        yield GaugeMetricFamily(
            f"{PREFIX}_model_age_seconds",
            "Seconds since the latest model version was trained (+Inf when there is none).",
            value=INF if created is None else max(0.0, (now - created).total_seconds()),
        )
        info = GaugeMetricFamily(
            f"{PREFIX}_model_info", "The latest model version (value 1).", labels=["version"]
        )
        if model.version is not None:
            info.add_metric([model.version], 1)
        yield info
        brier = GaugeMetricFamily(
            f"{PREFIX}_brier_score",
            "Mean event Brier over the settled events of the last 14 days (lower is better), "
            "of our probabilities (scorer=model) and the market's (scorer=market).",
            labels=["scorer"],
        )
        if model.brier_model is not None and model.brier_market is not None:
            brier.add_metric(["model"], model.brier_model)
            brier.add_metric(["market"], model.brier_market)
        yield brier
        yield GaugeMetricFamily(
            f"{PREFIX}_scored_events",
            "Settled events scored over the last 14 days.",
            value=model.events_scored,
        )


class DagsterRunsCollector(Collector):
    """Collects Dagster's unfinished runs by status and its pools' slots on each scrape.

    ``weather_trader_dagster_runs{status="queued"}`` piling up means runs wait for capacity
    (e.g. a dead run holding the only ``kalshi_api`` slot): the ``DagsterRunsQueued`` alert.

    Args:
        snapshot: Reads the instance (see :class:`api.dagster_runs.DagsterRunReader`); None
            when no instance is configured, which exports the families without samples.
        clock: Unix time now, for ages.
    """

    def __init__(
        self,
        snapshot: Callable[[], DagsterRunsSnapshot] | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._snapshot = snapshot
        self._clock = clock

    def describe(self) -> list[Metric]:
        """No up-front description: the families are produced by reading the instance."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield the Dagster gauges; ``dagster_up 0`` alone when the instance cannot be read."""
        up = GaugeMetricFamily(
            f"{PREFIX}_dagster_up", "1 when the Dagster instance answered the last scrape."
        )
        runs = GaugeMetricFamily(
            f"{PREFIX}_dagster_runs",
            "Dagster runs by unfinished status (queued, not_started, starting, started, "
            "canceling).",
            labels=["status"],
        )
        pool_limit = GaugeMetricFamily(
            f"{PREFIX}_dagster_pool_slots",
            "Slots of each Dagster concurrency pool.",
            labels=["pool"],
        )
        pool_claimed = GaugeMetricFamily(
            f"{PREFIX}_dagster_pool_claimed_slots",
            "Slots of each Dagster pool held by a run's step.",
            labels=["pool"],
        )
        pool_pending = GaugeMetricFamily(
            f"{PREFIX}_dagster_pool_pending_steps",
            "Steps waiting for a slot of each Dagster pool (not yet assigned one).",
            labels=["pool"],
        )
        finished = CounterMetricFamily(
            f"{PREFIX}_dagster_finished_runs",
            "Finished Dagster runs by job and status (success, failure, canceled).",
            labels=["dagster_job", "status"],
        )
        duration = GaugeMetricFamily(
            f"{PREFIX}_dagster_run_duration_seconds",
            "Start-to-end seconds of each job's latest finished run.",
            labels=["dagster_job"],
        )
        success = GaugeMetricFamily(
            f"{PREFIX}_dagster_last_success_timestamp_seconds",
            "Unix end time of each job's latest successful run.",
            labels=["dagster_job"],
        )
        trading_age = GaugeMetricFamily(
            f"{PREFIX}_trading_last_success_age_seconds",
            "Seconds since the latest successful trading_job run of each city "
            "(+Inf when it never succeeded).",
            labels=["city"],
        )
        tick_failures = GaugeMetricFamily(
            f"{PREFIX}_dagster_tick_failures",
            "Failed ticks among the latest 20 of each sensor and schedule.",
            labels=["instigator", "type"],
        )
        ticks = GaugeMetricFamily(
            f"{PREFIX}_dagster_ticks",
            "Ticks read (up to the latest 20) of each sensor and schedule.",
            labels=["instigator", "type"],
        )
        snap = None
        if self._snapshot is not None:
            try:
                snap = self._snapshot()
            except Exception as exc:  # a scrape must never fail because Dagster's storage does
                logger.warning("dagster metrics query failed", extra={"error": type(exc).__name__})
                up.add_metric([], 0)
            else:
                up.add_metric([], 1)
        if snap is not None:
            for status in RUN_STATUSES:
                runs.add_metric([status.lower()], snap.runs.get(status.lower(), 0))
            for name, pool in sorted(snap.pools.items()):
                pool_limit.add_metric([name], pool.limit)
                pool_claimed.add_metric([name], pool.claimed)
                pool_pending.add_metric([name], pool.pending)
            for (job, status), count in sorted(snap.finished.items()):
                finished.add_metric([job, status], count)
            for job, seconds in sorted(snap.last_duration.items()):
                duration.add_metric([job], seconds)
            for job, stamp in sorted(snap.last_success.items()):
                success.add_metric([job], stamp)
            now = self._clock()
            for city in sorted(set(CITIES) | set(snap.trading_success)):
                end = snap.trading_success.get(city)
                trading_age.add_metric([city], INF if end is None else max(0.0, now - end))
            for name, tick in sorted(snap.ticks.items()):
                tick_failures.add_metric([name, tick.kind], tick.failures)
                ticks.add_metric([name, tick.kind], tick.ticks)
        yield from (up, runs, pool_limit, pool_claimed, pool_pending)
        yield from (finished, duration, success, trading_age, tick_failures, ticks)


class SidecarMetrics:
    """The sidecar's metrics on a dedicated :class:`CollectorRegistry`.

    Args:
        snapshot: Computes the domain figures at scrape time (see :class:`DomainCollector`).
        dagster_runs: Reads Dagster's runs and pools at scrape time (see
            :class:`DagsterRunsCollector`); when None, the instance of ``$DAGSTER_HOME`` if
            that is set and ``dagster_from_env``.
        dagster_from_env: Whether to fall back on ``$DAGSTER_HOME``'s instance.
    """

    def __init__(
        self,
        snapshot: Callable[[], DomainSnapshot],
        dagster_runs: Callable[[], DagsterRunsSnapshot] | None = None,
        *,
        dagster_from_env: bool = True,
    ) -> None:
        if dagster_runs is None and dagster_from_env:
            dagster_runs = DagsterRunReader.from_env()
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            f"{PREFIX}_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.ws_clients = Gauge(
            f"{PREFIX}_websocket_clients", "Connected WebSocket clients.", registry=self.registry
        )
        self.ws_events_sent = Counter(
            f"{PREFIX}_websocket_events_sent_total",
            "Events sent to WebSocket clients.",
            registry=self.registry,
        )
        self.ws_disconnects = Counter(
            f"{PREFIX}_websocket_disconnects_total",
            "WebSocket disconnections by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.outbox_last_event_id = Gauge(
            f"{PREFIX}_outbox_last_event_id",
            "Id of the latest event seen by the outbox tailer.",
            registry=self.registry,
        )
        self.outbox_poll_errors = Counter(
            f"{PREFIX}_outbox_poll_errors_total",
            "Failed polls of the events outbox.",
            registry=self.registry,
        )
        self.registry.register(DomainCollector(snapshot))
        self.registry.register(DagsterRunsCollector(dagster_runs))

    def render(self) -> bytes:
        """The exposition text of every metric (queries the database; call off the loop)."""
        return generate_latest(self.registry)


UNMATCHED = "<unmatched>"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(scope: Scope, matched: str | None = None) -> str:
    """The route template a request matched, for the ``route`` label.

    FastAPI's API routes leave themselves in ``scope["route"]`` (``/api/overview``); plain
    routes (``/docs``, ``/openapi.json``) and mounts (``/static``: one label for every file)
    are found by ``matched`` (see :func:`plain_route`); anything else is ``<unmatched>``, so
    label cardinality stays bounded.
    """
    route = scope.get("route")
    if getattr(route, "path", None):
        return str(route.path)
    return matched or UNMATCHED


def plain_route(scope: Scope) -> str | None:
    """The path of the app's top-level route or mount fully matching ``scope`` (matched before
    dispatch: a mount rewrites the scope's root path as it dispatches)."""
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", ()):
        path = getattr(candidate, "path", None)
        if path and candidate.matches(dict(scope))[0] is Match.FULL:
            return str(path)
    return None


class MetricsMiddleware:
    """ASGI middleware counting HTTP requests and their latency by route template.

    The route label is the matched route's path template (``/api/overview``), never the raw
    path, so label cardinality stays bounded; unmatched paths are labelled ``<unmatched>``.

    Args:
        app: The wrapped ASGI app.
        metrics: Where to record.
    """

    def __init__(self, app: ASGIApp, metrics: SidecarMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time and count one HTTP request; other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        matched = plain_route(scope)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            label = route_label(scope, matched)
            method = scope.get("method", "GET")
            method = method if method in HTTP_METHODS else "OTHER"  # bounded label values
            self.metrics.http_requests.labels(method, label, str(status)).inc()
            self.metrics.http_latency.labels(method, label).observe(time.perf_counter() - start)

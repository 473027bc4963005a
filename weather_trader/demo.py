"""``weather-trader demo``: the whole loop offline, for every series, through a real Dagster
instance, in under five minutes on two cores.

What it does, in order (every city the registry verifies: all 20 cities of ``core.cities``,
high and low markets, so 40 series; defaults ``--days 14 --history-days 365``):

1. Starts the local Kalshi exchange (loopback, a thread of this process) and runs
   ``registry_job`` against it: the series are discovered through ``GET /series`` and the
   events' rules text, reconciled with the station table, stored, and every city with a
   verified series becomes a city partition. The demo trades those cities.
2. Backfills ``history_days`` of the simulated world's point-in-time archive
   (``archive_backfill_job``) and records the sim market over the same days as a market
   recorder would (each event's markets, and one trade per bracket at its book's mid just
   before the decision instant: the sim has no trade tape of its own, so the mid stands in for
   the hour's traded price).
3. Fits the forecast models (climatology and EMOS, their stack and the pool with the market;
   ``model_job``) and their walk-forward evaluation on history that ends before the first traded
   day (no look-ahead).
4. Replays the last ``days`` settled climate days through the partitioned graph
   (``pipeline_job``): trading goes through the Kalshi client (REST, signed V2 orders) to the
   local exchange, whose clock the replay winds to each decision; a city is traded on model
   edge only where the evaluation measured ours beating the sim market. It prints a summary
   per city and the measured edges.

How it stays fast: every run covers a range of partitions spanning many cities at once
(``defs.partitions.city_day_ranges``: the rectangle of cities x days between two keys), never
one run per city or city-day; Dagster records one planned event per asset of such a run instead
of one per partition (``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``, set for the demo's
process only); the client uses the largest API tier's rate limits, since the local exchange
enforces none; and two lanes use the two cores: a worker process backfills and records half of
the cities while this process does the other half, then evaluates the models while this process
fits them and materialises the weather and market half of the replay. Decisions, orders and
settlements run last, in one run over every city: the risk state spans cities and the exchange
has one clock. Seven runs in all (the registry, two backfills, two model runs, two replay runs).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dagster import AssetKey, DagsterInstance, Definitions
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from sqlalchemy import Engine

from weather_trader.core.cities import KINDS
from weather_trader.core.gating import MeasuredEdge
from weather_trader.core.instants import parse_instant
from weather_trader.core.ports import MarketData
from weather_trader.core.records import MarketSnapshot, PublicTrade
from weather_trader.definitions import build_definitions
from weather_trader.defs.forecasting.models import EVALUATION, MODEL_ASSETS
from weather_trader.defs.partitions import city_day_ranges, registered_cities
from weather_trader.home import prepare_home
from weather_trader.settings import Settings
from weather_trader.sim.exchange import ExchangeState, run_exchange_in_thread
from weather_trader.sim.exchange.control import SimExchangeControl
from weather_trader.sim.exchange.keys import local_key
from weather_trader.sim.world import build_sim
from weather_trader.store import repo
from weather_trader.store._util import insert_ignoring_duplicates
from weather_trader.store.db import make_engine, migrate, session_scope
from weather_trader.store.models import MarketRow
from weather_trader.store.repo_scores import CitySummary, city_summary

DEFAULT_DAYS = 14
"""Climate days traded by default: two weeks of 20 cities keep the demo under five minutes."""
DEFAULT_HISTORY_DAYS = 365
"""Archive days the models learn from: a year, so they have seen every season's biases (on
June-November only they had not seen the sim's winter biases: MIA weather Brier 1.19 in
November, 0.76 with a year)."""
# A climate day's final report is out by about 07:00 local standard time the next morning
# (15:00 UTC in Los Angeles); the demo trades only days every city has settled.
FINAL_REPORT_LAG = timedelta(hours=16)
# Runs are logged in full in the Dagster instance; the terminal shows warnings and errors only.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEMO_COMPONENTS = ["climatology", "emos"]
"""The demo fits climatology and EMOS only: XGBoost's fits (about 15 s each on a busy 2-core
machine, a dozen of them in the walk-forward) would take the demo far past five minutes.
``model_job`` fits all three by default."""
DEMO_INSTANTS = ["D-1 10:00"]
"""The replay decides each day at 10:00 local standard time the day before
(``core.climate_day.decision_time``): the models are fitted, and their edge measured, there."""
TRADE_LEAD = timedelta(minutes=5)
"""How long before the decision instant the recorded stand-in trade is printed."""
DEMO_API_TIER = "prime"
"""The local exchange enforces no rate limit: the client uses the largest tier's buckets."""
SUBSET_PLANNED_EVENTS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
"""Dagster's switch for one planned event per asset of a range run (instead of one per
partition, about a third of a range run's event writes). Its cost: a range run that fails does
not mark each of its partitions failed; the run itself shows the failure."""
ARCHIVE_POOL = "weather_api"
"""The pool of ``weather_archive`` (one step at a time by default, for the real APIs' rate
limits); the sim's history has none, so the demo's two backfill lanes get a slot each."""
REPLAY_MARKET_ASSETS = (
    "forecast_snapshots",
    "intraday_observations",
    "climate_reports",
    "kalshi_markets",
    "temperature_distribution",
    "bracket_probabilities",
)
"""The first part of the replay: weather, markets and bracket prices (needs the fitted models,
not their evaluation)."""
REPLAY_TRADING_ASSETS = ("trade_decisions", "orders", "settlements", "forecast_scores")
"""The second part: decisions (gated on the evaluation), orders, settlement and scores."""


@dataclass(frozen=True)
class RangeRun:
    """One run of ``job`` over the partitions between ``first`` and ``last`` (unpartitioned
    when both are None), of ``assets`` only when given."""

    job: str
    first: str | None = None
    last: str | None = None
    assets: tuple[str, ...] | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """How the demo's log names the run."""
        what = f"{self.job} {self.first}..{self.last}" if self.first else self.job
        return f"{what} [{len(self.assets)} assets]" if self.assets else what


@dataclass(frozen=True)
class Recording:
    """Record the sim market of ``cities`` over ``start..end`` (:func:`record_market_history`)."""

    cities: tuple[str, ...]
    start: date
    end: date

    def label(self) -> str:
        """How the demo's log names the recording."""
        return f"market recording {self.cities[0]}..{self.cities[-1]}"


Step = RangeRun | Recording


@dataclass(frozen=True)
class Window:
    """The demo's days: the archive ``history_start..start-1`` and the traded ``start..end``."""

    history_start: date
    start: date
    end: date

    @classmethod
    def ending(cls, end: date, days: int, history_days: int) -> Window:
        """``days`` traded days up to ``end`` after ``history_days`` of archive."""
        start = end - timedelta(days=days - 1)
        return cls(start - timedelta(days=history_days), start, end)

    @property
    def history_end(self) -> date:
        """The last archived day."""
        return self.start - timedelta(days=1)

    @property
    def train_end(self) -> date:
        """The last day the models learn from: the first traded day is decided at 10:00 the day
        before, when the latest final report out is the one of two days before."""
        return self.start - timedelta(days=2)

    @property
    def traded_days(self) -> list[date]:
        """Every traded climate day."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def record_market_history(
    engine: Engine,
    market: MarketData,
    cities: list[str],
    start: date,
    end: date,
    instants: list[str],
) -> int:
    """Record each city-day's markets from ``market`` and, per decision instant, one trade per
    bracket at its book's mid ``TRADE_LEAD`` before the instant, as a market recorder would
    have (idempotent: markets and trades already recorded are kept). The books themselves are
    not stored: the evaluation prices brackets from trades.

    Returns:
        The number of trades newly recorded.
    """
    recorded = 0
    parsed = [parse_instant(i) for i in instants]
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    for city in cities:
        markets: dict[str, dict[str, Any]] = {}
        trades: list[PublicTrade] = []
        for day in days:
            for instant in parsed:
                at = instant.at(city, day) - TRADE_LEAD
                for s in (s for k in KINDS for s in market.event_markets(city, day, k, at)):
                    markets.setdefault(s.ticker, _market_row(s))
                    if s.yes_bid > 0 and s.yes_ask < 1:  # a two-sided book
                        trades.append(
                            PublicTrade(
                                trade_id=f"demo-{s.ticker}-{at:%Y%m%dT%H%M}",
                                ticker=s.ticker,
                                traded_at=at,
                                yes_price=s.mid,
                                count=Decimal(1),
                                taker_side="yes",
                            )
                        )
        with session_scope(engine) as session:
            insert_ignoring_duplicates(session, MarketRow, list(markets.values()))
            recorded += repo.append_trades(session, trades)
    return recorded


def _market_row(s: MarketSnapshot) -> dict[str, Any]:
    """The ``markets`` row of a snapshot's market (no result yet)."""
    return {
        "ticker": s.ticker, "event_ticker": s.event_ticker, "series_ticker": s.series_ticker,
        "city": s.city, "climate_date": s.climate_date, "kind": s.kind,
        "strike_type": s.strike_type, "floor_strike": s.floor_strike,
        "cap_strike": s.cap_strike, "title": s.title, "status": s.status,
        "close_time": s.close_time, "fee_multiplier": s.fee_multiplier,
    }  # fmt: skip


def last_settled_day(now: datetime) -> date:
    """The latest climate day whose final report every city has published by ``now``."""
    return (now.astimezone(UTC) - FINAL_REPORT_LAG).date() - timedelta(days=1)


def run_demo(
    settings: Settings, days: int = DEFAULT_DAYS, history_days: int = DEFAULT_HISTORY_DAYS
) -> int:
    """Run the offline demo and print the summary; returns a process exit code."""
    if settings.mode != "sim":
        print("the demo runs offline: unset WEATHER_TRADER_MODE or set it to 'sim'")
        return 2
    started = time.monotonic()
    window = Window.ending(last_settled_day(datetime.now(UTC)), days, history_days)
    cities = run_world(settings, window)
    if cities is None:
        return 1
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            summaries = [city_summary(session, c, window.traded_days) for c in cities]
            evaluation = repo.latest_model_version(session, EVALUATION)
    finally:
        engine.dispose()
    print(format_summary(summaries, window.start, window.end))
    if evaluation is not None:
        print(format_edges(evaluation.metrics))
    print(f"[demo] finished in {time.monotonic() - started:.0f}s. Open the UIs with `make dev`:")
    print("         Dagster UI  http://127.0.0.1:3000   (runs, lineage, asset checks, backfills)")
    print("         dashboard   http://127.0.0.1:8000   (P&L, positions, decisions, live feed)")
    return 0


def run_world(
    settings: Settings,
    window: Window,
    phase_seconds: dict[str, float] | None = None,
    pace: Pace | None = None,
) -> list[str] | None:
    """Steps 1-4 of the module docstring over ``window``; the benchmark
    (``benchmarks/scale.py``) runs it over a year.

    Args:
        settings: Sim-mode settings; the home holds the Dagster instance and the database.
        window: The archived and traded days.
        phase_seconds: Filled with the wall time of each phase (registry, backfill, models,
            replay) and the number of days replayed, when given.
        pace: How the replay is cut (default: the demo's, all days at once).

    Returns:
        The cities traded, or None when a run failed.
    """
    timings = {} if phase_seconds is None else phase_seconds
    prepare_home(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    exchange_home = settings.resolved_home / "exchange"
    state = ExchangeState.create(home=exchange_home, seed=settings.sim_seed)
    key_id, key_path = local_key(exchange_home)
    try:
        with (
            _planned_events_per_asset(),
            run_exchange_in_thread(state) as origin,
            _worker_lane() as lane,
        ):
            trading = settings.model_copy(
                update={
                    "kalshi_api_url": f"{origin}/trade-api/v2",
                    "kalshi_key_id": key_id,
                    "kalshi_private_key_path": key_path,
                    "kalshi_api_tier": DEMO_API_TIER,
                }
            )
            lane.start(settings)  # the worker never talks to the exchange
            cities = _phases(trading, DagsterInstance.get(), lane, window, timings, pace or Pace())
            # Hand the exchange back to wall time (settling what the replay left open), so
            # `make dev` finds it live.
            control = SimExchangeControl.from_key_file(trading.kalshi_api_url, key_id, key_path)
            control.sync_clock(datetime.now(UTC))
    finally:
        state.close()
    return cities


def _phases(
    trading: Settings,
    instance: DagsterInstance,
    lane: _Lane,
    window: Window,
    timings: dict[str, float],
    pace: Pace,
) -> list[str] | None:
    """The demo's phases over ``window``; the cities traded, or None when a run failed."""
    defs = build_definitions(trading)
    t0 = time.monotonic()
    if not _execute(defs, instance, RangeRun("registry_job"), trading):
        return None
    cities = registered_cities(instance)
    timings["registry"] = time.monotonic() - t0
    print(
        f"[demo] series registry discovered on the local exchange in {timings['registry']:.1f}s: "
        f"{len(cities)} cities with verified series ({', '.join(cities)})"
    )
    if not cities:
        return None
    # Two rectangles of cities, one per lane.
    half = math.ceil(len(cities) / 2)
    history = city_day_ranges(
        instance, cities, window.history_start, window.history_end, max_cities=half
    )
    print(
        f"[demo] backfilling {(window.start - window.history_start).days} days of archive and "
        f"recording the sim market for {len(cities)} cities, in two lanes"
    )
    t0 = time.monotonic()
    lanes = [
        [
            RangeRun("archive_backfill_job", str(first), str(last)),
            Recording(tuple(_cities_between(cities, first, last)), window.history_start,
                      window.history_end),
        ]
        for first, last in history
    ]  # fmt: skip
    with _pool_slots(instance, ARCHIVE_POOL, len(lanes)):
        ok = _in_two_lanes(
            defs, instance, trading, lane, lanes[0], [s for steps in lanes[1:] for s in steps]
        )
    if not ok:
        return None
    timings["backfill"] = time.monotonic() - t0

    print(
        f"[demo] fitting the forecast models ({', '.join(DEMO_COMPONENTS)}; stack; pool) and "
        f"their walk-forward evaluation up to {window.train_end}; replaying "
        f"{(window.end - window.start).days + 1} climate days on the local Kalshi exchange"
    )
    suite = {
        "train_end": str(window.train_end),
        "lookback_days": (window.start - window.history_start).days,
        "instants": DEMO_INSTANTS,
        "components": DEMO_COMPONENTS,
    }
    models = RangeRun(
        "model_job",
        assets=MODEL_ASSETS,
        run_config={"ops": {"forecast_models": {"config": suite}}},
    )
    evaluation = RangeRun(
        "model_job", assets=(EVALUATION,), run_config={"ops": {EVALUATION: {"config": suite}}}
    )
    chunks = _chunks(window, pace.chunk_days)
    first = _replay_runs(instance, cities, *chunks[0])
    t0 = time.monotonic()
    # The evaluation refits its own models weekly: it needs the archive, not the fitted models.
    here = [models, *first[0]] if pace.overlap else [models]
    if not _in_two_lanes(defs, instance, trading, lane, here, [evaluation]):
        return None
    timings["models"] = time.monotonic() - t0
    t0 = time.monotonic()
    replayed = 0
    for i, (start, end) in enumerate(chunks):
        if i and pace.deadline is not None and time.monotonic() > pace.deadline:
            break
        markets, trades = _replay_runs(instance, cities, start, end)
        runs = trades if i == 0 and pace.overlap else [*markets, *trades]
        if not all(_logged(defs, instance, trading, "main", run) for run in runs):
            return None
        replayed += (end - start).days + 1
    timings["replay"] = time.monotonic() - t0 + (timings["models"] if pace.overlap else 0.0)
    timings["replayed_days"] = replayed
    return cities


@dataclass(frozen=True)
class Pace:
    """How the replay is cut: the demo replays its days in one go, overlapping the models;
    the scale benchmark replays a year in chunks until a deadline, phases apart.

    Attributes:
        chunk_days: Days per pair of replay runs (None: all of them).
        deadline: ``time.monotonic()`` after which no further chunk starts (None: none).
        overlap: Materialise the first chunk's weather and markets while the models fit.
    """

    chunk_days: int | None = None
    deadline: float | None = None
    overlap: bool = True


def _chunks(window: Window, chunk_days: int | None) -> list[tuple[date, date]]:
    """The traded days cut into consecutive ``(first, last)`` spans of ``chunk_days``."""
    days = window.traded_days
    size = chunk_days or len(days)
    return [(days[i], days[min(i + size, len(days)) - 1]) for i in range(0, len(days), size)]


def _replay_runs(
    instance: DagsterInstance, cities: list[str], start: date, end: date
) -> tuple[list[RangeRun], list[RangeRun]]:
    """The replay's runs over ``cities`` x ``start..end``: markets first, then trading."""
    ranges = [(str(f), str(t)) for f, t in city_day_ranges(instance, cities, start, end)]
    return (
        [RangeRun("pipeline_job", f, t, REPLAY_MARKET_ASSETS) for f, t in ranges],
        [RangeRun("pipeline_job", f, t, REPLAY_TRADING_ASSETS) for f, t in ranges],
    )


def _cities_between(cities: list[str], first: Any, last: Any) -> list[str]:
    """The ``cities`` a range's rectangle spans (``cities`` in the instance's order)."""
    lo = cities.index(first.keys_by_dimension["city"])
    hi = cities.index(last.keys_by_dimension["city"])
    return cities[lo : hi + 1]


def _in_two_lanes(
    defs: Definitions,
    instance: DagsterInstance,
    settings: Settings,
    lane: _Lane,
    here: Sequence[Step],
    there: Sequence[Step],
) -> bool:
    """Run ``there`` in the worker process while this process runs ``here``; both succeed."""
    pending = lane.submit(there)
    ok = all(_logged(defs, instance, settings, "main", step) for step in here)
    return pending.result() and ok


def _logged(
    defs: Definitions, instance: DagsterInstance, settings: Settings, where: str, step: Step
) -> bool:
    """Run one step and print how long it took."""
    t0 = time.monotonic()
    ok = _execute(defs, instance, step, settings)
    print(f"[demo]   {where:<6} {step.label()}: {time.monotonic() - t0:.1f}s")
    return ok


def _execute(defs: Definitions, instance: DagsterInstance, step: Step, settings: Settings) -> bool:
    """Run a step: a job (over its range) in process, or a market recording."""
    if isinstance(step, Recording):
        engine = make_engine(settings.resolved_database_url)
        try:
            record_market_history(
                engine,
                build_sim(settings.sim_seed)[1],
                list(step.cities),
                step.start,
                step.end,
                DEMO_INSTANTS,
            )
        finally:
            engine.dispose()
        return True
    tags = {}
    if step.first is not None and step.last is not None:
        tags = {
            ASSET_PARTITION_RANGE_START_TAG: step.first,
            ASSET_PARTITION_RANGE_END_TAG: step.last,
        }
    result = defs.resolve_job_def(step.job).execute_in_process(
        instance=instance,
        run_config={**step.run_config, **QUIET_LOGS},
        tags=tags,
        asset_selection=[AssetKey(a) for a in step.assets] if step.assets else None,
    )
    return result.success


@contextmanager
def _planned_events_per_asset() -> Iterator[None]:
    """Dagster writes one planned event per asset of a range run while inside (this process
    and the worker it starts)."""
    before = os.environ.get(SUBSET_PLANNED_EVENTS)
    os.environ[SUBSET_PLANNED_EVENTS] = "true"
    try:
        yield
    finally:
        if before is None:
            del os.environ[SUBSET_PLANNED_EVENTS]
        else:
            os.environ[SUBSET_PLANNED_EVENTS] = before


@contextmanager
def _pool_slots(instance: DagsterInstance, pool: str, slots: int) -> Iterator[None]:
    """``pool`` has ``slots`` step slots while inside, then the instance's default again (its
    limit row is removed: the next step of the pool sets the default one)."""
    storage = instance.event_log_storage
    storage.set_concurrency_slots(pool, slots)
    try:
        yield
    finally:
        storage.delete_concurrency_limit(pool)


class _Lane:
    """The second lane: one worker process (spawned: this process runs the exchange's thread)
    that runs steps with its own code location over the same instance and database."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.settings: Settings | None = None

    def start(self, settings: Settings) -> None:
        """Load the code location in the worker now, while this process runs the registry."""
        self.settings = settings
        self.pool.submit(_worker_steps, settings, [])

    def submit(self, steps: Sequence[Step]) -> Future[bool]:
        """Run ``steps`` in order in the worker; the future tells whether all succeeded."""
        assert self.settings is not None
        return self.pool.submit(_worker_steps, self.settings, list(steps))


@contextmanager
def _worker_lane() -> Iterator[_Lane]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield _Lane(pool)


_WORKER: dict[str, Any] = {}


def _worker_steps(settings: Settings, steps: list[Step]) -> bool:
    """In the worker: run ``steps`` in order, stopping at the first failure."""
    if "defs" not in _WORKER:
        _WORKER["defs"] = build_definitions(settings)
        _WORKER["instance"] = DagsterInstance.get()
    defs, instance = _WORKER["defs"], _WORKER["instance"]
    return all(_logged(defs, instance, settings, "worker", step) for step in steps)


def format_summary(summaries: list[CitySummary], start: date, end: date) -> str:
    """The per-city summary table the demo prints."""
    lines = [
        f"\nClimate days {start} .. {end} (high and low markets; Brier: lower is better)",
        f"{'city':<5}{'trades':>7}{'settled':>9}{'hit rate':>10}{'P&L $':>10}"
        f"{'Brier wthr':>12}{'Brier mkt':>11}",
    ]

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for s in summaries:
        lines.append(
            f"{s.city:<5}{s.trades:>7}{s.settled_positions:>9}{fmt(s.hit_rate, '.0%'):>10}"
            f"{float(s.pnl):>10.2f}{fmt(s.brier_model, '.3f'):>12}{fmt(s.brier_market, '.3f'):>11}"
        )
    total = sum(float(s.pnl) for s in summaries)
    lines.append(
        f"{'all':<5}{sum(s.trades for s in summaries):>7}"
        f"{sum(s.settled_positions for s in summaries):>9}{'':>10}{total:>10.2f}"
    )
    lines.append(
        "(Brier wthr scores the weather distribution's bracket probabilities; trades were "
        "decided on ours, weather pooled with the market's prices)"
    )
    return "\n".join(lines)


def format_edges(metrics: Mapping[str, Any]) -> str:
    """The measured edge per city the trading was gated on (walk-forward event Brier)."""
    min_events = int(metrics.get("min_events", 0))
    lines = [
        "\nMeasured before trading (walk-forward, event Brier; an edge needs >= "
        f"{min_events} events and the upper 95% bound of ours - market below 0)",
        f"{'city':<5}{'instant':>11}{'events':>8}{'ours':>8}{'market':>8}{'bound':>8}  edge",
    ]

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for e in metrics.get("edges", []):
        edge = MeasuredEdge(**e)
        beats = edge.beats_market(min_events)
        lines.append(
            f"{e['city']:<5}{e['instant']:>11}{e['events']:>8}{fmt(e['brier_ours']):>8}"
            f"{fmt(e['brier_market']):>8}{fmt(edge.diff_upper):>8}"
            f"  {'yes' if beats else 'no: not traded on model edge'}"
        )
    return "\n".join(lines)

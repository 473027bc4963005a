"""``weather-trader demo``: the whole loop offline, through a real Dagster instance.

It backfills the point-in-time archive with ``history_days`` of the simulated world
(``weather_archive`` through ``archive_backfill_job``) and records the sim market over the same
days as a market recorder would (each event's markets, and one trade per bracket at its book's
mid just before the decision instant: the sim has no trade tape of its own, so the mid stands
in for the hour's traded price). It then fits the forecast models and their walk-forward
evaluation on history that ends before the first traded day (no look-ahead; ``model_job``),
materialises the whole partitioned graph for every city over the last ``days`` settled climate
days, one run per city over a range of days, and prints a summary per city. Trading goes
through the Kalshi client (REST, signed V2 orders) to the local exchange, run on loopback for the
demo, whose clock the replay winds to each decision; a city is traded on model edge only where
the evaluation measured ours beating the sim market.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dagster import DagsterInstance, Definitions
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from sqlalchemy import Engine

from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.gating import MeasuredEdge
from weather_trader.core.instants import parse_instant
from weather_trader.core.ports import MarketData
from weather_trader.core.records import MarketSnapshot, PublicTrade
from weather_trader.definitions import build_definitions
from weather_trader.defs.forecasting.models import EVALUATION
from weather_trader.defs.partitions import city_day_key
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


def run_demo(settings: Settings, days: int = 30, history_days: int = 365) -> int:
    """Run the offline demo and print the summary; returns a process exit code."""
    if settings.mode != "sim":
        print("the demo runs offline: unset WEATHER_TRADER_MODE or set it to 'sim'")
        return 2
    started = time.monotonic()
    prepare_home(settings)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    end = last_settled_day(datetime.now(UTC))
    start = end - timedelta(days=days - 1)
    cities = sorted(CITIES)

    defs = build_definitions(settings)
    instance = DagsterInstance.get()
    print(f"[demo] backfilling {history_days} days of archive for {len(cities)} cities")
    history_start = start - timedelta(days=history_days)
    if not _run_ranges(
        defs, instance, "archive_backfill_job", cities, history_start, start - timedelta(days=1)
    ):
        return 1

    t0 = time.monotonic()
    trades = record_market_history(
        engine,
        build_sim(settings.sim_seed)[1],
        cities,
        history_start,
        start - timedelta(days=1),
        DEMO_INSTANTS,
    )
    print(f"[demo]   sim market recorded: {trades} trades in {time.monotonic() - t0:.1f}s")

    # The first traded day is decided at 10:00 the day before, when the latest final report
    # out is the one of two days before: the models learn from nothing later than that.
    train_end = start - timedelta(days=2)
    print(
        f"[demo] fitting the forecast models ({', '.join(DEMO_COMPONENTS)}; stack; pool) and "
        f"their walk-forward evaluation up to {train_end}"
    )
    t0 = time.monotonic()
    suite_config = {
        "train_end": str(train_end),
        "lookback_days": history_days,
        "instants": DEMO_INSTANTS,
        "components": DEMO_COMPONENTS,
    }
    model = defs.resolve_job_def("model_job").execute_in_process(
        instance=instance,
        run_config={
            "ops": {
                "forecast_models": {"config": suite_config},
                EVALUATION: {"config": suite_config},
            },
            **QUIET_LOGS,
        },
    )
    if not model.success:
        return 1
    print(f"[demo]   models and evaluation in {time.monotonic() - t0:.1f}s")
    print(f"[demo] trading {days} climate days on the local Kalshi exchange")
    exchange_home = settings.resolved_home / "exchange"
    state = ExchangeState.create(home=exchange_home, seed=settings.sim_seed)
    key_id, key_path = local_key(exchange_home)
    try:
        with run_exchange_in_thread(state) as origin:
            trading = settings.model_copy(
                update={
                    "kalshi_api_url": f"{origin}/trade-api/v2",
                    "kalshi_key_id": key_id,
                    "kalshi_private_key_path": key_path,
                }
            )
            traded = _run_ranges(
                build_definitions(trading), instance, "pipeline_job", cities, start, end
            )
            # Hand the exchange back to wall time (settling what the replay left open), so
            # `make dev` finds it live.
            control = SimExchangeControl.from_key_file(trading.kalshi_api_url, key_id, key_path)
            control.sync_clock(datetime.now(UTC))
    finally:
        state.close()
    if not traded:
        return 1

    day_list = [start + timedelta(days=i) for i in range(days)]
    with session_scope(engine) as session:
        summaries = [city_summary(session, city, day_list) for city in cities]
        evaluation = repo.latest_model_version(session, EVALUATION)
    print(format_summary(summaries, start, end))
    if evaluation is not None:
        print(format_edges(evaluation.metrics))
    print(f"[demo] finished in {time.monotonic() - started:.0f}s. Open the UIs with `make dev`:")
    print("         Dagster UI  http://127.0.0.1:3000   (runs, lineage, asset checks, backfills)")
    print("         dashboard   http://127.0.0.1:8000   (P&L, positions, decisions, live feed)")
    return 0


def _run_ranges(
    defs: Definitions,
    instance: DagsterInstance,
    job: str,
    cities: list[str],
    start: date,
    end: date,
) -> bool:
    """Run ``job`` once per city over the range of its days ``start..end``."""
    for city in cities:
        t0 = time.monotonic()
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance,
            run_config=QUIET_LOGS,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: str(city_day_key(city, start)),
                ASSET_PARTITION_RANGE_END_TAG: str(city_day_key(city, end)),
            },
        )
        print(f"[demo]   {city}: {(end - start).days + 1} days in {time.monotonic() - t0:.1f}s")
        if not result.success:
            return False
    return True


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

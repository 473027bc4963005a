"""Forecast skill on the dev set: walk-forward scores of every predictor against the market.

Builds a fresh SQLite archive from ``../shared/realdata`` (``history convert dev-set``, then
``history import`` of the converted forecasts and reports, the Kalshi event files and the full
trade tapes), runs ``weather-trader evaluate`` at both decision instants, and prints per city
and overall: events, event Brier, Brier, log loss and CRPS for the market, weather, ours, each
component and the best raw single forecast, plus the evaluation time, the training time and
the peak memory.

    .venv/bin/python benchmarks/forecast_skill.py [--realdata DIR] [--db FILE] [--reuse]
        [--cities CHI,NYC] [--from 2024-08-16] [--to 2025-05-08] [--workers 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from weather_trader.core.forecasting.cases import build_cases  # noqa: E402
from weather_trader.core.forecasting.market_prices import add_market_probabilities  # noqa: E402
from weather_trader.core.forecasting.report import format_table  # noqa: E402
from weather_trader.core.forecasting.suite import ModelSuite  # noqa: E402
from weather_trader.core.forecasting.walkforward import (  # noqa: E402
    DecisionInstant,
    event_brackets,
    refit_instant,
    require_instants,
    walk_targets,
)
from weather_trader.core.skill import measured_edges  # noqa: E402
from weather_trader.evaluation import DEFAULT_INSTANTS, evaluate, load_archive  # noqa: E402
from weather_trader.store.db import make_engine, migrate  # noqa: E402


def build_archive(realdata: Path, db: Path) -> float:
    """Convert and import the dev set into a fresh SQLite file; returns the seconds taken."""
    from weather_trader.history.convert import convert_dev_set
    from weather_trader.history.loader import import_history

    started = time.perf_counter()
    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    with tempfile.TemporaryDirectory() as tmp:
        files = convert_dev_set(realdata, Path(tmp), log=lambda line: print(f"  {line}"))
        events = sorted(glob.glob(str(realdata / "kalshi/cpratim/events/*/*.json")))
        trades = sorted(glob.glob(str(realdata / "kalshi/cpratim/trades_full/*.csv.gz")))
        result = import_history(
            engine,
            events=events,
            trades=trades,
            forecasts=[f for f in files if "forecasts" in f.name],
            reports=[f for f in files if "reports" in f.name],
        )
    if result.issues:
        for issue in result.issues[:20]:
            print(f"  import issue: {issue}")
        raise SystemExit("the dev set did not import")
    engine.dispose()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    parser.add_argument("--db", type=Path, default=None, help="archive file (default: a temp file)")
    parser.add_argument("--reuse", action="store_true", help="use --db as it is (no rebuild)")
    parser.add_argument("--cities", default="CHI,NYC")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2024, 8, 16))
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2025, 5, 8))
    parser.add_argument("--at", dest="instants", action="append", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the report JSON")
    args = parser.parse_args()

    tmpdir = tempfile.TemporaryDirectory()
    db = args.db or Path(tmpdir.name) / "archive.sqlite"
    if not args.reuse:
        if not args.realdata.is_dir():
            print(f"no real data at {args.realdata}", file=sys.stderr)
            return 2
        print(f"building the archive {db} from {args.realdata}")
        print(f"archive built in {build_archive(args.realdata, db):.1f} s")
    engine = make_engine(f"sqlite:///{db}")
    cities = [c.strip() for c in args.cities.split(",")]
    instants = require_instants(args.instants or DEFAULT_INSTANTS)

    started, cpu_before = time.perf_counter(), _cpu_seconds()
    result = evaluate(engine, cities, args.start, args.end, instants, workers=args.workers,
                      out=args.out)  # fmt: skip
    evaluation_s, evaluation_cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    print()
    print(format_table(result.report["results"]))
    print()
    print("edge gate (ours vs market per city; bound = upper 95% bound of the mean event-Brier")
    print("difference ours - market; trades on model edge only when 'yes'):")
    for walk in result.walks:
        b = walk.brackets
        days = pd.to_datetime(b["climate_date"]).dt.date
        keep = b["city"].isin(cities) & (days >= args.start) & (days <= args.end)
        for e in measured_edges(b[keep.to_numpy()], walk.instant.label):
            bound = "-" if e.diff_upper is None else f"{e.diff_upper:+.3f}"
            verdict = "yes" if e.beats_market() else "no"
            print(
                f"  {e.instant:>10} {e.city}: {e.events} events, upper 95% bound {bound}: {verdict}"
            )

    tick, cpu_before = time.perf_counter(), _cpu_seconds()
    fitted, fit_at = production_fit(engine, instants[-1], args.end)
    fit_s, fit_cpu = time.perf_counter() - tick, _cpu_seconds() - cpu_before

    s = result.seconds
    n_refits = sum(len(w.refits) for w in result.walks)
    scored = {r["instant"]: r["events"] for r in result.report["results"] if r["city"] == "ALL"}
    print()
    print(f"events scored (ALL): {scored}")
    print(
        f"evaluation: {evaluation_s:.1f} s wall, {evaluation_cpu:.1f} s CPU, {args.workers} "
        f"worker(s) (load {s['load']:.1f} s, walks {s['walk']:.1f} s, report {s['report']:.1f} s)"
    )
    print(
        f"  inside the walks (wall, summed over instants): cases {s['cases']:.1f} s, "
        f"{n_refits} weekly refits {s['fit']:.1f} s, predictions {s['predict']:.1f} s"
    )
    pool = fitted.pool.metadata()
    print(
        f"training: one production suite fit at {fit_at.date()} ({instants[-1].label}, "
        f"{fitted.info['n_train']} cases; stack and pool on expanding-window refits): "
        f"{fit_s:.1f} s wall, {fit_cpu:.1f} s CPU; stack weights "
        f"{ {k: round(v, 2) for k, v in fitted.stack.metadata()['weights'].items()} }; "
        f"pool a={pool['a_weather']:.2f} b={pool['b_market']:.2f} on {pool['n_events']} events"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {own:.0f} MB (this process), {kids:.0f} MB (largest worker)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for walk in result.walks:
        ranking = (walk.refits[-1]["baselines"].get("raw_best") or {}).get("ranking", [])
        print(f"raw_best ranking at the last refit ({walk.instant.label}): "
              f"{[r['source'] for r in ranking]}")  # fmt: skip
    return 0


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def production_fit(engine: Any, instant: DecisionInstant, end: date) -> tuple[Any, pd.Timestamp]:
    """One suite fit as the weekly retrain does it (no walk history), the Monday after ``end``."""
    frames = load_archive(engine, end=end)
    targets, _ = walk_targets(frames.forecasts, frames.reports, frames.markets, {"high"}, 3650)
    targets["decided_at"] = instant.utc(targets["city"], targets["climate_date"]).to_numpy()
    cases = build_cases(targets, frames.forecasts, frames.reports)
    brackets = add_market_probabilities(event_brackets(frames.markets, instant), frames.trades)
    fit_at = refit_instant(pd.Timestamp(end, tz="UTC")) + pd.Timedelta(days=7)
    return ModelSuite().fit(cases, brackets, fit_at), fit_at


if __name__ == "__main__":
    raise SystemExit(main())

"""Backtests on the dev set: each strategy at its default, out of sample, at 0/1/2 cents slippage.

Builds a fresh SQLite archive from ``../shared/realdata`` the way ``benchmarks/forecast_skill.py``
does (``history convert dev-set``, then ``history import`` of the converted forecasts and
reports, the Kalshi event files and the full trade tapes), walks forward once at both decision
instants (weekly refits on what was known then: every prediction is out of sample) and caches
the predictions, then replays each registered strategy at its default settings over
``--from..--to`` at 0, 1 and 2 cents of slippage. Prints per strategy and slippage: trades,
P&L, ROI, Sharpe, max drawdown and the bootstrap 95% interval of mean daily P&L; then the time
of one replay after the predictions are cached (target < 30 s), of a 20-point grid (Kelly
fraction x minimum edge, taker; target < 2 min) and the peak memory.

    .venv/bin/python benchmarks/backtest.py [--realdata DIR] [--db FILE] [--reuse]
        [--cache DIR | --predictions FILE] [--cities CHI,NYC] [--from 2024-08-16]
        [--to 2025-05-08] [--workers 2] [--out DIR]

``--predictions`` replays a walk's predictions pickled elsewhere (``pipeline.prepare``'s cache
file) on the same archive instead of walking here.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from forecast_skill import build_archive  # noqa: E402

from weather_trader.backtest import metrics, pipeline  # noqa: E402
from weather_trader.backtest.config import BacktestConfig  # noqa: E402
from weather_trader.backtest.strategies import strategy_names  # noqa: E402
from weather_trader.store.db import make_engine  # noqa: E402

GRID = ["kelly_fraction=0.05,0.1,0.25,0.5,1.0", "min_edge=0.01,0.02,0.03,0.05"]
"""20 points."""


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    parser.add_argument("--db", type=Path, default=None, help="archive file (default: a temp file)")
    parser.add_argument("--reuse", action="store_true", help="use --db as it is (no rebuild)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="walk cache folder (default: a temp folder)")  # fmt: skip
    parser.add_argument("--predictions", type=Path, default=None,
                        help="pickled predictions of the same archive (no walk)")  # fmt: skip
    parser.add_argument("--cities", default="CHI,NYC")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2024, 8, 16))
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2025, 5, 8))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None,
                        help="also write each strategy's JSON and HTML report here")  # fmt: skip
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "archive.sqlite"
    cache = args.cache or Path(tmp.name) / "cache"
    if not args.reuse:
        if not args.realdata.is_dir():
            print(f"no real data at {args.realdata}", file=sys.stderr)
            return 2
        print(f"building the archive {db} from {args.realdata}")
        print(f"archive built in {build_archive(args.realdata, db):.1f} s")
    engine = make_engine(f"sqlite:///{db}")
    base = BacktestConfig(
        cities=[c.strip() for c in args.cities.split(",")], start=args.start, end=args.end
    )

    def log(line: str) -> None:
        print(f"  {line}", flush=True)

    if args.predictions is not None:
        import pickle

        from weather_trader.backtest import load

        print(f"predictions from {args.predictions} (walked elsewhere, not timed here)")
        started = time.perf_counter()
        with args.predictions.open("rb") as fh:
            frame = pickle.load(fh)
        inputs = load.load_inputs(engine, base, predictions=frame)
        cached_s = time.perf_counter() - started
        prepared = pipeline.Prepared(inputs, True, {"load": cached_s})
        print(f"with the predictions cached: {cached_s:.1f} s to load them and the archive's "
              f"markets ({len(inputs.markets)}), tape ({len(inputs.tape)}) and quotes "
              f"({len(inputs.quotes)})")  # fmt: skip
    else:
        print(f"walk-forward predictions at {', '.join(base.instants)} (cache {cache})")
        started = time.perf_counter()
        first = pipeline.prepare(engine, base, cache_dir=cache, workers=args.workers, log=log)
        walk_s = time.perf_counter() - started
        started = time.perf_counter()
        prepared = pipeline.prepare(engine, base, cache_dir=cache, log=log)
        cached_s = time.perf_counter() - started
        assert prepared.cached, "the second prepare must reuse the walk"
        print(f"walk {walk_s:.1f} s ({'cached' if first.cached else 'computed'}); with the "
              f"cache: {cached_s:.1f} s (load {prepared.seconds['load']:.1f} s)")  # fmt: skip

    print()
    header = (f"{'strategy':<9} {'slip':>4} {'trades':>6} {'P&L $':>10} {'ROI':>8} "
              f"{'Sharpe':>7} {'maxDD $':>9} {'mean/day $':>10} {'95% CI of mean daily P&L':>26}"
              f" {'replay s':>8}")  # fmt: skip
    print(header)
    replay_seconds = []
    for name in strategy_names():
        config = base.with_changes(strategy=name)
        done = pipeline.run(config, prepared.inputs, input_seconds=prepared.seconds)
        replay_seconds.append(done.seconds["replay"])
        for cents, result in sorted(done.slippage.items()):
            s = metrics.summary(result.trades, result.equity, config.bankroll)
            took = result.seconds.get("total", float("nan"))
            ci = f"[{_fmt(s['mean_daily_pnl_ci_low'], '.2f')}, " \
                 f"{_fmt(s['mean_daily_pnl_ci_high'], '.2f')}]"  # fmt: skip
            above = " above 0" if (s["mean_daily_pnl_ci_low"] or 0) > 0 else ""
            print(f"{name:<9} {cents:>3}c {s['trades']:>6} {s['pnl']:>10.2f} "
                  f"{_fmt(s['roi'], '.4f'):>8} {_fmt(s['sharpe'], '.2f'):>7} "
                  f"{s['max_drawdown']:>9.2f} {_fmt(s['mean_daily_pnl'], '.3f'):>10} "
                  f"{ci:>26}{above} {took:>8.1f}")  # fmt: skip
        if args.out is not None:
            stem = f"backtest-{name}-{'-'.join(base.cities)}-{args.start}-{args.end}"
            paths = (args.out / f"{stem}.json", args.out / f"{stem}.html")
            pipeline.write_outputs(done.report, *paths, title=f"Backtest: {name}")
        stats = done.result.stats
        print(f"{'':<9} decisions {stats.get('decisions')}, orders {stats.get('orders')} "
              f"({stats.get('orders_filled')} filled), events {stats.get('events')}, "
              f"halted {stats.get('halted_decisions')}")  # fmt: skip

    print()
    points = pipeline.grid_points(pipeline.parse_grid(GRID))
    started = time.perf_counter()
    rows = pipeline.run_grid(base.with_changes(strategy="taker"), prepared.inputs, points)
    grid_s = time.perf_counter() - started
    print(pipeline.format_grid(rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print()
    print(f"one replay after the predictions are cached: {min(replay_seconds):.1f}-"
          f"{max(replay_seconds):.1f} s per strategy (target < 30 s); with loading the cached "
          f"walk and the archive's markets, tape and quotes: +{cached_s:.1f} s")  # fmt: skip
    print(f"{len(points)}-point grid: {grid_s:.1f} s (target < 120 s)")
    print(f"peak memory: {peak:.0f} MB (this process), {peak_children:.0f} MB (largest walk "
          "worker)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

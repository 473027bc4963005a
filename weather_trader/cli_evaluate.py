"""``weather-trader evaluate``: walk-forward skill of every predictor against the market."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from weather_trader.core.cities import get_city

DEFAULT_INSTANTS = ("D-1 16:00", "D 08:00")
# numpy/pandas/xgboost load inside run(): building the parser stays cheap for other commands.


def add_arguments(subparsers: Any) -> None:
    """Add the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="walk-forward evaluation of the forecast models against the market",
        description="Predict every archived event at each decision instant with models refitted "
        "weekly (Monday 00:00 UTC) on what was known then, and score market, market_raw, "
        "weather, ours, each component and the best raw forecast on the same events.",
    )
    parser.add_argument(
        "--cities", default=None, help="city codes to report, e.g. CHI,NYC (default all)"
    )
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=None,
                        help="first climate day reported (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=None,
                        help="last climate day reported (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--at", dest="instants", action="append", default=None,
                        help='decision instant in local standard time, e.g. "D-1 16:00" '
                        f"(repeatable; default {' and '.join(DEFAULT_INSTANTS)})")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="write the report JSON here")
    parser.add_argument("--workers", type=int, default=1, help="processes (one instant each)")


def run(settings: Any, args: argparse.Namespace) -> int:
    """Run the evaluation; print the table; 0 on success, 2 on bad arguments."""
    from weather_trader.core.forecasting.base import ModelInputError
    from weather_trader.core.forecasting.report import format_table
    from weather_trader.core.forecasting.walkforward import require_instants
    from weather_trader.evaluation import evaluate
    from weather_trader.store.db import make_engine, migrate

    try:
        cities = None
        if args.cities:
            cities = [c.strip().upper() for c in args.cities.split(",") if c.strip()]
            for code in cities:
                get_city(code)
        instants = require_instants(args.instants or DEFAULT_INSTANTS)
        if args.start and args.end and args.start > args.end:
            raise ModelInputError(f"--from {args.start} is after --to {args.end}")
    except (KeyError, ModelInputError) as exc:
        print(f"weather-trader evaluate: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    result = evaluate(engine, cities, args.start, args.end, instants, workers=args.workers,
                      out=args.out)  # fmt: skip
    print(format_table(result.report["results"]))
    s = result.seconds
    print(
        f"\nload {s['load']:.1f} s, walk {s['walk']:.1f} s (cases {s['cases']:.1f}, fit "
        f"{s['fit']:.1f}, predict {s['predict']:.1f}), report {s['report']:.1f} s"
    )
    if args.out:
        print(f"report written to {args.out}")
    return 0

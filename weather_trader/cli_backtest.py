"""``weather-trader backtest``: replay a strategy on the recorded markets; a report or a grid.

    weather-trader backtest --cities CHI,NYC --from 2024-08-16 --to 2025-05-08 --strategy taker \\
        --out bt.json [--html bt.html] [--config FILE] [--set name=value ...]
    weather-trader backtest ... --grid kelly_fraction=0.1,0.25 min_edge=0.02,0.05

Settings come from the defaults of ``BacktestConfig``, then ``--config`` (a JSON file of the
same fields), then the flags. Without ``--out`` the report goes to the home's ``backtests/``
folder (where the dashboard lists reports), with its HTML page beside it. Walk-forward
predictions are cached in ``backtests/cache/`` and reused while the archive and the model code
are unchanged.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

# pandas, the models and the engine load inside run(): building the parser stays cheap.


def add_arguments(subparsers: Any) -> None:
    """Add the ``backtest`` sub-command."""
    parser = subparsers.add_parser(
        "backtest",
        help="replay a trading strategy on the recorded Kalshi markets",
        description="Walk forward over the archive's recorded markets with the production "
        "decision code, fill against the recorded tapes and quotes, and report P&L, risk and "
        "skill (JSON, optional HTML); or run a parameter grid and print a table.",
    )
    parser.add_argument("--cities", default=None, help="city codes, e.g. CHI,NYC")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=None,
                        help="first climate day replayed (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=None,
                        help="last climate day replayed (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--strategy", default=None, help="taker, maker, longshot, ...")
    parser.add_argument("--at", dest="instants", action="append", default=None,
                        help='decision instant in local standard time, e.g. "D-1 16:00" '
                        "(repeatable)")  # fmt: skip
    parser.add_argument("--config", type=Path, default=None, help="a BacktestConfig JSON file")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help="set one setting (dotted for nested ones: "
                        "risk.max_order_cost=10); repeatable")  # fmt: skip
    parser.add_argument("--grid", nargs="+", default=None, metavar="NAME=V1,V2",
                        help="run every combination, e.g. kelly_fraction=0.1,0.25 "
                        "min_edge=0.02,0.05, and print a table")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None,
                        help="report JSON (default: <home>/backtests/<name>.json)")  # fmt: skip
    parser.add_argument("--html", type=Path, default=None, help="also write the HTML report")
    parser.add_argument("--no-cache", action="store_true", help="walk forward again")
    parser.add_argument("--workers", type=int, default=1, help="walk processes (one instant each)")


def build_config(args: argparse.Namespace) -> Any:
    """The config from the defaults, ``--config``, the flags and ``--set``, in that order.

    Raises:
        ConfigError: If a setting does not validate (the message says which).
    """
    from weather_trader.backtest.config import BacktestConfig, ConfigError
    from weather_trader.backtest.pipeline import apply_point, parse_value

    config = BacktestConfig()
    if args.config is not None:
        try:
            text = args.config.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the config {args.config}: {exc}") from None
        config = BacktestConfig.from_json(text)
    changes: dict[str, Any] = {}
    if args.cities:
        changes["cities"] = [c.strip().upper() for c in args.cities.split(",") if c.strip()]
    if args.start is not None:
        changes["start"] = args.start
    if args.end is not None:
        changes["end"] = args.end
    if args.strategy:
        changes["strategy"] = args.strategy
    if args.instants:
        changes["instants"] = args.instants
    for item in args.overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r} is not like name=value")
        changes[name.strip()] = parse_value(value.strip())
    return apply_point(config, changes) if changes else config


def _check_cities(cities: list[str]) -> None:
    from weather_trader.backtest.config import ConfigError
    from weather_trader.core.cities import get_city

    for code in cities:
        try:
            get_city(code)
        except KeyError:
            raise ConfigError(f"unknown city {code!r}") from None


def run(settings: Any, args: argparse.Namespace) -> int:
    """Run the backtest (or grid); 0 on success, 2 on bad arguments."""
    from weather_trader.backtest import pipeline
    from weather_trader.backtest.config import ConfigError
    from weather_trader.store.db import make_engine, migrate

    try:
        config = build_config(args)
        _check_cities(config.cities)
        axes = pipeline.parse_grid(args.grid) if args.grid else None
        points = pipeline.grid_points(axes) if axes else None
        if points:
            pipeline.grid_configs(config, points)  # every point validates before any work
        _check_strategy(config)
    except ConfigError as exc:
        print(f"weather-trader backtest: {exc}", file=sys.stderr)
        return 2

    def log(line: str) -> None:
        print(f"[backtest] {line}", flush=True)

    home_dir = settings.resolved_home / "backtests"
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    cache = None if args.no_cache else home_dir / "cache"
    prepared = pipeline.prepare(engine, config, cache_dir=cache, workers=args.workers, log=log)
    inputs = prepared.inputs
    if inputs.markets.empty:
        print("weather-trader backtest: the archive has no markets to replay "
              "(import history first: weather-trader history import)", file=sys.stderr)  # fmt: skip
        return 1
    if points:
        log(f"grid: {len(points)} points")
        rows = pipeline.run_grid(config, inputs, points)
        print(pipeline.format_grid(rows))
        if args.out:
            from weather_trader.backtest.report import jsonable, write_json

            write_json({"config": jsonable(config), "grid": rows}, args.out)
            print(f"grid written to {args.out}")
        return 0

    done = pipeline.run(config, inputs, input_seconds=prepared.seconds)
    out, html = args.out, args.html
    if out is None:
        name = pipeline.default_report_name(config)
        out = home_dir / f"{name}.json"
        html = html or home_dir / f"{name}.html"
    written = pipeline.write_outputs(done.report, out, html, title=_title(config))
    print(format_summary(done.report))
    for path in written:
        print(f"written: {path}")
    return 0


def _check_strategy(config: Any) -> None:
    """Refuse an unknown strategy or bad parameters before any work."""
    from weather_trader.backtest.config import ConfigError
    from weather_trader.backtest.strategies import StrategyError, make_strategy

    try:
        make_strategy(config.strategy, config.strategy_params)
    except StrategyError as exc:
        raise ConfigError(str(exc)) from None


def _title(config: Any) -> str:
    span = f"{config.start or '…'} – {config.end or '…'}"
    return f"Backtest: {config.strategy} on {', '.join(config.cities)}, {span}"


def format_summary(report: dict[str, Any]) -> str:
    """The headline numbers, per city and the slippage table, as text."""
    from weather_trader.backtest.pipeline import format_grid

    s = report["summary"]

    def num(value: Any, spec: str = ".2f") -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        f"trades {s['trades']}  win rate {num(s['win_rate'], '.3f')}  P&L ${num(s['pnl'])}  "
        f"ROI {num(s['roi'], '.4f')}  fees ${num(s['fees'])}  turnover ${num(s['turnover'])}",
        f"Sharpe {num(s['sharpe'])}  Sortino {num(s['sortino'])}  max drawdown "
        f"${num(s['max_drawdown'])} ({s['max_drawdown_days']} days)  mean daily P&L "
        f"${num(s['mean_daily_pnl'], '.3f')} (95% CI {num(s['mean_daily_pnl_ci_low'], '.3f')} .. "
        f"{num(s['mean_daily_pnl_ci_high'], '.3f')})",
        f"Kelly effectiveness {num(s['kelly_effectiveness'], '.3f')}  Brier traded on: model "
        f"{num(s['brier_model'], '.4f')} vs market {num(s['brier_market'], '.4f')} "
        f"(n={s['brier_traded_n']})",
    ]
    if report.get("by_city"):
        lines += ["", format_grid([{k: r[k] for k in ("city", "trades", "win_rate", "pnl",
                                                         "roi", "fees")}
                                   for r in report["by_city"]])]  # fmt: skip
    if report.get("slippage"):
        lines += ["", format_grid(report["slippage"])]
    return "\n".join(lines)

"""One backtest from the archive to its report: predictions (cached), replays, metrics, files.

Used by ``weather-trader backtest`` (:mod:`weather_trader.cli_backtest`), the Dagster
``backtest_job`` and ``benchmarks/backtest.py``:

1. :func:`prepare` reads the archive through :mod:`.load`: the walk-forward's point-in-time
   predictions of every bracket at the config's instants (the slow part; reused from the cache
   when an identical walk ran before, :func:`predictions_key`), and the replayed markets, their
   trade tape and recorded quotes;
2. :func:`run` replays the config (``run_backtest``), replays it again at 0, 1 and 2 cents of
   slippage and builds the report (:mod:`.report`);
3. :func:`run_grid` replays one config per grid point on the same inputs.

A walk's predictions never depend on the cities, days or trading settings replayed, only on the
archive, the instants, the kinds, the model settings and the forecasting code: the cache key is
made of exactly those. A walk stopped at day E predicts every day up to E exactly as a longer
walk would (later days are never used by earlier predictions), so a cached walk serves every
backtest ending on or before its last day.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from weather_trader.backtest import report as reports
from weather_trader.backtest.config import BacktestConfig, ConfigError
from weather_trader.backtest.load import BacktestInputs
from weather_trader.backtest.result import BacktestResult

SLIPPAGE_CENTS = (0, 1, 2)
"""The slippage settings every report shows."""
CACHE_VERSION = 1
GRID_COLUMNS = ("trades", "pnl", "roi", "win_rate", "sharpe", "max_drawdown",
                "mean_daily_pnl_ci_low", "mean_daily_pnl_ci_high")  # fmt: skip
INPUT_SETTINGS = ("cities", "start", "end", "instants", "kinds")
"""Settings that choose the inputs: a grid cannot vary them (one set of inputs per grid)."""


@dataclass
class Prepared:
    """The inputs of a run and how they were got."""

    inputs: BacktestInputs
    cached: bool
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class BacktestRun:
    """A finished backtest: the main replay, the slippage replays and the report."""

    config: BacktestConfig
    result: BacktestResult
    slippage: dict[int, BacktestResult]
    report: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


# -- inputs ---------------------------------------------------------------------------------------


def _code_fingerprint() -> str:
    """A digest of the forecasting code (a changed model invalidates cached walks)."""
    import weather_trader.core.forecasting as forecasting

    digest = hashlib.sha256()
    for path in sorted(Path(forecasting.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _suite_description(suite: Any) -> dict[str, Any]:
    """The suite's settings by value (its factories by the models they make, never by a
    function's address, which changes from process to process)."""
    out: dict[str, Any] = {}
    for f in fields(suite):
        value = getattr(suite, f.name)
        if callable(value):
            out[f.name] = [f"{type(m).__module__}.{type(m).__qualname__}:{m.name}"
                           for m in value()]  # fmt: skip
        else:
            out[f.name] = repr(value)
    return out


def predictions_key(engine: Engine, config: BacktestConfig, suite: Any) -> str:
    """The cache key of a walk: everything its predictions depend on but its last day."""
    from weather_trader.backtest.load import archive_fingerprint

    parts = {
        "version": CACHE_VERSION,
        "archive": archive_fingerprint(engine),
        "instants": sorted(config.instants),
        "kinds": sorted(config.kinds),
        "suite": _suite_description(suite),
        "code": _code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def prepare(
    engine: Engine,
    config: BacktestConfig,
    *,
    cache_dir: Path | None = None,
    suite: Any = None,
    workers: int = 1,
    log: Callable[[str], None] = lambda line: None,
) -> Prepared:
    """The walk's predictions (from ``cache_dir`` when an identical walk ran before) and the
    replayed markets, their tape and quotes.

    Args:
        engine: The domain database holding the archive.
        config: The backtest (its instants, kinds and last day decide the walk; its cities and
            days the markets).
        cache_dir: Where walks are cached (None: never cached).
        suite: Model settings (default ``ModelSuite()``).
        workers: Processes for the walks (one instant each).
        log: Progress lines.
    """
    from weather_trader.backtest import load
    from weather_trader.core.forecasting.suite import ModelSuite

    suite = suite or ModelSuite()
    clock = time.perf_counter()
    key = predictions_key(engine, config, suite) if cache_dir is not None else None
    path = _cached_walk(Path(cache_dir), key, config.end) if cache_dir and key else None
    if path is not None:
        with path.open("rb") as fh:
            predictions = pickle.load(fh)
        log(f"predictions: reused {path}")
    else:
        log(f"predictions: walking forward at {', '.join(config.instants)} (weekly refits; "
            "the slow part, cached for the next run)")  # fmt: skip
        predictions = load.compute_predictions(engine, config, suite, workers)
        if cache_dir is not None and key is not None:
            _store_walk(Path(cache_dir) / f"predictions-{key}-until-{config.end or 'all'}.pkl",
                        predictions)  # fmt: skip
    seconds = {"predictions": time.perf_counter() - clock}
    log(f"predictions: {len(predictions)} bracket rows ({seconds['predictions']:.1f} s)")
    clock = time.perf_counter()
    inputs = load.load_inputs(engine, config, predictions=predictions)
    seconds["load"] = time.perf_counter() - clock
    log(f"markets: {len(inputs.markets)}, trades: {len(inputs.tape)}, quotes: "
        f"{len(inputs.quotes)} ({seconds['load']:.1f} s)")  # fmt: skip
    return Prepared(inputs, path is not None, seconds)


def _cached_walk(folder: Path, key: str, end: date | None) -> Path | None:
    """The cached walk of ``key`` that reaches ``end`` (the shortest such), if any."""
    best: tuple[date, Path] | None = None
    for path in folder.glob(f"predictions-{key}-until-*.pkl"):
        until = path.stem.rpartition("-until-")[2]
        if until == "all":
            reach = date.max
        else:
            try:
                reach = date.fromisoformat(until)
            except ValueError:
                continue
        if (end is None and until != "all") or (end is not None and reach < end):
            continue
        if best is None or reach < best[0]:
            best = (reach, path)
    return best[1] if best else None


def _store_walk(path: Path, predictions: pd.DataFrame) -> None:
    """Pickle the walk whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(predictions, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


# -- replays --------------------------------------------------------------------------------------


def replay(config: BacktestConfig, inputs: BacktestInputs) -> BacktestResult:
    """``run_backtest`` of ``config`` on ``inputs``."""
    from weather_trader.backtest.engine import run_backtest

    return run_backtest(config, inputs.predictions, inputs.tape, inputs.quotes, inputs.markets)


def build_report(
    config: BacktestConfig,
    result: BacktestResult,
    slippage: Mapping[int, BacktestResult],
    predictions: pd.DataFrame | None,
) -> dict[str, Any]:
    """The report of ``result`` with its slippage table, calibration and the engine's stats."""
    from weather_trader.backtest.inputs import select_predictions

    selected = select_predictions(predictions, config) if predictions is not None else None
    return reports.build_report(
        config,
        result.trades,
        result.equity,
        bankroll=config.bankroll,
        slippage_runs={cents / 100: (r.trades, r.equity) for cents, r in slippage.items()},
        predictions=selected,
        model_column="p_model",
        extra={"stats": result.stats},
    )


def run(
    config: BacktestConfig,
    inputs: BacktestInputs,
    *,
    slippage_cents: Sequence[int] = SLIPPAGE_CENTS,
    input_seconds: Mapping[str, float] | None = None,
) -> BacktestRun:
    """Replay ``config``, replay it at each slippage setting, and build the report.

    ``input_seconds`` (how long the inputs took, :attr:`Prepared.seconds`) joins the report's
    ``seconds``.
    """
    clock = time.perf_counter()
    result = replay(config, inputs)
    seconds = {"replay": time.perf_counter() - clock}
    runs: dict[int, BacktestResult] = {}
    clock = time.perf_counter()
    for cents in slippage_cents:
        runs[cents] = (
            result
            if cents == config.slippage_cents
            else replay(config.with_changes(slippage_cents=cents), inputs)
        )
    seconds["slippage_replays"] = time.perf_counter() - clock
    clock = time.perf_counter()
    report = build_report(config, result, runs, inputs.predictions)
    seconds["report"] = time.perf_counter() - clock
    report["seconds"] = {**(input_seconds or {}), **seconds}
    return BacktestRun(config, result, runs, report, seconds)


def write_outputs(
    report: Mapping[str, Any], out: Path, html: Path | None = None, title: str = "Backtest"
) -> list[Path]:
    """Write the JSON report (and the HTML page); returns the paths written."""
    from weather_trader.backtest.html import write_html

    written = [reports.write_json(report, out)]
    if html is not None:
        written.append(write_html(report, html, title))
    return written


def default_report_name(config: BacktestConfig, now: pd.Timestamp | None = None) -> str:
    """``backtest-taker-CHI-NYC-20240816-20250508-<UTC stamp>`` (no extension)."""
    stamp = (now or pd.Timestamp.now(tz="UTC")).strftime("%Y%m%dT%H%M%SZ")
    span = "-".join(d.strftime("%Y%m%d") if isinstance(d, date) else "open"
                    for d in (config.start, config.end))  # fmt: skip
    return f"backtest-{config.strategy}-{'-'.join(config.cities)}-{span}-{stamp}"


# -- parameter grids ------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A grid value: JSON when it parses (numbers, true/false, null), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_grid(tokens: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["kelly_fraction=0.1,0.25", "min_edge=0.02,0.05"]`` -> [(name, values), ...].

    A name may reach into the nested settings with dots: ``risk.max_order_cost=10,25`` or
    ``strategy_params.edge=0.02,0.04``.

    Raises:
        ConfigError: For a token that is not ``name=v1,v2,...``.
    """
    axes: list[tuple[str, list[Any]]] = []
    for token in tokens:
        name, sep, values = token.partition("=")
        name = name.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not parts:
            raise ConfigError(f"grid axis {token!r} is not like kelly_fraction=0.1,0.25")
        if any(name == other for other, _ in axes):
            raise ConfigError(f"grid axis {name!r} is given twice")
        axes.append((name, [parse_value(p) for p in parts]))
    return axes


def grid_points(axes: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the axes' values (the first axis varies slowest)."""
    names = [name for name, _ in axes]
    return [dict(zip(names, combo, strict=True)) for combo in
            itertools.product(*(values for _, values in axes))]  # fmt: skip


def apply_point(config: BacktestConfig, point: Mapping[str, Any]) -> BacktestConfig:
    """``config`` with a grid point's values (dotted names set nested settings).

    Raises:
        ConfigError: If a name is not a setting or a value does not validate.
    """
    data = config.model_dump()
    for name, value in point.items():
        head, _, rest = name.partition(".")
        if head not in data:
            raise ConfigError(f"grid axis {name!r}: {head!r} is not a backtest setting")
        if rest:
            nested = data[head]
            if not isinstance(nested, dict):
                raise ConfigError(f"grid axis {name!r}: {head!r} has no nested settings")
            if "." in rest:
                raise ConfigError(f"grid axis {name!r}: one level of nesting at most")
            nested[rest] = value
        else:
            data[head] = value
    try:
        return BacktestConfig.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"grid point {dict(point)}: {exc}") from None


def grid_configs(
    config: BacktestConfig, points: Sequence[Mapping[str, Any]]
) -> list[BacktestConfig]:
    """The config of every grid point, all validated.

    Raises:
        ConfigError: For a value that does not validate, or an axis that would change the
            inputs (:data:`INPUT_SETTINGS`).
    """
    varied = sorted({name.partition(".")[0] for point in points for name in point}
                    & set(INPUT_SETTINGS))  # fmt: skip
    if varied:
        raise ConfigError(f"a grid cannot vary {varied}: they choose the inputs (run one "
                          "backtest per value)")  # fmt: skip
    return [apply_point(config, point) for point in points]


def run_grid(
    config: BacktestConfig,
    inputs: BacktestInputs,
    points: Sequence[Mapping[str, Any]],
    log: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """One replay per grid point; a row per point with its values and headline metrics."""
    from weather_trader.backtest import metrics

    configs = grid_configs(config, points)  # all validated before any run
    rows = []
    for point, point_config in zip(points, configs, strict=True):
        clock = time.perf_counter()
        result = replay(point_config, inputs)
        stats = metrics.summary(result.trades, result.equity, point_config.bankroll)
        row = {**point, **{k: stats[k] for k in GRID_COLUMNS},
               "seconds": time.perf_counter() - clock}  # fmt: skip
        rows.append(reports.jsonable(row))
        log(format_grid([rows[-1]], header=len(rows) == 1))
    return rows


def format_grid(rows: Sequence[Mapping[str, Any]], header: bool = True) -> str:
    """The grid as a fixed-width text table."""
    if not rows:
        return "(empty grid)"
    columns = list(rows[0])
    widths = {c: max(len(c), 10) for c in columns}

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
        return str(value)

    lines = ["  ".join(c.rjust(widths[c]) for c in columns)] if header else []
    lines += ["  ".join(cell(r.get(c)).rjust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)

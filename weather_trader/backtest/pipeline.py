"""One backtest from the archive to its report: predictions (cached), replays, metrics, files.

Used by ``weather-trader backtest`` (:mod:`weather_trader.cli_backtest`), the Dagster
``backtest_job`` and ``benchmarks/backtest.py``:

1. :func:`load_inputs` reads the archive (every city: the models train on all of them) and
   gets the point-in-time predictions of every bracket at the config's decision instants from
   the walk-forward of issue 8 (:func:`weather_trader.evaluation.run_walks`), or from the cache
   of an earlier identical walk (:func:`walk_cache_key`: the archive's contents, the instants,
   the last day, the kinds, the model settings and the forecasting code);
2. :func:`run` replays the config (``run_backtest``), replays it again at 0, 1 and 2 cents of
   slippage and builds the report (:mod:`.report`);
3. :func:`run_grid` replays one config per grid point on the same inputs.

A walk's predictions never depend on the cities, days or trading settings replayed, so one
cached walk serves every later backtest of the same archive.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from weather_trader.backtest import report as reports
from weather_trader.backtest.config import BacktestConfig, ConfigError
from weather_trader.backtest.result import BacktestResult

SLIPPAGE_CENTS = (0, 1, 2)
"""The slippage settings every report shows."""
CACHE_VERSION = 1
GRID_COLUMNS = ("trades", "pnl", "roi", "win_rate", "sharpe", "max_drawdown",
                "mean_daily_pnl_ci_low", "mean_daily_pnl_ci_high")  # fmt: skip


@dataclass
class BacktestInputs:
    """What ``run_backtest`` reads (schemas in :mod:`weather_trader.backtest.result`)."""

    predictions: pd.DataFrame
    tape: pd.DataFrame
    quotes: pd.DataFrame | None
    markets: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)
    cached: bool = False


@dataclass
class BacktestRun:
    """A finished backtest: the main replay, the slippage replays and the report."""

    config: BacktestConfig
    result: BacktestResult
    slippage: dict[int, BacktestResult]
    report: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


# -- inputs ---------------------------------------------------------------------------------------


def _frame_fingerprint(frame: pd.DataFrame) -> str:
    """A digest of a frame's contents (row hashes), stable across processes."""
    if frame.empty:
        return f"empty:{','.join(map(str, frame.columns))}"
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _code_fingerprint() -> str:
    """A digest of the forecasting code (a changed model invalidates cached walks)."""
    import weather_trader.core.forecasting as forecasting

    digest = hashlib.sha256()
    for path in sorted(Path(forecasting.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def walk_cache_key(frames: Any, config: BacktestConfig, suite: Any) -> str:
    """The key of a walk: everything its predictions depend on, nothing they do not."""
    components = [m.name for m in suite.components()]
    settings = {k: v for k, v in vars(suite).items() if k not in ("components", "baselines")}
    parts = {
        "version": CACHE_VERSION,
        "instants": list(config.instants),
        "kinds": sorted(config.kinds),
        "end": str(config.end),
        "components": components,
        "suite": {k: repr(v) for k, v in sorted(settings.items())},
        "code": _code_fingerprint(),
        "frames": [_frame_fingerprint(getattr(frames, name))
                   for name in ("forecasts", "reports", "markets", "trades")],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def walk_predictions(frames: Any, config: BacktestConfig, suite: Any, workers: int) -> pd.DataFrame:
    """The walk-forward's bracket predictions at every instant of ``config``, as
    ``run_backtest`` reads them."""
    from weather_trader.backtest.inputs import predictions_from_brackets
    from weather_trader.evaluation import run_walks

    walks = run_walks(frames, config.decision_instants(), config.end, suite, workers)
    return pd.concat(
        [predictions_from_brackets(w.brackets, w.instant.label) for w in walks],
        ignore_index=True,
    )


def load_inputs(
    engine: Engine,
    config: BacktestConfig,
    *,
    cache_dir: Path | None = None,
    suite: Any = None,
    workers: int = 1,
    log: Callable[[str], None] = lambda line: None,
) -> BacktestInputs:
    """The archive's tape, quotes and markets and the walk's predictions for ``config``.

    Args:
        engine: The domain database holding the archive.
        config: The backtest (its instants, kinds and last day decide the walk).
        cache_dir: Where walks are cached (None: never cached).
        suite: Model settings (default ``ModelSuite()``).
        workers: Processes for the walks (one instant each).
        log: Progress lines.
    """
    from weather_trader.backtest.load import load_quotes
    from weather_trader.core.forecasting.suite import ModelSuite
    from weather_trader.evaluation import load_archive

    suite = suite or ModelSuite()
    clock = time.perf_counter()
    frames = load_archive(engine, end=config.end, kinds=tuple(config.kinds))
    seconds = {"load": time.perf_counter() - clock}
    log(f"archive: {len(frames.markets)} markets, {len(frames.trades)} trades, "
        f"{len(frames.forecasts)} forecasts, {len(frames.reports)} reports "
        f"({seconds['load']:.1f} s)")  # fmt: skip
    clock = time.perf_counter()
    key = walk_cache_key(frames, config, suite) if cache_dir is not None else None
    path = cache_dir / f"walk-{key}.pkl" if cache_dir is not None else None
    cached = path is not None and path.is_file()
    if cached:
        predictions = pd.read_pickle(path)
        log(f"predictions: reused {path.name}")
    else:
        log(f"predictions: walking forward at {', '.join(config.instants)} (weekly refits)")
        predictions = walk_predictions(frames, config, suite, workers)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            with tmp.open("wb") as out:
                pickle.dump(predictions, out, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
    seconds["predictions"] = time.perf_counter() - clock
    log(f"predictions: {len(predictions)} bracket rows ({seconds['predictions']:.1f} s)")
    clock = time.perf_counter()
    quotes = load_quotes(engine, frames.markets["ticker"].unique().tolist())
    seconds["quotes"] = time.perf_counter() - clock
    return BacktestInputs(predictions, frames.trades, quotes, frames.markets, seconds, cached)


# -- replays --------------------------------------------------------------------------------------


def replay(config: BacktestConfig, inputs: BacktestInputs) -> BacktestResult:
    """``run_backtest`` of ``config`` on ``inputs``."""
    from weather_trader.backtest.engine import run_backtest

    return run_backtest(config, inputs.predictions, inputs.tape, inputs.quotes, inputs.markets)


def _report_predictions(config: BacktestConfig, predictions: pd.DataFrame) -> pd.DataFrame:
    """The predictions of the markets replayed (cities, days, instants of ``config``)."""
    keep = predictions["city"].isin(config.cities) & predictions["instant"].isin(config.instants)
    days = pd.to_datetime(predictions["climate_date"]).dt.date
    if config.start is not None:
        keep &= days >= config.start
    if config.end is not None:
        keep &= days <= config.end
    if "kind" in predictions.columns:
        keep &= predictions["kind"].isin(config.kinds)
    return predictions[keep.to_numpy()]


def build_report(
    config: BacktestConfig,
    result: BacktestResult,
    slippage: Mapping[int, BacktestResult],
    predictions: pd.DataFrame | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of ``result`` with its slippage table and calibration."""
    selected = _report_predictions(config, predictions) if predictions is not None else None
    return reports.build_report(
        config,
        result.trades,
        result.equity,
        bankroll=config.bankroll,
        slippage_runs={cents / 100: (r.trades, r.equity) for cents, r in slippage.items()},
        predictions=selected,
        model_column=f"p_{config.predictor}",
        extra={"stats": result.stats, **(extra or {})},
    )


def run(
    config: BacktestConfig,
    inputs: BacktestInputs,
    *,
    slippage_cents: Sequence[int] = SLIPPAGE_CENTS,
) -> BacktestRun:
    """Replay ``config``, replay it at each slippage setting, and build the report."""
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
    report = build_report(config, result, runs, inputs.predictions,
                          extra={"seconds": {**inputs.seconds, **seconds}})  # fmt: skip
    seconds["report"] = time.perf_counter() - clock
    report["seconds"] = {**inputs.seconds, **seconds}
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


def _value(text: str) -> Any:
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
        axes.append((name, [_value(p) for p in parts]))
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


def run_grid(
    config: BacktestConfig,
    inputs: BacktestInputs,
    points: Sequence[Mapping[str, Any]],
    log: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """One replay per grid point; a row per point with its values and headline metrics."""
    from weather_trader.backtest import metrics

    configs = [apply_point(config, point) for point in points]  # all validated before any run
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

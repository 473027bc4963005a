"""Walk-forward evaluation of the forecast models against the market, from the archive.

Loads the archive's frames through :mod:`weather_trader.store.repo_history` (every city: the
models train on all of them, whichever cities are reported), runs the walk-forward of
:mod:`weather_trader.core.forecasting.walkforward` at each decision instant, and scores the
requested cities and climate days (:mod:`weather_trader.core.forecasting.report`).

What is loaded never depends on ``start``: only climate days after ``end`` are left out, which
no prediction up to ``end`` can use (a case reads only its own day's forecasts, and fits use
only earlier days).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from weather_trader.core.forecasting.report import build_report
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.core.forecasting.walkforward import DecisionInstant, WalkResult, walk_forward
from weather_trader.store import repo_history

DEFAULT_INSTANTS = ("D-1 16:00", "D 08:00")
"""The instants the issue measures (also ``cli_evaluate.DEFAULT_INSTANTS``)."""


@dataclass
class ArchiveFrames:
    """The archive as the walk-forward reads it (``store.repo_history`` schemas)."""

    forecasts: pd.DataFrame
    reports: pd.DataFrame
    markets: pd.DataFrame
    trades: pd.DataFrame


@dataclass
class Evaluation:
    """A finished evaluation: the report (issue schema), the walks and where time went."""

    report: dict[str, list[dict[str, Any]]]
    walks: list[WalkResult]
    seconds: dict[str, float] = field(default_factory=dict)


def load_archive(
    engine: Engine, end: date | None = None, kinds: Sequence[str] = ("high",)
) -> ArchiveFrames:
    """Every city's forecasts, reports, markets and their trades, up to climate day ``end``."""
    forecasts = repo_history.forecast_history(engine, end=end)
    reports = repo_history.report_history(engine, end=end)
    markets = repo_history.market_history(engine, end=end)
    forecasts = forecasts[forecasts["kind"].isin(kinds)].reset_index(drop=True)
    reports = reports[reports["kind"].isin(kinds)].reset_index(drop=True)
    markets = markets[markets["kind"].isin(kinds)].reset_index(drop=True)
    trades = repo_history.trade_history(engine, markets["ticker"].unique().tolist())
    return ArchiveFrames(forecasts, reports, markets, trades)


_FRAMES: ArchiveFrames | None = None
"""The frames a forked worker inherits (so they are not pickled to each process)."""


def _walk(args: tuple[DecisionInstant, date | None, ModelSuite, tuple[str, ...]]) -> WalkResult:
    instant, end, suite, kinds = args
    assert _FRAMES is not None
    f = _FRAMES
    return walk_forward(
        instant, f.forecasts, f.reports, f.markets, f.trades, until=end, suite=suite, kinds=kinds
    )


def run_walks(
    frames: ArchiveFrames,
    instants: Sequence[DecisionInstant],
    end: date | None,
    suite: ModelSuite | None = None,
    workers: int = 1,
) -> list[WalkResult]:
    """One walk per instant; instants run in parallel processes when ``workers > 1``.

    Every kind with a market in ``frames`` is walked (``high`` when there are none).
    """
    global _FRAMES
    suite = suite or ModelSuite()
    kinds = tuple(sorted(set(frames.markets["kind"]))) or ("high",)
    _FRAMES = frames
    try:
        jobs = [(instant, end, suite, kinds) for instant in instants]
        if workers <= 1 or len(jobs) <= 1 or os.name != "posix":
            return [_walk(job) for job in jobs]
        import multiprocessing

        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            return list(pool.map(_walk, jobs))
    finally:
        _FRAMES = None


def evaluate(
    engine: Engine,
    cities: Sequence[str] | None,
    start: date | None,
    end: date | None,
    instants: Sequence[DecisionInstant],
    *,
    suite: ModelSuite | None = None,
    workers: int = 1,
    out: Path | None = None,
) -> Evaluation:
    """Walk forward at each instant and score ``cities`` over ``start..end``.

    Args:
        engine: The domain database holding the archive.
        cities: City codes to report (all when None); training always uses every city.
        start, end: Climate days reported (inclusive; None: open).
        instants: Decision instants.
        suite: Model settings (default :class:`ModelSuite`).
        workers: Processes (one walk per instant each).
        out: When given, the report JSON is written there.
    """
    clock = time.perf_counter()
    frames = load_archive(engine, end=end)
    loaded = time.perf_counter()
    walks = run_walks(frames, instants, end, suite, workers)
    walked = time.perf_counter()
    report = build_report(walks, cities, start, end)
    seconds = {
        "load": loaded - clock,
        "walk": walked - loaded,
        "report": time.perf_counter() - walked,
        "fit": sum(w.seconds.get("fit", 0.0) for w in walks),
        "cases": sum(w.seconds.get("cases", 0.0) for w in walks),
        "predict": sum(w.seconds.get("predict", 0.0) for w in walks),
    }
    if out is not None:
        write_report(report, out)
    return Evaluation(report, walks, seconds)


def write_report(report: dict[str, Any], out: Path) -> None:
    """Write the report JSON (parents created; written whole or not at all)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, allow_nan=False))
    tmp.replace(out)

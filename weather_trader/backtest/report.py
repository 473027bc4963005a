"""The backtest report: one JSON document per run (and the HTML view of it, :mod:`.html`).

Shape (times ISO 8601 UTC, money in dollars, probabilities in [0, 1]; None where undefined)::

    {"config": {"bankroll", ...},                 # everything the run depended on
     "summary": {"trades", "win_rate", "pnl", "roi", "fees", "sharpe", "max_drawdown", ...},
     "by_city": [{"city", "trades", "win_rate", "pnl", "roi", ...}],
     "by_instant": [...], "by_price_bucket": [...],
     "slippage": [{"slippage", "trades", "pnl", "roi", "sharpe", "max_drawdown",
                   "mean_daily_pnl", "mean_daily_pnl_ci_low", "mean_daily_pnl_ci_high"}],
     "calibration": {"traded": {"model": [...], "market": [...]}, "all": {...}},
     "trades": [{"decided_at", "filled_at", "market_ticker", "action", "side", "count",
                 "price", "fee", "liquidity", "settled_yes", "pnl", ...}],
     "equity": [{"date", "equity", "drawdown"}]}

The issue's keys come first and are always present; the rest adds what the metrics module
computes. The dashboard (``api/backtest_reports.py``) reads the same files from the home's
``backtests/`` folder: the summary's scalars and the ``equity`` series.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.backtest import metrics

REQUIRED_KEYS = ("config", "summary", "by_city", "trades", "equity")
"""The top-level keys the issue names (always present)."""
SUMMARY_KEYS = ("trades", "win_rate", "pnl", "roi", "fees", "sharpe", "max_drawdown")
TRADE_KEYS = (
    "decided_at", "filled_at", "market_ticker", "action", "side", "count", "price", "fee",
    "liquidity", "settled_yes", "pnl",
)  # fmt: skip
"""The trade fields the issue names; the report adds the event, city, day, instant and the
probabilities the trade was decided on."""
EXTRA_TRADE_KEYS = ("event_ticker", "city", "climate_date", "instant", "p_model", "p_market")
SLIPPAGE_KEYS = (
    "trades", "pnl", "roi", "sharpe", "max_drawdown", "mean_daily_pnl", "mean_daily_pnl_ci_low",
    "mean_daily_pnl_ci_high",
)  # fmt: skip
MODEL_COLUMN = "p_ours"
MARKET_COLUMN = "p_market"
"""Prediction columns of the calibration of every bracket (``p_<predictor>``)."""


def jsonable(value: Any) -> Any:
    """``value`` with Decimals, numpy scalars, dates, dataclasses and NaN made JSON-safe.

    Decimals become floats (dollars), datetimes ISO 8601 UTC (``...Z``), dates ``YYYY-MM-DD``,
    NaN and infinities None.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "model_dump"):  # pydantic
        return jsonable(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to the report")


def iso_utc(moment: Any) -> str | None:
    """A tz-aware instant as ISO 8601 in UTC with a ``Z`` (naive ones are refused)."""
    if moment is None or moment is pd.NaT:
        return None
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r} in a backtest frame: times must be UTC")
    return stamp.tz_convert("UTC").isoformat().replace("+00:00", "Z")


def trade_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """The fills as report rows (issue fields first, then the context fields present)."""
    metrics.require_columns(trades, TRADE_KEYS, "trades")
    keys = [*TRADE_KEYS, *(k for k in EXTRA_TRADE_KEYS if k in trades.columns)]
    rows = []
    for record in trades.loc[:, keys].to_dict("records"):
        row = {k: jsonable(record[k]) for k in keys}
        row["decided_at"] = iso_utc(record["decided_at"])
        row["filled_at"] = iso_utc(record["filled_at"])
        settled = record["settled_yes"]
        row["settled_yes"] = None if settled is None or settled is pd.NA or (
            isinstance(settled, float) and math.isnan(settled)) else bool(settled)  # fmt: skip
        rows.append(row)
    return rows


def equity_records(equity: pd.DataFrame, bankroll: Decimal | float) -> list[dict[str, Any]]:
    """End-of-day equity (and the drawdown below its running peak) per day."""
    curve = metrics.drawdown_curve(equity, bankroll)
    return [
        {"date": pd.Timestamp(d).date().isoformat(), "equity": float(e), "drawdown": float(dd)}
        for d, e, dd in zip(curve["date"], curve["equity"], curve["drawdown"], strict=True)
    ]


def headline(trades: pd.DataFrame, equity: pd.DataFrame, bankroll: Decimal | float) -> dict:
    """The slippage table's numbers for one run."""
    full = metrics.summary(trades, equity, bankroll)
    return {k: full[k] for k in SLIPPAGE_KEYS}


def calibration_tables(
    trades: pd.DataFrame,
    predictions: pd.DataFrame | None,
    model_column: str = MODEL_COLUMN,
    market_column: str = MARKET_COLUMN,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Reliability tables of the probabilities traded on and, when ``predictions`` is given
    (the walk's brackets, with ``outcome``), of every bracket replayed."""
    traded = metrics.traded_probabilities(trades)
    out = {
        "traded": {
            "model": metrics.calibration(traded["p_model"], traded["settled_yes"]),
            "market": metrics.calibration(traded["p_market"], traded["settled_yes"]),
        }
    }
    if predictions is not None and len(predictions) and "outcome" in predictions.columns:
        y = predictions["outcome"]
        out["all"] = {
            name: metrics.calibration(predictions[column], y)
            for name, column in (("model", model_column), ("market", market_column))
            if column in predictions.columns
        }
    return out


def build_report(
    config: Any,
    trades: pd.DataFrame,
    equity: pd.DataFrame,
    *,
    bankroll: Decimal | float,
    slippage_runs: Mapping[float, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
    predictions: pd.DataFrame | None = None,
    model_column: str = MODEL_COLUMN,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of one run.

    Args:
        config: The run's configuration (a dataclass, pydantic model or mapping); it must name
            the bankroll.
        trades, equity: The engine's frames (:mod:`.metrics` describes them).
        bankroll: The starting bankroll.
        slippage_runs: ``slippage (dollars) -> (trades, equity)`` of the same run replayed at
            other slippage settings (the report's ``slippage`` table).
        predictions: The walk's bracket predictions over the run's markets (for the
            calibration of every bracket, not only those traded).
        model_column: The predictions' column the run traded on (``p_ours``).
        extra: More top-level entries (e.g. timings), written after the others.
    """
    config_json = jsonable(config)
    if not isinstance(config_json, dict) or "bankroll" not in config_json:
        raise metrics.MetricsError("the report's config must be a mapping with a bankroll")
    metrics.require_columns(trades, metrics.TRADE_COLUMNS, "trades")
    bucketed = metrics.with_price_bucket(trades)
    report: dict[str, Any] = {
        "config": config_json,
        "summary": metrics.summary(trades, equity, bankroll),
        "by_city": metrics.breakdown(trades, "city"),
        "trades": trade_records(trades),
        "equity": equity_records(equity, bankroll),
        "by_instant": metrics.breakdown(trades, "instant"),
        "by_price_bucket": metrics.breakdown(
            bucketed, "price_bucket", order=metrics.price_bucket_labels()
        ),
        "slippage": [
            {"slippage": float(s), **headline(t, e, bankroll)}
            for s, (t, e) in sorted((slippage_runs or {}).items())
        ],
        "calibration": calibration_tables(trades, predictions, model_column),
    }
    if extra:
        report.update(extra)
    return jsonable(report)


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    """Write ``report`` to ``path`` whole or not at all (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(path)
    return path


def read_json(path: Path) -> dict[str, Any]:
    """A report written by :func:`write_json` (checked for the issue's keys).

    Raises:
        ValueError: If the file is not a report.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or any(k not in data for k in REQUIRED_KEYS):
        raise ValueError(f"{path} is not a backtest report (keys {REQUIRED_KEYS} expected)")
    return data

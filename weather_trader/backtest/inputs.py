"""Input frames of a backtest: the predictions schema and its construction from walk-forward.

The walk-forward of the forecast-skill evaluation (``WalkResult.brackets``) already holds, per
decision instant and bracket market, every predictor's point-in-time probability and the
outcome. :func:`predictions_from_walks` renames it into the backtest's ``predictions`` schema
(:mod:`weather_trader.backtest.result`): ``ticker`` -> ``market_ticker``, each predictor
column ``<name>`` -> ``p_<name>``, plus the ``instant`` label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.backtest.config import BacktestConfig

PREDICTION_COLUMNS = (
    "instant", "decided_at", "event_ticker", "market_ticker", "city", "kind", "climate_date",
    "lo", "hi", "p_market", "outcome",
)  # fmt: skip
"""Required prediction columns, besides ``p_<predictor>``."""
MARKET_COLUMNS = ("ticker", "series_ticker", "close_time", "result")


class InputError(ValueError):
    """Raised for input frames that do not fit the schemas (the message names what)."""


def require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} is missing columns {missing}")


def predictions_from_brackets(
    brackets: pd.DataFrame, instant: str, predictors: Iterable[str]
) -> pd.DataFrame:
    """One instant's ``WalkResult.brackets`` in the predictions schema."""
    out = brackets.rename(columns={"ticker": "market_ticker"}).copy()
    for name in predictors:
        column = f"p_{name}"
        if name in out.columns and column not in out.columns:
            out = out.rename(columns={name: column})
        elif name in out.columns:
            out = out.drop(columns=[name])  # "market" duplicates p_market
    out.insert(0, "instant", instant)
    if "kind" not in out.columns:
        out["kind"] = "high"
    return out


def predictions_from_walks(walks: Iterable[Any]) -> pd.DataFrame:
    """Every walk's brackets (``WalkResult``: ``instant``, ``brackets``, ``predictors``)."""
    frames = [predictions_from_brackets(w.brackets, w.instant.label, w.predictors) for w in walks]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[*PREDICTION_COLUMNS, "p_ours"])
    return pd.concat(frames, ignore_index=True)


def select_predictions(predictions: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """The rows a run replays (cities, kinds, climate days, instants) with ``p_model``.

    ``p_model`` is the configured predictor's column (``p_<predictor>``, or ``<predictor>``
    as the walk names it).

    Raises:
        InputError: For missing columns or a predictor the frame does not have.
    """
    frame = predictions
    if "market_ticker" not in frame.columns and "ticker" in frame.columns:
        frame = frame.rename(columns={"ticker": "market_ticker"})
    require(frame, PREDICTION_COLUMNS, "predictions")
    column = f"p_{config.predictor}"
    if column not in frame.columns:
        if config.predictor in frame.columns:
            column = config.predictor
        else:
            have = sorted(c[2:] for c in frame.columns if c.startswith("p_"))
            raise InputError(f"predictions have no predictor {config.predictor!r}; have {have}")
    days = pd.to_datetime(frame["climate_date"]).dt.date
    keep = (
        frame["city"].isin(config.cities).to_numpy()
        & frame["kind"].isin(config.kinds).to_numpy()
        & frame["instant"].isin(config.instants).to_numpy()
    )
    if config.start is not None:
        keep &= (days >= config.start).to_numpy()
    if config.end is not None:
        keep &= (days <= config.end).to_numpy()
    out = frame.loc[keep].copy()
    out["climate_date"] = days[keep].to_numpy()
    out["decided_at"] = pd.to_datetime(out["decided_at"], utc=True)
    out["p_model"] = out[column].to_numpy(dtype=float)
    out["p_market"] = out["p_market"].to_numpy(dtype=float)
    out["outcome"] = pd.to_numeric(out["outcome"], errors="coerce").to_numpy(dtype=float)
    out["lo"] = out["lo"].to_numpy(dtype=np.int64)
    out["hi"] = out["hi"].to_numpy(dtype=np.int64)
    return out.sort_values(["decided_at", "city", "event_ticker", "lo"], kind="stable").reset_index(
        drop=True
    )

"""Scores of walk-forward predictions against the truth, per instant, city and predictor.

An event is scored only where every bracket has a market price, every predictor has a
probability for every bracket, and the truth picks exactly one bracket: all predictors are
scored on the same events. Scores (lower is better):

* ``brier``: mean binary Brier score over the bracket markets of the scored events;
* ``event_brier``: sum over an event's brackets of (p - outcome)^2, averaged over events
  (a uniform guess over 6 brackets scores 0.83);
* ``log_loss``: mean of -log p(winning bracket) over events (p floored at 1e-12);
* ``crps``: mean CRPS (F) of the predictor's integer distribution; None for the market,
  which prices brackets, not a distribution.

The report is ``{"results": [...], "predictions": [...]}`` (see :func:`build_report`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.pmf import LOG_SCORE_FLOOR, crps
from weather_trader.core.forecasting.suite import MARKET, MARKET_RAW, OURS, WEATHER
from weather_trader.core.forecasting.walkforward import WalkResult

ALL = "ALL"
_FIRST = (MARKET, MARKET_RAW, WEATHER, OURS)


def ordered_predictors(names: Iterable[str]) -> list[str]:
    """Market, market_raw, weather, ours, then the rest (components, baselines) in order given."""
    names = list(dict.fromkeys(names))
    return [n for n in _FIRST if n in names] + [n for n in names if n not in _FIRST]


def _select(walk: WalkResult, cities: Sequence[str] | None, start: date | None, end: date | None):
    br = walk.brackets
    keep = np.ones(len(br), dtype=bool)
    if cities is not None:
        keep &= br["city"].isin(list(cities)).to_numpy()
    days = pd.to_datetime(br["climate_date"]).dt.date
    if start is not None:
        keep &= (days >= start).to_numpy()
    if end is not None:
        keep &= (days <= end).to_numpy()
    return br.loc[keep].reset_index(drop=True)


def scored_events(brackets: pd.DataFrame, predictors: Sequence[str]) -> pd.Series:
    """Per bracket row: whether its event is scored (complete prices, predictions, one winner)."""
    probs = brackets.loc[:, list(predictors)].to_numpy(dtype=float)
    row_ok = np.isfinite(probs).all(axis=1) & np.isfinite(brackets["outcome"].to_numpy(dtype=float))
    frame = pd.DataFrame({"e": brackets["event_ticker"].to_numpy(), "ok": row_ok})
    frame["o"] = brackets["outcome"].fillna(0).to_numpy()
    all_ok = frame.groupby("e")["ok"].transform("all")
    one_winner = frame.groupby("e")["o"].transform("sum") == 1
    return (all_ok & one_winner).set_axis(brackets.index)


def _case_crps(walk: WalkResult, events: pd.DataFrame, name: str) -> np.ndarray:
    key = ["city", "kind", "climate_date"]
    rows = (
        events.loc[:, key]
        .merge(walk.cases.loc[:, key].assign(_row=np.arange(len(walk.cases))), on=key, how="left")[
            "_row"
        ]
        .to_numpy(dtype=int)
    )
    return crps(walk.pmfs[name][rows], walk.cases["score_truth"].to_numpy(dtype=float)[rows])


def score_walk(
    walk: WalkResult,
    cities: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Result rows (per city and ``ALL``, per predictor) for one instant's walk."""
    predictors = ordered_predictors(walk.predictors)
    br = _select(walk, cities, start, end)
    br = br.loc[scored_events(br, predictors).to_numpy()] if len(br) else br
    events = br.groupby("event_ticker", sort=True).first().reset_index() if len(br) else br
    crps_by = {
        name: (_case_crps(walk, events, name) if len(events) else np.empty(0))
        for name in predictors
        if name in walk.pmfs
    }
    groups = [(ALL, np.ones(len(events), dtype=bool))]
    for city in sorted(events["city"].unique()) if len(events) else []:
        groups.append((city, (events["city"] == city).to_numpy()))
    results = []
    outcome = br["outcome"].to_numpy(dtype=float)
    for label, mask in groups:
        chosen = set(events.loc[mask, "event_ticker"]) if len(events) else set()
        in_group = br["event_ticker"].isin(chosen).to_numpy()
        for name in predictors:
            p = br[name].to_numpy(dtype=float)[in_group]
            o = outcome[in_group]
            n_events = len(chosen)
            winners = p[o == 1]
            row: dict[str, Any] = {
                "instant": walk.instant.label,
                "city": label,
                "predictor": name,
                "events": n_events,
                "brier": float(np.mean((p - o) ** 2)) if n_events else None,
                "event_brier": float(np.sum((p - o) ** 2) / n_events) if n_events else None,
                "log_loss": (
                    float(np.mean(-np.log(np.maximum(winners, LOG_SCORE_FLOOR))))
                    if n_events
                    else None
                ),
                "crps": (
                    float(np.mean(crps_by[name][mask])) if name in crps_by and n_events else None
                ),
            }
            results.append(row)
    return results


def prediction_rows(
    walk: WalkResult,
    cities: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Every bracket of every selected event, per predictor, scored or not (p None if absent)."""
    br = _select(walk, cities, start, end)
    out = []
    for name in ordered_predictors(walk.predictors):
        values = br[name].to_numpy(dtype=float)
        for event, ticker, p in zip(br["event_ticker"], br["ticker"], values, strict=True):
            out.append(
                {
                    "instant": walk.instant.label,
                    "event_ticker": event,
                    "market_ticker": ticker,
                    "predictor": name,
                    "p": float(p) if np.isfinite(p) else None,
                }
            )
    return out


def build_report(
    walks: Sequence[WalkResult],
    cities: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"results": [...], "predictions": [...]}`` over the selected cities and climate days."""
    results: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    for walk in walks:
        results += score_walk(walk, cities, start, end)
        predictions += prediction_rows(walk, cities, start, end)
    return {"results": results, "predictions": predictions}


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """The results as a fixed-width text table (one block per instant and city)."""

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    lines = []
    header = (
        f"{'predictor':<14}{'events':>7}{'event_brier':>12}{'brier':>8}{'log_loss':>9}{'crps':>7}"
    )
    current = None
    for r in results:
        block = (r["instant"], r["city"])
        if block != current:
            current = block
            lines += ["", f"{r['instant']}  {r['city']}", header]
        lines.append(
            f"{r['predictor']:<14}{r['events']:>7}{num(r['event_brier'], '.3f'):>12}"
            f"{num(r['brier'], '.4f'):>8}{num(r['log_loss'], '.3f'):>9}{num(r['crps'], '.2f'):>7}"
        )
    return "\n".join(lines).lstrip("\n")

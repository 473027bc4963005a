"""Skill figures of the forecast models, and a pmf's compact stored form.

Pure helpers for the model assets and the evaluation asset: event Brier per city and predictor
on scored bracket frames (the measured edge trading is gated on), reliability tables (PIT for
distributions, calibration bins for bracket probabilities), and the trimmed pmf a stored
distribution carries in its ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.pmf import N_SUPPORT, SUPPORT, pmf_mean, pmf_std
from weather_trader.core.gating import MeasuredEdge

PMF_TRIM = 1e-9
"""Mass below this at either end of a stored pmf is dropped (then renormalised on load)."""


class SkillError(ValueError):
    """Raised for malformed score inputs or a stored pmf that cannot be read back."""


# -- event Brier -----------------------------------------------------------------------------------


def per_event_briers(
    brackets: pd.DataFrame, predictors: Sequence[str], by: Sequence[str] = ("city",)
) -> pd.DataFrame:
    """Each complete event's Brier per predictor: columns ``_event, *by`` and one per predictor.

    An event's Brier is the sum over its brackets of (p - outcome)^2. An event counts only
    where every bracket has an outcome and a probability from every predictor in
    ``predictors``, so all are scored on the same events.

    Args:
        brackets: One row per bracket: ``event_ticker``, ``decided_at``, the ``by`` columns,
            ``outcome`` (1/0, NaN unknown) and one probability column per predictor.
        predictors: The probability columns to score.
        by: Grouping columns kept on each event row (e.g. ``city``).

    Raises:
        SkillError: If a needed column is missing.
    """
    needed = ["event_ticker", "decided_at", "outcome", *by, *predictors]
    missing = [c for c in needed if c not in brackets.columns]
    if missing:
        raise SkillError(f"scored brackets lack columns {missing}")
    frame = brackets.loc[:, needed].copy()
    frame["_event"] = frame["event_ticker"].astype(str) + "@" + frame["decided_at"].astype(str)
    values = frame.loc[:, ["outcome", *predictors]].to_numpy(dtype=float)
    frame["_complete"] = np.isfinite(values).all(axis=1)
    complete = frame.groupby("_event")["_complete"].transform("all")
    frame = frame[complete.to_numpy()]
    for p in predictors:
        frame[p] = (frame[p].astype(float) - frame["outcome"].astype(float)) ** 2
    return frame.groupby(["_event", *by], as_index=False)[list(predictors)].sum()


def event_briers(
    brackets: pd.DataFrame, predictors: Sequence[str], by: Sequence[str] = ("city",)
) -> pd.DataFrame:
    """Mean event Brier of each predictor per group, on the events every predictor priced
    (:func:`per_event_briers`); an empty ``by`` scores everything together.

    Returns:
        Columns ``*by, events`` and one mean event Brier column per predictor.
    """
    per_event = per_event_briers(brackets, predictors, by)
    if not by:
        per_event["_all"] = "ALL"
        by = ("_all",)
    grouped = per_event.groupby(list(by))
    out = grouped[list(predictors)].mean()
    out.insert(0, "events", grouped.size())
    out = out.reset_index()
    return out.drop(columns=["_all"]) if "_all" in out.columns else out


def weather_beats_climatology(crps_weather: float | None, crps_climatology: float | None) -> bool:
    """The model check: the weather stack's out-of-sample CRPS is no worse than climatology's
    (a stack without a score fails; one without a climatology score to compare passes)."""
    if crps_weather is None:
        return False
    return crps_climatology is None or crps_weather <= crps_climatology + 1e-12


def measured_edges(
    brackets: pd.DataFrame, instant: str, ours: str = "ours", market: str = "market"
) -> list[MeasuredEdge]:
    """Per city, what a walk-forward measured of ``ours`` against the market at ``instant``:
    both mean event Briers and the standard error of their mean per-event difference.

    Cities with brackets but no complete event get ``events = 0`` (no edge measured).
    """
    if not len(brackets):
        return []
    per_event = per_event_briers(brackets, [ours, market])
    edges = []
    for city in sorted(brackets["city"].astype(str).unique()):
        scored = per_event[per_event["city"].astype(str) == city]
        n = len(scored)
        if n == 0:
            edges.append(MeasuredEdge(city, instant, 0, None, None))
            continue
        diff = (scored[ours] - scored[market]).to_numpy(dtype=float)
        se = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else None
        edges.append(
            MeasuredEdge(
                city,
                instant,
                n,
                float(scored[ours].mean()),
                float(scored[market].mean()),
                se,
            )
        )
    return edges


# -- reliability -----------------------------------------------------------------------------------


def pit_values(pmf: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mid-PIT of each case: P(T < t) + P(T = t) / 2 (uniform when calibrated); NaN when the
    row or the truth is missing."""
    arr = np.asarray(pmf, dtype=float)
    t = np.asarray(truth, dtype=float)
    out = np.full(len(t), np.nan)
    ok = np.isfinite(arr).all(axis=1) & np.isfinite(t)
    if not ok.any():
        return out
    idx = np.clip(np.rint(t[ok]).astype(int) - SUPPORT[0], 0, N_SUPPORT - 1)
    cum = np.cumsum(arr[ok], axis=1)
    at = arr[ok][np.arange(ok.sum()), idx]
    out[ok] = cum[np.arange(ok.sum()), idx] - at / 2
    return out


def pit_table(pmf: np.ndarray, truth: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """PIT histogram: the share of cases in each of ``bins`` equal PIT bins (a calibrated
    distribution puts ``1 / bins`` in each; a U shape is over-confident, a hump too wide)."""
    pit = pit_values(pmf, truth)
    pit = pit[np.isfinite(pit)]
    counts, edges = np.histogram(pit, bins=bins, range=(0.0, 1.0))
    total = max(len(pit), 1)
    return [
        {
            "pit_from": round(float(lo), 2),
            "pit_to": round(float(hi), 2),
            "cases": int(c),
            "share": round(float(c) / total, 4),
            "expected": round(1.0 / bins, 4),
        }
        for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def calibration_table(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Reliability table of binary probabilities: per equal-width bin with any forecast in it,
    ``p_from``, ``p_to``, ``n``, the mean forecast and the observed frequency (NaNs dropped)."""
    p, y = np.asarray(p, dtype=float), np.asarray(outcome, dtype=float)
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        rows.append(
            {
                "p_from": b / bins,
                "p_to": (b + 1) / bins,
                "n": int(inside.sum()),
                "mean_p": float(p[inside].mean()),
                "observed": float(y[inside].mean()),
            }
        )
    return rows


# -- stored pmf ------------------------------------------------------------------------------------


def pmf_summary(row: np.ndarray) -> tuple[float, float, dict[str, Any]]:
    """``(mean, std, extra)`` of one pmf row: the summary statistics and the trimmed pmf
    (``pmf_lo``: the first whole degree kept, ``pmf``: the probabilities from there).

    Raises:
        SkillError: If ``row`` is not one finite pmf over the support.
    """
    arr = np.asarray(row, dtype=float)
    if arr.shape != (N_SUPPORT,) or not np.isfinite(arr).all():
        raise SkillError(f"a pmf row must be {N_SUPPORT} finite values")
    keep = np.flatnonzero(arr > PMF_TRIM)
    if len(keep) == 0:
        raise SkillError("a pmf row without mass")
    lo, hi = int(keep[0]), int(keep[-1])
    mu, sigma = float(pmf_mean(arr[None, :])[0]), float(pmf_std(arr[None, :])[0])
    extra = {"pmf_lo": int(SUPPORT[lo]), "pmf": [float(x) for x in arr[lo : hi + 1]]}
    return mu, sigma, extra


def pmf_from_extra(extra: Mapping[str, Any]) -> np.ndarray:
    """The full-support pmf row a stored distribution's ``extra`` carries.

    Raises:
        SkillError: If ``extra`` has no pmf, or one outside the support or without mass.
    """
    if "pmf" not in extra or "pmf_lo" not in extra:
        raise SkillError("the stored distribution carries no pmf (made by an older method?)")
    values = np.asarray(extra["pmf"], dtype=float)
    start = int(extra["pmf_lo"]) - int(SUPPORT[0])
    if start < 0 or start + len(values) > N_SUPPORT or not np.isfinite(values).all():
        raise SkillError("the stored pmf lies outside the support or holds non-numbers")
    total = values.sum()
    if total <= 0:
        raise SkillError("the stored pmf has no mass")
    row = np.zeros(N_SUPPORT)
    row[start : start + len(values)] = values / total
    return row

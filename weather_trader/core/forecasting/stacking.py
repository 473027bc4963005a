"""``weather``: a CRPS-weighted mixture of the component models' out-of-sample pmfs.

The stack is the linear pool ``p = Σ_j v_j p_j`` with weights ``v`` on the simplex minimising the
mean CRPS of the mixture over cases. On an integer grid the CRPS (ranked probability score) of a
pmf with CDF ``F`` against truth ``y`` is ``Σ_k (F_k - 1{y <= k})²``, and the mixture's CDF is the
weighted sum of the components' CDFs, so the objective is a quadratic form in ``v`` computed
once from ``(n, S)`` arrays; the optimisation itself is over a handful of numbers.

Where a component has no inputs for a case (a NaN row), the stack renormalises the weights over
the components that do; the fit minimises exactly that renormalised mixture's CRPS, grouping
cases by which components are present.

The weights must be fitted on *out-of-sample* component predictions (in-sample ones reward
overfitting): :func:`out_of_sample_pmfs` makes them by an expanding window over time, fitting
each model only on cases whose truth was known before the block it predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from weather_trader.core.forecasting.base import FittedForecast, ForecastModel, ModelInputError
from weather_trader.core.forecasting.cases import known_by
from weather_trader.core.forecasting.pmf import SUPPORT, nan_pmf

NAME = "weather"


class StackError(ValueError):
    """Raised for misaligned component predictions or truth."""


def _check(component_pmfs: Mapping[str, np.ndarray]) -> tuple[list[str], int, int]:
    if not component_pmfs:
        raise StackError("need at least one component")
    names = list(component_pmfs)
    shapes = {np.asarray(component_pmfs[k]).shape for k in names}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise StackError(f"component pmfs must share one (n, S) shape, got {shapes}")
    n, s = next(iter(shapes))
    return names, n, s


def _available(component_pmfs: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """``(n, J)`` bool: the component has a (non-NaN) prediction for the case."""
    return np.column_stack([~np.isnan(np.asarray(component_pmfs[k])).any(axis=1) for k in names])


@dataclass
class FittedStack:
    """Mixture weights over named components (see the module docstring)."""

    weights: dict[str, float]
    n_train: int
    crps: float | None = None
    component_crps: dict[str, float | None] | None = None
    name: str = NAME

    def combine(self, component_pmfs: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(n, S)`` mixture; weights renormalised over the components present in each row.

        Components not named in :attr:`weights` are ignored; a component named there but
        missing from ``component_pmfs`` counts as absent for every row. A row where every
        weighted component is absent is NaN. If all present components carry zero weight, the
        present ones are averaged equally (something beats nothing).
        """
        _, n, s = _check(component_pmfs)
        used = [k for k in self.weights if k in component_pmfs]
        if not used:
            return np.full((n, s), np.nan)
        avail = _available(component_pmfs, used)
        w = np.array([self.weights[k] for k in used])
        wa = avail * w
        total = wa.sum(axis=1, keepdims=True)
        equal = avail / np.maximum(avail.sum(axis=1, keepdims=True), 1)
        wa = np.where(total > 0, wa / np.where(total > 0, total, 1.0), equal)
        out = np.zeros((n, s))
        for j, k in enumerate(used):
            out += wa[:, [j]] * np.nan_to_num(np.asarray(component_pmfs[k], dtype=float))
        out[~avail.any(axis=1)] = np.nan
        return out

    def metadata(self) -> dict[str, Any]:
        """JSON-able: weights, cases fitted, the mixture's and each component's mean CRPS."""
        return {
            "name": self.name,
            "weights": dict(self.weights),
            "n_train": self.n_train,
            "crps": self.crps,
            "component_crps": self.component_crps,
        }


def _truth_index(truth: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Index of each (rounded) truth on the support, clipped to its ends."""
    return np.clip(np.rint(truth - support[0]), 0, len(support) - 1).astype(int)


def fit_stack(
    component_pmfs: Mapping[str, np.ndarray],
    truth: Any,
    support: np.ndarray | None = None,
) -> FittedStack:
    """Weights on the simplex minimising the mean CRPS of the renormalised mixture.

    Args:
        component_pmfs: ``name -> (n, S)`` out-of-sample pmfs (NaN rows: no inputs).
        truth: ``(n,)`` observed values (degrees F; NaN rows are ignored).
        support: The values of the S columns; defaults to :data:`pmf.SUPPORT`.

    With no usable case the weights are equal.
    """
    names, n, s = _check(component_pmfs)
    support = np.asarray(SUPPORT if support is None else support)
    if support.shape != (s,):
        raise StackError(f"support has shape {support.shape}, pmfs have {s} columns")
    y = np.asarray(truth, dtype=float)
    if y.shape != (n,):
        raise StackError(f"truth has shape {y.shape}, expected ({n},)")
    avail = _available(component_pmfs, names)
    rows = ~np.isnan(y) & avail.any(axis=1)
    j = len(names)
    if not rows.any():
        return FittedStack(weights=dict.fromkeys(names, 1.0 / j), n_train=0)
    yi = _truth_index(y[rows], support)
    step = (np.arange(s)[None, :] >= yi[:, None]).astype(float)  # 1{y <= k}
    cdfs = np.stack(
        [
            np.cumsum(np.nan_to_num(np.asarray(component_pmfs[k], dtype=float)[rows]), axis=1)
            for k in names
        ],
        axis=1,
    )  # (m, J, S)
    av = avail[rows]
    # Per availability pattern: Gram matrix G = Σ_i F_i F_iᵀ, cross term c = Σ_i F_i·H_i, and
    # constant Σ_i H_i·H_i; the pattern's CRPS sum is uᵀGu - 2cᵀu + const with u = v_P/Σv_P.
    patterns: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []
    for pattern in np.unique(av, axis=0):
        sel = (av == pattern).all(axis=1)
        idx = np.flatnonzero(pattern)
        f = cdfs[sel][:, idx, :]
        h = step[sel]
        gram = np.einsum("ijs,iks->jk", f, f)
        cross = np.einsum("ijs,is->j", f, h)
        patterns.append((idx, gram, cross, float(np.sum(h * h))))
    m = int(rows.sum())

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(j)
        for idx, gram, cross, const in patterns:
            vp = v[idx]
            z = vp.sum()
            if z <= 1e-12:  # no weight on any present component: combine() averages them
                u, z = np.full(len(idx), 1.0 / len(idx)), None
            else:
                u = vp / z
            total += u @ gram @ u - 2 * cross @ u + const
            if z is not None:
                gu = 2 * gram @ u - 2 * cross
                grad[idx] += (gu - gu @ u) / z  # chain rule through u = v_P / Σ v_P
        return total / m, grad / m

    # SLSQP on the simplex reaches exact zeros. Several starts (the equal mixture and each
    # component nearly alone): the objective is convex in v on complete rows only.
    starts = [np.full(j, 1.0 / j)] + [
        np.where(np.arange(j) == k, 0.9, 0.1 / max(j - 1, 1)) for k in range(j)
    ] * (j > 1)
    best = None
    for x0 in starts:
        res = minimize(
            objective,
            x0,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * j,
            constraints=[
                {"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones(j)}
            ],
            options={"ftol": 1e-12, "maxiter": 200},
        )
        if best is None or res.fun < best.fun:
            best = res
    v = np.clip(best.x, 0.0, None)
    v[v < 1e-6] = 0.0
    v /= v.sum()
    weights = {k: float(w) for k, w in zip(names, v, strict=True)}
    fitted = FittedStack(weights=weights, n_train=m)
    mixed = fitted.combine({k: np.asarray(component_pmfs[k])[rows] for k in names})
    fitted.crps = _mean_crps(mixed, yi)
    fitted.component_crps = {}
    for k in names:
        pk = np.asarray(component_pmfs[k], dtype=float)[rows]
        ok = ~np.isnan(pk).any(axis=1)
        fitted.component_crps[k] = _mean_crps(pk[ok], yi[ok]) if ok.any() else None
    return fitted


def _mean_crps(pmf: np.ndarray, truth_index: np.ndarray) -> float:
    step = np.arange(pmf.shape[1])[None, :] >= truth_index[:, None]
    return float(np.mean(np.sum((np.cumsum(pmf, axis=1) - step) ** 2, axis=1)))


# -- out-of-sample predictions -------------------------------------------------------------------


@dataclass(frozen=True)
class OutOfSample:
    """Expanding-window predictions: ``pmfs[name]`` is ``(n, S)`` aligned with the cases given.

    ``block[i]`` is the index of the block that row i fell in (-1: before the first boundary
    with enough training data, so no prediction: NaN rows). ``boundaries`` are the block starts.
    """

    pmfs: dict[str, np.ndarray]
    block: np.ndarray
    boundaries: list[pd.Timestamp]


def time_boundaries(decided_at: pd.Series, n_folds: int) -> list[pd.Timestamp]:
    """``n_folds`` block starts at equal quantiles of the decision times (the first block,
    before the first boundary, is only ever training data)."""
    times = pd.to_datetime(decided_at, utc=True).sort_values()
    if times.empty:
        return []
    qs = np.linspace(0, 1, n_folds + 2)[1:-1]
    return sorted({times.quantile(q, interpolation="lower") for q in qs})


def _utc_instant(value: Any) -> pd.Timestamp:
    t = pd.Timestamp(value)
    if t.tzinfo is None:
        raise ModelInputError(f"boundaries must be timezone-aware; got {value!r}")
    return t.tz_convert("UTC")


def out_of_sample_pmfs(
    models: Sequence[ForecastModel],
    cases: pd.DataFrame,
    n_folds: int = 4,
    boundaries: Sequence[pd.Timestamp] | None = None,
    min_train: int = 30,
    fitted_cache: MutableMapping[tuple[str, pd.Timestamp], FittedForecast] | None = None,
) -> OutOfSample:
    """Out-of-sample pmfs of every model for the stack (and pool) to be fitted on.

    The cases are cut into blocks by ``decided_at`` at ``boundaries`` (default: ``n_folds``
    equal-count boundaries, :func:`time_boundaries`). Each block is predicted by each model
    fitted on the cases known before the block starts (``decided_at`` and ``truth_known_at``
    at or before the boundary): an expanding window, never a later truth.

    Speed: the models are fitted ``len(boundaries)`` times each. A caller that refits weekly
    should pass fixed calendar ``boundaries`` (e.g. every quarter from a fixed origin) and a
    ``fitted_cache`` dict kept across refits: a block's fit depends only on the cases known at
    its boundary, so it is reused instead of refitted. (Only valid while earlier cases do not
    change, which point-in-time case tables guarantee.)

    Blocks whose training data have fewer than ``min_train`` labelled cases get NaN rows, and
    so does a model whose fit raises :class:`ModelInputError` (no usable inputs yet).
    """
    for col in ("decided_at", "truth_known_at", "truth_f"):
        if col not in cases.columns:
            raise ModelInputError(f"cases lack column {col!r} needed for out-of-sample fits")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise StackError(f"model names must be unique, got {names}")
    n = len(cases)
    decided = pd.to_datetime(cases["decided_at"], utc=True)
    bounds = (
        sorted(_utc_instant(b) for b in boundaries)
        if boundaries is not None
        else time_boundaries(cases["decided_at"], n_folds)
    )
    block = np.full(n, -1)
    pmfs = {name: nan_pmf(n) for name in names}
    for b_i, start in enumerate(bounds):
        end = bounds[b_i + 1] if b_i + 1 < len(bounds) else None
        in_block = (decided >= start).to_numpy().copy()
        if end is not None:
            in_block &= (decided < end).to_numpy()
        if not in_block.any():
            continue
        train = known_by(cases, start)
        if len(train) < min_train:
            continue
        block[in_block] = b_i
        target = cases.loc[in_block]
        for model in models:
            key = (model.name, start)
            fitted = fitted_cache.get(key) if fitted_cache is not None else None
            if fitted is None:
                try:
                    fitted = model.fit(train)
                except ModelInputError:
                    continue  # no usable inputs yet (e.g. no forecast known): NaN rows
                if fitted_cache is not None:
                    fitted_cache[key] = fitted
            pmfs[model.name][in_block] = np.asarray(fitted.predict_pmf(target), dtype=float)
    return OutOfSample(pmfs=pmfs, block=block, boundaries=list(bounds))

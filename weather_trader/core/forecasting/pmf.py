"""Integer-exact predictive distributions of the reported temperature T, and their scores.

The settlement value T is a whole degree F, so a prediction is a probability mass function over
:data:`SUPPORT` (-80..150 F). ``n`` predictions are an array of shape ``(n, len(SUPPORT))``
whose rows sum to 1; a row of NaN means "no inputs for this case" and propagates as NaN through
every function here. A continuous forecast X of the true temperature gives
P(T = k) = P(k - 0.5 <= X < k + 0.5) (see :mod:`weather_trader.core.brackets`).

Scores are negatively oriented (lower is better): :func:`crps` is the ranked probability score
over the integer support (the CRPS of the step CDF, in degrees F), :func:`log_score` the negative
log probability of the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from weather_trader.core.brackets import Bracket

SUPPORT = np.arange(-80, 151)
"""Whole degrees F a prediction covers; every real station value lies inside it."""
N_SUPPORT = len(SUPPORT)
EDGES = np.append(SUPPORT - 0.5, SUPPORT[-1] + 0.5)
"""The ``N_SUPPORT + 1`` half-integer edges: T = k iff EDGES[i] <= X < EDGES[i + 1]."""
MIN_SIGMA = 0.05
"""Smallest normal scale used (F): below it every mass sits on one integer anyway."""
LOG_SCORE_FLOOR = 1e-12
"""Probability floor in :func:`log_score`: a zero-probability outcome scores 27.6, not inf."""


class PmfError(ValueError):
    """Raised for malformed pmf arrays, quantile sets or bounds."""


def _as_2d(pmf: np.ndarray) -> np.ndarray:
    arr = np.asarray(pmf, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != N_SUPPORT:
        raise PmfError(f"a pmf array must have shape (n, {N_SUPPORT}); got {np.shape(pmf)}")
    return arr


def _normalise_rows(mass: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; rows with no mass (or NaN) become NaN rows."""
    mass = np.clip(mass, 0.0, None)
    total = mass.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = mass / total
    bad = ~np.isfinite(total[:, 0]) | (total[:, 0] <= 0)
    out[bad] = np.nan
    return out


def nan_pmf(n: int) -> np.ndarray:
    """``n`` rows of "no inputs"."""
    return np.full((n, N_SUPPORT), np.nan)


def valid_rows(pmf: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that are a distribution (not the NaN "no inputs" row)."""
    return np.isfinite(_as_2d(pmf)).all(axis=1)


def pmf_from_cdf(cdf_at_edges: np.ndarray) -> np.ndarray:
    """Pmf rows from CDF values at :data:`EDGES` (shape ``(n, N_SUPPORT + 1)``).

    Mass outside the support is dropped and each row renormalised; a row with any NaN, or no
    mass inside the support, becomes a NaN row.
    """
    cdf = np.asarray(cdf_at_edges, dtype=float)
    if cdf.ndim == 1:
        cdf = cdf[None, :]
    if cdf.ndim != 2 or cdf.shape[1] != N_SUPPORT + 1:
        raise PmfError(f"CDF values must have shape (n, {N_SUPPORT + 1}); got {cdf.shape}")
    bad = ~np.isfinite(cdf).all(axis=1)
    # Monotone by construction (running max) so float noise never yields a negative mass.
    cdf = np.maximum.accumulate(np.where(bad[:, None], 0.0, cdf), axis=1)
    out = _normalise_rows(np.diff(cdf, axis=1))
    out[bad] = np.nan
    return out


def pmf_from_normal(mu: np.ndarray | float, sigma: np.ndarray | float) -> np.ndarray:
    """P(T = k) = Phi((k + .5 - mu) / sigma) - Phi((k - .5 - mu) / sigma), renormalised.

    ``mu`` and ``sigma`` broadcast to ``(n,)``; a NaN in either gives a NaN row. ``sigma`` is
    floored at :data:`MIN_SIGMA`.
    """
    mu_arr, sigma_arr = np.broadcast_arrays(
        np.atleast_1d(np.asarray(mu, dtype=float)), np.atleast_1d(np.asarray(sigma, dtype=float))
    )
    if mu_arr.ndim != 1:
        raise PmfError(f"mu and sigma must be scalars or 1-d; got shape {mu_arr.shape}")
    sig = np.maximum(sigma_arr, MIN_SIGMA)
    z = (EDGES[None, :] - mu_arr[:, None]) / sig[:, None]
    out = pmf_from_cdf(ndtr(z))
    out[~(np.isfinite(mu_arr) & np.isfinite(sigma_arr))] = np.nan
    return out


def pmf_from_quantiles(
    levels: Sequence[float] | np.ndarray, values: np.ndarray, min_gap: float = 1e-3
) -> np.ndarray:
    """Pmf rows from predicted quantiles: a monotone piecewise-linear CDF with normal tails.

    Args:
        levels: Increasing probability levels in (0, 1), length L (at least 2).
        values: ``(n, L)`` predicted quantiles (one row per case). Crossing quantiles are
            sorted, ties spread by ``min_gap`` so the CDF stays strictly increasing. A row with
            a NaN becomes a NaN row.
        min_gap: Smallest distance (F) kept between consecutive quantiles.

    Between the outermost quantiles the CDF interpolates linearly; beyond them it follows a
    normal tail continuous at the outer quantile, F(x) = Phi(z_1 + (x - q_1) / s), whose scale
    ``s`` is the normal-equivalent spread of the whole quantile set ((q_L - q_1) / (z_L - z_1)).
    """
    lv = np.asarray(levels, dtype=float)
    vals = np.asarray(values, dtype=float)
    if vals.ndim == 1:
        vals = vals[None, :]
    if lv.ndim != 1 or len(lv) < 2 or vals.ndim != 2 or vals.shape[1] != len(lv):
        raise PmfError(f"need L >= 2 levels and values (n, L); got {lv.shape}, {vals.shape}")
    if not (np.all(np.diff(lv) > 0) and lv[0] > 0 and lv[-1] < 1):
        raise PmfError(f"levels must increase strictly inside (0, 1); got {lv.tolist()}")
    bad = ~np.isfinite(vals).all(axis=1)
    q = np.sort(np.where(bad[:, None], 0.0, vals), axis=1)
    # Spread ties so that q_j >= q_{j-1} + min_gap (keeps the CDF strictly increasing).
    ramp = min_gap * np.arange(len(lv))[None, :]
    q = np.maximum.accumulate(q - ramp, axis=1) + ramp
    z = ndtri(lv)
    scale = np.maximum((q[:, -1] - q[:, 0]) / (z[-1] - z[0]), MIN_SIGMA)
    x = EDGES[None, :]
    # Segment j of each row: q_j <= x < q_{j+1}; linear interpolation of the levels inside.
    seg = np.clip((x[:, :, None] >= q[:, None, :]).sum(axis=2) - 1, 0, len(lv) - 2)
    q_lo = np.take_along_axis(q, seg, axis=1)
    q_hi = np.take_along_axis(q, seg + 1, axis=1)
    inner = lv[seg] + (lv[seg + 1] - lv[seg]) * (x - q_lo) / (q_hi - q_lo)
    lower = ndtr(z[0] + (x - q[:, :1]) / scale[:, None])
    upper = ndtr(z[-1] + (x - q[:, -1:]) / scale[:, None])
    cdf = np.where(x < q[:, :1], lower, np.where(x > q[:, -1:], upper, inner))
    out = pmf_from_cdf(cdf)
    out[bad] = np.nan
    return out


def _bound_array(bound: np.ndarray | float | None, n: int, name: str) -> np.ndarray:
    if bound is None:
        return np.full(n, np.nan)
    arr = np.broadcast_to(np.asarray(bound, dtype=float), (n,)) if np.ndim(bound) == 0 else None
    if arr is None:
        arr = np.asarray(bound, dtype=float)
        if arr.shape != (n,):
            raise PmfError(f"{name} must be a scalar or shape ({n},); got {arr.shape}")
    return arr


def apply_bounds(
    pmf: np.ndarray,
    floor: np.ndarray | float | None = None,
    cap: np.ndarray | float | None = None,
) -> np.ndarray:
    """Truncate each row to the values still possible and renormalise.

    ``floor`` / ``cap`` are continuous bounds on the true temperature X (e.g. the running max
    observed so far is a floor for the day's high): integer k stays possible iff its interval
    ``[k - .5, k + .5)`` reaches the bound (``k + .5 > floor``, ``k - .5 <= cap``). NaN or None
    means no bound. When a bound excludes all of a row's mass (the forecast was far off), the
    row becomes a point mass on the nearest possible integer, which is where the truncated
    distribution concentrates as the excluded side's mass grows.
    """
    arr = _as_2d(pmf).copy()
    n = arr.shape[0]
    lo = _bound_array(floor, n, "floor")
    hi = _bound_array(cap, n, "cap")
    keep = np.ones_like(arr, dtype=bool)
    has_lo, has_hi = np.isfinite(lo), np.isfinite(hi)
    keep[has_lo] &= SUPPORT[None, :] + 0.5 > lo[has_lo, None]
    keep[has_hi] &= SUPPORT[None, :] - 0.5 <= hi[has_hi, None]
    if (has_lo & has_hi & (lo > hi)).any():
        raise PmfError("a floor above its cap leaves no possible value")
    valid = np.isfinite(arr).all(axis=1)
    masked = np.where(keep, arr, 0.0)
    total = masked.sum(axis=1)
    empty = valid & (total <= 0)
    out = _normalise_rows(masked)
    out[~valid] = np.nan
    for i in np.flatnonzero(empty):
        possible = np.flatnonzero(keep[i])
        if len(possible) == 0:
            raise PmfError(f"row {i}: bounds leave no value inside the support")
        # The side that was cut decides which end of the possible range takes the mass.
        below = arr[i, : possible[0]].sum() >= arr[i, possible[-1] + 1 :].sum()
        out[i] = 0.0
        out[i, possible[0] if below else possible[-1]] = 1.0
    return out


def bracket_probs(pmf: np.ndarray, brackets: Sequence[Bracket]) -> np.ndarray:
    """P(YES) of each bracket: the pmf mass on its integers (core.brackets semantics).

    ``between`` F..C sums k = F..C (inclusive), ``less`` with cap C sums k < C, ``greater``
    with floor F sums k > F. Over an exhaustive event the probabilities sum to the row's total
    (1) without renormalisation. Accepts one row (returns shape ``(B,)``) or ``(n, S)``
    (returns ``(n, B)``); NaN rows give NaN.
    """
    one_row = np.ndim(pmf) == 1
    arr = _as_2d(pmf)
    cum = np.concatenate([np.zeros((arr.shape[0], 1)), np.cumsum(arr, axis=1)], axis=1)
    out = np.empty((arr.shape[0], len(brackets)))
    for j, bracket in enumerate(brackets):
        lo, hi = bracket.integer_range()
        i_lo = 0 if lo is None else int(np.clip(lo - SUPPORT[0], 0, N_SUPPORT))
        i_hi = N_SUPPORT if hi is None else int(np.clip(hi - SUPPORT[0] + 1, 0, N_SUPPORT))
        out[:, j] = cum[:, max(i_hi, i_lo)] - cum[:, i_lo]
    out = np.where(out < 0, 0.0, out)  # float round-off only; NaN rows stay NaN
    return out[0] if one_row else out


def _truth_index(truth: np.ndarray | float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Support index of each rounded truth value and a mask of the usable ones."""
    t = np.broadcast_to(np.asarray(truth, dtype=float), (n,))
    ok = np.isfinite(t)
    idx = np.zeros(n, dtype=int)
    idx[ok] = np.rint(t[ok]).astype(int) - SUPPORT[0]
    if ((idx[ok] < 0) | (idx[ok] >= N_SUPPORT)).any():
        raise PmfError(f"truth outside the support {SUPPORT[0]}..{SUPPORT[-1]}: {t[ok].tolist()}")
    return idx, ok


def crps(pmf: np.ndarray, truth: np.ndarray | float) -> np.ndarray:
    """CRPS (ranked probability score over the integer support, in F) of each row.

    ``sum_k (F(k) - 1[truth <= k])**2`` with F the row's CDF: the CRPS of the step CDF
    against an integer outcome. NaN where the row or the truth is NaN.
    """
    arr = _as_2d(pmf)
    idx, ok = _truth_index(truth, arr.shape[0])
    cdf = np.cumsum(arr, axis=1)
    step = (np.arange(N_SUPPORT)[None, :] >= idx[:, None]).astype(float)
    out = ((cdf - step) ** 2).sum(axis=1)
    out[~ok] = np.nan
    return out


def log_score(pmf: np.ndarray, truth: np.ndarray | float) -> np.ndarray:
    """Negative log probability of the outcome, ``-log(max(p(truth), 1e-12))``, per row."""
    arr = _as_2d(pmf)
    idx, ok = _truth_index(truth, arr.shape[0])
    p = arr[np.arange(arr.shape[0]), idx]
    out = -np.log(np.maximum(p, LOG_SCORE_FLOOR))
    out[~ok | ~np.isfinite(p)] = np.nan
    return out


def crps_normal(mu: np.ndarray, sigma: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of N(mu, sigma^2) at y (Gneiting et al. 2005), elementwise."""
    sigma = np.maximum(np.asarray(sigma, dtype=float), 1e-9)
    z = (np.asarray(y, dtype=float) - mu) / sigma
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return sigma * (z * (2 * ndtr(z) - 1) + 2 * pdf - 1 / np.sqrt(np.pi))


def pmf_mean(pmf: np.ndarray) -> np.ndarray:
    """Mean of each row (NaN rows give NaN)."""
    return _as_2d(pmf) @ SUPPORT.astype(float)


def pmf_std(pmf: np.ndarray) -> np.ndarray:
    """Standard deviation of each row."""
    arr = _as_2d(pmf)
    mean = arr @ SUPPORT.astype(float)
    return np.sqrt(np.maximum(arr @ (SUPPORT.astype(float) ** 2) - mean**2, 0.0))


def pmf_quantile(pmf: np.ndarray, level: float) -> np.ndarray:
    """Smallest k with CDF(k) >= level, per row (NaN rows give NaN)."""
    arr = _as_2d(pmf)
    cdf = np.cumsum(arr, axis=1)
    idx = np.argmax(cdf >= level - 1e-12, axis=1)
    out = SUPPORT[idx].astype(float)
    out[~np.isfinite(arr).all(axis=1)] = np.nan
    return out

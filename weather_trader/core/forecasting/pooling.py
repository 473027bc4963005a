"""``ours``: a log-linear pool of the weather distribution with the market's prices.

For one event (mutually exclusive, exhaustive brackets i) the pooled probability is

    p_i ∝ w_i^a · m_i^b,      a, b >= 0,

where ``w`` are the weather model's bracket probabilities and ``m`` the market's normalised bracket
probabilities at the decision instant. ``(a, b)`` minimise the log loss of the winning bracket over
out-of-sample events plus a Gaussian prior centred on the market alone, ``(a, b) = (0, 1)``: with
few events the pool is the market; the weather model earns weight only as the data show it adds
information (DESIGN §1: real blends put almost all weight on the market). ``a + b`` need not be 1,
so the pool can also sharpen or flatten.

Inputs are clipped before pooling: market prices to ``[MARKET_CLIP, 1 - MARKET_CLIP]`` (a price of
0 or 1 is a stale quote, not certainty, and ``0^b`` would veto the weather model), weather
probabilities to at least ``WEATHER_FLOOR`` (a zero from a tail that was cut off would veto the
market). All functions are pure; :class:`FittedPool` pickles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

NAME = "ours"
MARKET_CLIP = 0.01
"""Market prices are clipped to [0.01, 0.99] (Kalshi's tick) before pooling."""
WEATHER_FLOOR = 1e-4
"""Weather bracket probabilities below this count as this (then the pool renormalises)."""
PRIOR_CENTER = (0.0, 1.0)
"""The prior mean of (a, b): the market alone."""
PRIOR_SD = 0.25
"""Prior standard deviation of a and b (the shrinkage strength: ~16 events' worth of curvature)."""


class PoolError(ValueError):
    """Raised for misaligned inputs or events without exactly one winning bracket."""


@dataclass(frozen=True)
class _Events:
    """Bracket rows grouped by event: rows sorted by event, ``starts`` the first row of each."""

    order: np.ndarray  # permutation that sorts the caller's rows by event
    starts: np.ndarray  # start offset of each event in the sorted rows
    sizes: np.ndarray


def _group(event_ids: Any) -> _Events:
    codes, _ = pd.factorize(pd.Series(np.asarray(event_ids, dtype=object)), sort=False)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_codes)])
    return _Events(order=order, starts=starts, sizes=sizes)


def _as_1d(values: Any, n: int | None, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise PoolError(f"{what} must be 1-D, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise PoolError(f"{what} has {arr.shape[0]} rows, expected {n}")
    return arr


def _log_inputs(weather_p: np.ndarray, market_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lw = np.log(np.clip(weather_p, WEATHER_FLOOR, 1.0))
    lm = np.log(np.clip(market_p, MARKET_CLIP, 1.0 - MARKET_CLIP))
    return lw, lm


def _event_softmax(logits: np.ndarray, ev: _Events) -> np.ndarray:
    """Softmax of sorted ``logits`` within each event."""
    mx = np.maximum.reduceat(logits, ev.starts)
    e = np.exp(logits - np.repeat(mx, ev.sizes))
    return e / np.repeat(np.add.reduceat(e, ev.starts), ev.sizes)


@dataclass
class FittedPool:
    """A fitted log-linear pool ``p ∝ w^a · m^b`` (see the module docstring)."""

    a: float
    b: float
    n_events: int
    log_loss: float | None = None
    market_log_loss: float | None = None
    weather_log_loss: float | None = None
    groups: dict[str, tuple[float, float]] = field(default_factory=dict)
    group_events: dict[str, int] = field(default_factory=dict)
    name: str = NAME
    settings: dict[str, float] = field(
        default_factory=lambda: {
            "market_clip": MARKET_CLIP,
            "weather_floor": WEATHER_FLOOR,
            "prior_sd": PRIOR_SD,
        }
    )

    def combine(
        self, weather_p: Any, market_p: Any, event_ids: Any, groups: Any = None
    ) -> np.ndarray:
        """Pooled bracket probabilities, summing to 1 within each event, in the callers' order.

        ``groups`` (one label per row, as in :func:`fit_pool`) selects each group's own
        exponents; a group not seen in the fit, or no ``groups``, uses the pooled ``(a, b)``.

        An event with a missing (NaN) weather probability gets the pool of the market alone
        (``p ∝ m^b``); one with a missing market price gets the weather probabilities unchanged
        (renormalised), since there is no price to pool with.
        """
        w = _as_1d(weather_p, None, "weather_p")
        m = _as_1d(market_p, w.shape[0], "market_p")
        ids = np.asarray(event_ids, dtype=object)
        if ids.shape != w.shape:
            raise PoolError(f"event_ids has shape {ids.shape}, expected {w.shape}")
        if w.size == 0:
            return np.empty(0)
        ev = _group(ids)
        ws, ms = w[ev.order], m[ev.order]
        a_row, b_row = np.full(w.size, self.a), np.full(w.size, self.b)
        if groups is not None:
            labels = np.asarray(groups, dtype=object).astype(str)
            if labels.shape != w.shape:
                raise PoolError(f"groups has shape {labels.shape}, expected {w.shape}")
            for label, (ga, gb) in self.groups.items():
                sel = labels[ev.order] == label
                a_row[sel], b_row[sel] = ga, gb
        w_missing = np.repeat(np.logical_or.reduceat(np.isnan(ws), ev.starts), ev.sizes)
        m_missing = np.repeat(np.logical_or.reduceat(np.isnan(ms), ev.starts), ev.sizes)
        lw, lm = _log_inputs(np.nan_to_num(ws, nan=1.0), np.nan_to_num(ms, nan=0.5))
        a = np.where(w_missing, 0.0, a_row)
        b = np.where(m_missing, 0.0, b_row)
        # Market missing: the weather distribution as it is (exponent 1), not flattened by a.
        a = np.where(m_missing & ~w_missing, 1.0, a)
        p_sorted = _event_softmax(a * lw + b * lm, ev)
        p_sorted[w_missing & m_missing] = np.nan
        out = np.empty_like(p_sorted)
        out[ev.order] = p_sorted
        return out

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary: the weights, events fitted, and in-sample log losses."""
        return {
            "name": self.name,
            "a_weather": self.a,
            "b_market": self.b,
            "n_events": self.n_events,
            "log_loss": self.log_loss,
            "market_log_loss": self.market_log_loss,
            "weather_log_loss": self.weather_log_loss,
            "prior_center": list(PRIOR_CENTER),
            "groups": {
                k: {"a_weather": ga, "b_market": gb, "n_events": self.group_events.get(k, 0)}
                for k, (ga, gb) in self.groups.items()
            },
            **self.settings,
        }


def _fit_exponents(
    lw: np.ndarray, lm: np.ndarray, y: np.ndarray, ev: _Events, center: np.ndarray
) -> tuple[float, float]:
    """Penalised maximum likelihood of ``(a, b)`` on event-sorted rows, prior at ``center``."""
    prior_var = PRIOR_SD**2

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = _event_softmax(theta[0] * lw + theta[1] * lm, ev)
        nll = -np.sum(y * np.log(np.maximum(p, 1e-300)))
        # d(-log p_win)/d theta = E_p[x] - x_win, summed over events.
        grad = np.array([np.sum((p - y) * lw), np.sum((p - y) * lm)])
        dev = theta - center
        return nll + 0.5 * float(dev @ dev) / prior_var, grad + dev / prior_var

    res = minimize(
        objective,
        x0=center.copy(),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 20.0), (0.0, 20.0)],
    )
    return float(res.x[0]), float(res.x[1])


def fit_pool(
    weather_p: Any, market_p: Any, event_ids: Any, outcomes: Any, groups: Any = None
) -> FittedPool:
    """Fit ``(a, b)`` by penalised minimum log loss over events.

    Args:
        weather_p: Weather bracket probabilities, one per bracket row (out of sample!).
        market_p: The market's normalised bracket probabilities at the same instant.
        event_ids: The event of each row (any hashable values).
        outcomes: 1 for the bracket that won, 0 otherwise; exactly one winner per event.
        groups: Optional group label per row (e.g. the decision instant, or city and instant),
            constant within an event. Each group gets its own ``(a, b)`` with the prior centred
            on the pooled fit (partial pooling: a group with few events keeps the pooled
            values); :meth:`FittedPool.combine` uses them when given the same labels.

    Events with any NaN weather or market probability are left out (not counted in
    ``n_events``). With no usable event the result is the prior: the market alone,
    ``a = 0, b = 1``.

    Raises:
        PoolError: On misaligned inputs, an event without exactly one winning bracket or an
            event spanning two groups.
    """
    w = _as_1d(weather_p, None, "weather_p")
    m = _as_1d(market_p, w.shape[0], "market_p")
    y = _as_1d(outcomes, w.shape[0], "outcomes")
    ids = np.asarray(event_ids, dtype=object)
    if ids.shape != w.shape:
        raise PoolError(f"event_ids has shape {ids.shape}, expected {w.shape}")
    labels = None if groups is None else np.asarray(groups, dtype=object).astype(str)
    if labels is not None and labels.shape != w.shape:
        raise PoolError(f"groups has shape {labels.shape}, expected {w.shape}")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise PoolError("outcomes must be 0/1")
    if w.size == 0:
        return FittedPool(a=PRIOR_CENTER[0], b=PRIOR_CENTER[1], n_events=0)
    ev = _group(ids)
    ws, ms, ys = w[ev.order], m[ev.order], y[ev.order]
    winners = np.add.reduceat(ys, ev.starts)
    if np.any(winners != 1):
        bad = int(np.sum(winners != 1))
        raise PoolError(f"{bad} event(s) do not have exactly one winning bracket")
    event_group = None
    if labels is not None:
        ls = labels[ev.order]
        event_group = ls[ev.starts]
        if np.any(ls != np.repeat(event_group, ev.sizes)):
            raise PoolError("an event's rows carry different groups")
    usable = ~np.logical_or.reduceat(np.isnan(ws) | np.isnan(ms), ev.starts)
    keep = np.repeat(usable, ev.sizes)
    n_events = int(usable.sum())
    if n_events == 0:
        return FittedPool(a=PRIOR_CENTER[0], b=PRIOR_CENTER[1], n_events=0)
    # Rows stay sorted by event, so each subset's own grouping has the identity order.
    event_of_row = np.repeat(np.arange(len(usable)), ev.sizes)
    lw, lm = _log_inputs(ws[keep], ms[keep])
    yk = ys[keep]
    ev_fit = _group(event_of_row[keep])
    a, b = _fit_exponents(lw, lm, yk, ev_fit, np.asarray(PRIOR_CENTER))

    def mean_nll(logits: np.ndarray) -> float:
        p = _event_softmax(logits, ev_fit)
        return float(-np.sum(yk * np.log(np.maximum(p, 1e-300))) / n_events)

    fitted = FittedPool(
        a=a,
        b=b,
        n_events=n_events,
        log_loss=mean_nll(a * lw + b * lm),
        market_log_loss=mean_nll(lm),
        weather_log_loss=mean_nll(lw),
    )
    if event_group is not None:
        row_group = np.repeat(event_group, ev.sizes)[keep]
        for label in sorted(set(event_group[usable])):
            sel = row_group == label
            ga, gb = _fit_exponents(
                lw[sel], lm[sel], yk[sel], _group(event_of_row[keep][sel]), np.array([a, b])
            )
            fitted.groups[label] = (ga, gb)
            fitted.group_events[label] = int(np.sum(usable & (event_group == label)))
    return fitted

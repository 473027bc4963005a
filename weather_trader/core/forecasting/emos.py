"""EMOS / NGR: a normal predictive distribution from every source, fitted by minimum CRPS.

For each kind (high, low) separately, a case with available sources s gets N(mu, sigma^2):

    mu      = a + sum_s b_s x_s + sum_s g_s miss_s + seasonal(doy) + e H
              + city offsets (level, seasonal, slope on the source mean) + lead-day offset
    sigma^2 = exp(c + c_H H + seasonal(doy) + city offset + lead-day offset) + exp(d) S^2

* ``x_s`` is source s's forecast or, when it is missing, the mean of the available sources;
  ``miss_s`` flags the fill. Filling with the mean keeps the weights' sum (the forecast's
  level) intact whatever subset is present, so a case is never dropped or biased because one
  source is late; the flag learns any bias of the remaining subset. (Fitting on the source
  mean alone would be as robust but could not learn that one source beats another.) A source
  seen at prediction time but not in training is ignored; a case with none of the trained
  sources has no inputs (NaN row).
* ``S^2`` is the spread: the variance across the available sources plus the mean within-source
  member variance (ensembles). ``H`` is the mean horizon in days from each source's issue to
  the end of the climate day (``age + lead_hours``).
* Partial pooling: city offsets and lead-day offsets (days from the decision to the end of the
  climate day, floored) have ridge penalties toward zero worth ``prior_cases_city`` and
  ``prior_cases_lead`` cases, with the per-case curvature of the CRPS of a normal of the
  training error's scale, so a city with little history uses the pooled fit. Pooled weights
  get a weak ridge (``prior_cases_pooled``) toward equal weights, which only matters when
  sources are nearly collinear. All settings are fixed; none is chosen on evaluation data.

The fit minimises mean CRPS (closed form for a normal) with BFGS on analytic gradients. The
pmf is :func:`pmf.pmf_from_normal`, truncated by the observed running max (high) / min (low).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import ndtr

from weather_trader.core.forecasting.base import ModelInputError, require_columns, to_jsonable
from weather_trader.core.forecasting.cases import (
    AGE_PREFIX,
    FC_PREFIX,
    SD_PREFIX,
    bound_by_observed,
    labelled,
    source_key,
)
from weather_trader.core.forecasting.climatology import harmonics
from weather_trader.core.forecasting.pmf import (
    crps,
    log_score,
    nan_pmf,
    pmf_from_normal,
)

NAME = "emos"
REQUIRED = ("city", "kind", "doy", "lead_hours")
# Per-case curvature of the expected normal CRPS (true scale sigma): 1/(sigma sqrt(pi)) in the
# mean, 0.282 sigma in log sigma (so 0.0705 sigma in log variance).
_CURV_MEAN = 1 / np.sqrt(np.pi)
_CURV_LOG_VAR = 0.0705
_LOG_VAR_CLIP = 10.0
_INV_SQRT_PI = 1 / np.sqrt(np.pi)


def _col(cases: pd.DataFrame, name: str) -> np.ndarray:
    if name not in cases.columns:
        return np.full(len(cases), np.nan)
    return pd.to_numeric(cases[name], errors="coerce").to_numpy(dtype=float)


@dataclass
class _Inputs:
    """Per-case quantities derived from the trained sources."""

    x: np.ndarray  # (n, K) forecasts, missing filled with the available mean
    miss: np.ndarray  # (n, K) 1.0 where filled
    mean: np.ndarray  # (n,) mean of available sources (NaN if none)
    spread2: np.ndarray  # (n,) S^2
    horizon: np.ndarray  # (n,) days
    lead_day: np.ndarray  # (n,) int bucket
    ok: np.ndarray  # (n,) bool: at least one trained source


def _inputs(cases: pd.DataFrame, sources: list[str], max_lead_day: int) -> _Inputs:
    n = len(cases)
    raw = np.column_stack([_col(cases, f"{FC_PREFIX}{s}") for s in sources]) if sources else None
    if raw is None:
        raw = np.full((n, 0), np.nan)
    avail = np.isfinite(raw)
    n_avail = avail.sum(axis=1)
    ok = n_avail > 0
    safe = np.where(avail, raw, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, safe.sum(axis=1) / n_avail, np.nan)
        between = np.where(ok, (np.where(avail, (raw - mean[:, None]) ** 2, 0.0)).sum(1), 0.0)
        between = np.where(ok, between / np.maximum(n_avail, 1), np.nan)
    sd = np.column_stack([_col(cases, f"{SD_PREFIX}{s}") for s in sources]) if sources else raw
    has_sd = avail & np.isfinite(sd)
    within = np.where(
        has_sd.any(axis=1),
        np.where(has_sd, sd**2, 0.0).sum(axis=1) / np.maximum(has_sd.sum(axis=1), 1),
        0.0,
    )
    lead = _col(cases, "lead_hours")
    age = np.column_stack([_col(cases, f"{AGE_PREFIX}{s}") for s in sources]) if sources else raw
    hor = np.where(avail & np.isfinite(age), age, 0.0) + lead[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        horizon = np.where(avail, hor, 0.0).sum(axis=1) / np.maximum(n_avail, 1) / 24.0
    lead_day = np.clip(np.floor(np.nan_to_num(lead, nan=0.0) / 24.0), -1, max_lead_day)
    return _Inputs(
        x=np.where(avail, raw, mean[:, None]),
        miss=(~avail).astype(float),
        mean=mean,
        spread2=between + within,
        horizon=horizon,
        lead_day=lead_day.astype(int),
        ok=ok & np.isfinite(lead),
    )


@dataclass
class _Design:
    """How one kind's design matrices are built (fitted centring and the groups seen)."""

    sources: list[str]
    n_harmonics: int
    max_lead_day: int
    cities: list[str]
    lead_days: list[int]
    x_center: np.ndarray
    x_scale: np.ndarray
    h_center: float
    h_scale: float
    m_center: float
    m_scale: float

    def mean_names(self) -> list[str]:
        season = [f"{t}{h}" for t in ("cos", "sin") for h in range(1, self.n_harmonics + 1)]
        return [
            "const",
            *(f"fc:{s}" for s in self.sources),
            *(f"miss:{s}" for s in self.sources),
            *season,
            "horizon",
            *(f"city:{c}:{t}" for c in self.cities for t in ("level", "cos1", "sin1", "slope")),
            *(f"lead:{d}" for d in self.lead_days),
        ]

    def var_names(self) -> list[str]:
        return [
            "const",
            "horizon",
            "cos1",
            "sin1",
            *(f"city:{c}" for c in self.cities),
            *(f"lead:{d}" for d in self.lead_days),
        ]

    def matrices(self, cases: pd.DataFrame, inp: _Inputs) -> tuple[np.ndarray, np.ndarray]:
        """``(X_mean, Z_logvar)`` in standardised units."""
        n = len(cases)
        h = harmonics(_col(cases, "doy"), self.n_harmonics)
        x = (inp.x - self.x_center) / self.x_scale
        hor = (inp.horizon - self.h_center) / self.h_scale
        slope = (inp.mean - self.m_center) / self.m_scale
        city = cases["city"].astype(str).to_numpy()
        onehot = (city[:, None] == np.array(self.cities, dtype=object)[None, :]).astype(float)
        leads = (inp.lead_day[:, None] == np.array(self.lead_days)[None, :]).astype(float)
        per_city = np.stack([onehot, onehot * h[:, [0]], onehot * h[:, [self.n_harmonics]],
                             onehot * slope[:, None]], axis=2).reshape(n, -1)  # fmt: skip
        x_mean = np.column_stack([np.ones(n), x, inp.miss, h, hor, per_city, leads])
        z_var = np.column_stack([np.ones(n), hor, h[:, 0], h[:, self.n_harmonics], onehot, leads])
        return x_mean, z_var


def _normal_crps_and_grad(
    theta: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    s2: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = x.shape[1]
    beta, gamma, delta = theta[:p], theta[p:-1], theta[-1]
    mu = x @ beta
    base = np.exp(np.clip(z @ gamma, -_LOG_VAR_CLIP, _LOG_VAR_CLIP))
    spread = np.exp(delta) * s2
    sigma = np.sqrt(base + spread)
    zz = (y - mu) / sigma
    cdf = ndtr(zz)
    pdf = np.exp(-0.5 * zz * zz) / np.sqrt(2 * np.pi)
    score = sigma * (zz * (2 * cdf - 1) + 2 * pdf - _INV_SQRT_PI)
    d_mu = -(2 * cdf - 1)
    d_sigma = 2 * pdf - _INV_SQRT_PI
    return score, mu, sigma, d_mu, d_sigma * base / (2 * sigma), d_sigma * spread / (2 * sigma)


@dataclass
class _KindFit:
    design: _Design
    theta: np.ndarray
    n_train: int
    crps_normal_in_sample: float
    converged: bool = True
    iterations: int = 0


@dataclass
class FittedEmos:
    """EMOS coefficients per kind (standardised design) and in-sample scores."""

    fits: dict[str, _KindFit]
    in_sample: dict[str, Any]
    bound_tolerance_f: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    name: str = NAME

    def normal_params(self, cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of each case (NaN without a trained source or a fitted kind)."""
        require_columns(cases, REQUIRED, "cases for emos")
        n = len(cases)
        mu, sigma = np.full(n, np.nan), np.full(n, np.nan)
        kind = cases["kind"].astype(str).to_numpy()
        for k, fit in self.fits.items():
            rows = np.flatnonzero(kind == k)
            if len(rows) == 0:
                continue
            sub = cases.iloc[rows]
            inp = _inputs(sub, fit.design.sources, fit.design.max_lead_day)
            x, z = fit.design.matrices(sub, inp)
            p = x.shape[1]
            beta, gamma, delta = fit.theta[:p], fit.theta[p:-1], fit.theta[-1]
            var = np.exp(np.clip(z @ gamma, -_LOG_VAR_CLIP, _LOG_VAR_CLIP))
            var = var + np.exp(delta) * inp.spread2
            m = x @ beta
            mu[rows] = np.where(inp.ok, m, np.nan)
            sigma[rows] = np.where(inp.ok, np.sqrt(var), np.nan)
        return mu, sigma

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        """Normal pmf per case, truncated by the observed running extreme; NaN without inputs."""
        if len(cases) == 0:
            return nan_pmf(0)
        mu, sigma = self.normal_params(cases)
        return bound_by_observed(pmf_from_normal(mu, sigma), cases, self.bound_tolerance_f)

    def metadata(self) -> dict[str, Any]:
        """Coefficients by name (standardised; source weights also per raw F), n_train, scores."""
        kinds: dict[str, Any] = {}
        for k, fit in self.fits.items():
            d = fit.design
            p = len(d.mean_names())
            beta, gamma = fit.theta[:p], fit.theta[p:-1]
            weights = beta[1 : 1 + len(d.sources)] / d.x_scale
            kinds[k] = {
                "n_train": fit.n_train,
                "sources": d.sources,
                "source_weights": dict(zip(d.sources, weights.tolist(), strict=True)),
                "mean_coefficients": dict(zip(d.mean_names(), beta.tolist(), strict=True)),
                "log_var_coefficients": dict(zip(d.var_names(), gamma.tolist(), strict=True)),
                "spread_coefficient": float(np.exp(fit.theta[-1])),
                "crps_normal_in_sample": fit.crps_normal_in_sample,
                "converged": fit.converged,
                "iterations": fit.iterations,
            }
        return to_jsonable(
            {
                "name": self.name,
                "n_train": int(sum(f.n_train for f in self.fits.values())),
                "kinds": kinds,
                "settings": self.settings,
                **self.in_sample,
            }
        )


@dataclass
class Emos:
    """EMOS / NGR by minimum CRPS with partial pooling (fixed settings, see module docstring).

    Attributes:
        n_harmonics: Annual harmonics of the pooled mean (city offsets use the first).
        prior_cases_city: Ridge on city offsets, in cases of that city.
        prior_cases_lead: Ridge on lead-day offsets, in cases of that lead day.
        prior_cases_pooled: Weak ridge on pooled terms (source weights toward 1/K, flags,
            seasonal and horizon terms toward 0).
        min_source_cases: Labelled cases a source needs (within a kind) to be used.
        min_cases: Labelled cases with inputs a kind needs to be fitted.
        max_lead_day: Lead days beyond this share the last lead offset.
        bound_tolerance_f: Slack (F) given to observed running extremes used as bounds.
        maxiter: BFGS iteration cap.
    """

    n_harmonics: int = 2
    prior_cases_city: float = 60.0
    prior_cases_lead: float = 60.0
    prior_cases_pooled: float = 5.0
    min_source_cases: int = 20
    min_cases: int = 30
    max_lead_day: int = 7
    bound_tolerance_f: float = 0.0
    maxiter: int = 1000
    name: str = field(default=NAME)

    def fit(self, cases: pd.DataFrame) -> FittedEmos:
        """Fit each kind with enough labelled cases that have a forecast.

        Raises:
            ModelInputError: If columns are missing or no kind has enough cases.
        """
        require_columns(cases, (*REQUIRED, "truth_f"), "cases for emos")
        train = labelled(cases)
        fits: dict[str, _KindFit] = {}
        for k in sorted(train["kind"].astype(str).unique()):
            sub = train[train["kind"].astype(str) == k]
            fit = self._fit_kind(sub)
            if fit is not None:
                fits[k] = fit
        if not fits:
            raise ModelInputError(
                f"emos needs {self.min_cases} labelled cases with forecasts in some kind; "
                f"got {len(train)} labelled cases"
            )
        fitted = FittedEmos(
            fits=fits,
            in_sample={},
            bound_tolerance_f=self.bound_tolerance_f,
            settings={
                "n_harmonics": self.n_harmonics,
                "prior_cases_city": self.prior_cases_city,
                "prior_cases_lead": self.prior_cases_lead,
                "prior_cases_pooled": self.prior_cases_pooled,
                "min_source_cases": self.min_source_cases,
            },
        )
        pmf = fitted.predict_pmf(train)
        y = train["truth_f"].to_numpy(dtype=float)
        ok = np.isfinite(pmf).all(axis=1)
        mean_fc = _col(train, "fc_mean")
        fitted.in_sample = {
            "crps_in_sample": float(np.mean(crps(pmf[ok], y[ok]))) if ok.any() else None,
            "log_score_in_sample": float(np.mean(log_score(pmf[ok], y[ok]))) if ok.any() else None,
            # CRPS of a point forecast is its absolute error: the raw source mean's, for scale.
            "crps_fc_mean_in_sample": float(np.nanmean(np.abs(mean_fc[ok] - y[ok])))
            if ok.any() and np.isfinite(mean_fc[ok]).any()
            else None,
        }
        return fitted

    def _fit_kind(self, sub: pd.DataFrame) -> _KindFit | None:
        fc_cols = [c for c in sub.columns if c.startswith(FC_PREFIX)]
        counts = {source_key(c): int(sub[c].notna().sum()) for c in fc_cols}
        sources = sorted(s for s, n in counts.items() if n >= self.min_source_cases)
        if not sources:
            return None
        inp = _inputs(sub, sources, self.max_lead_day)
        rows = np.flatnonzero(inp.ok)
        if len(rows) < self.min_cases:
            return None
        sub = sub.iloc[rows]
        inp = _inputs(sub, sources, self.max_lead_day)
        y = sub["truth_f"].to_numpy(dtype=float)

        def center_scale(v: np.ndarray) -> tuple[float, float]:
            sd = float(np.std(v))
            return float(np.mean(v)), sd if sd > 1e-9 else 1.0

        x_stats = [center_scale(inp.x[:, j]) for j in range(len(sources))]
        h_c, h_s = center_scale(inp.horizon)
        m_c, m_s = center_scale(inp.mean)
        design = _Design(
            sources=sources,
            n_harmonics=self.n_harmonics,
            max_lead_day=self.max_lead_day,
            cities=sorted(sub["city"].astype(str).unique()),
            lead_days=sorted(int(d) for d in np.unique(inp.lead_day)),
            x_center=np.array([c for c, _ in x_stats]),
            x_scale=np.array([s for _, s in x_stats]),
            h_center=h_c,
            h_scale=h_s,
            m_center=m_c,
            m_scale=m_s,
        )
        x, z = design.matrices(sub, inp)
        mean_names, var_names = design.mean_names(), design.var_names()

        # Prior means and ridge strengths ("cases" times the mean square of each column where
        # it is active, times the CRPS curvature of a normal at the training error's scale).
        resid = y - inp.mean
        sigma_ref = max(1.4826 * float(np.median(np.abs(resid - np.median(resid)))), 0.5)
        prior_mu = np.zeros(len(mean_names))
        prior_mu[1 : 1 + len(sources)] = design.x_scale / len(sources)
        cases_mu = np.array([self._prior_cases(nm) for nm in mean_names])
        cases_var = np.array([self._prior_cases(nm) for nm in var_names])
        msq_mu, msq_var = _active_mean_square(x), _active_mean_square(z)
        pen_mu = cases_mu * msq_mu * (_CURV_MEAN / sigma_ref) / 2
        pen_var = cases_var * msq_var * (_CURV_LOG_VAR * sigma_ref) / 2
        penalty = np.concatenate([pen_mu, pen_var, [0.0]])
        prior = np.concatenate([prior_mu, np.zeros(len(var_names)), [0.0]])

        # Start: ridge least squares for the mean, constant variance of its residuals.
        ls_pen = cases_mu * msq_mu
        beta0 = np.linalg.lstsq(x.T @ x + np.diag(ls_pen), x.T @ y + ls_pen * prior_mu, rcond=None)[
            0
        ]
        gamma0 = np.zeros(len(var_names))
        gamma0[0] = np.log(max(float(np.mean((y - x @ beta0) ** 2)), 0.25))
        theta0 = np.concatenate([beta0, gamma0, [np.log(0.5)]])
        n = len(y)
        p = x.shape[1]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            score, _, _, d_mu, d_base, d_spread = _normal_crps_and_grad(theta, x, z, inp.spread2, y)
            diff = theta - prior
            value = (score.sum() + float(np.sum(penalty * diff**2))) / n
            grad = np.concatenate([x.T @ d_mu, z.T @ d_base, [d_spread.sum()]])
            return value, (grad + 2 * penalty * diff) / n

        # BFGS, not L-BFGS-B: with a few dozen parameters its dense update is cheap, and
        # L-BFGS-B's BLAS calls stall under a loaded multi-threaded BLAS (5x slower here).
        res = minimize(
            objective, theta0, jac=True, method="BFGS", options={"maxiter": self.maxiter}
        )
        theta = res.x
        score = _normal_crps_and_grad(theta, x, z, inp.spread2, y)[0]
        assert p + len(var_names) + 1 == len(theta)
        return _KindFit(
            design=design,
            theta=theta,
            n_train=n,
            crps_normal_in_sample=float(np.mean(score)),
            converged=bool(res.success),
            iterations=int(res.nit),
        )

    def _prior_cases(self, column: str) -> float:
        if column == "const":
            return 0.0
        if column.startswith("city:"):
            return self.prior_cases_city
        if column.startswith("lead:"):
            return self.prior_cases_lead
        return self.prior_cases_pooled


def _active_mean_square(m: np.ndarray) -> np.ndarray:
    """Mean of each column's squares over the rows where it is non-zero (1 if never)."""
    active = m != 0
    count = active.sum(axis=0)
    return np.where(count > 0, (m**2).sum(axis=0) / np.maximum(count, 1), 1.0)


__all__ = ["Emos", "FittedEmos"]

"""Climatology: the day-of-year normal and spread of each city's history, the floor model.

For each (city, kind) the truth of past climate days follows a normal whose mean and log
standard deviation are harmonic functions of the day of year:

    mean(doy)   = m_c + sum_h a_h cos(2 pi h doy / 365.25) + b_h sin(...)
    log sd(doy) = s_c + sum_h c_h cos(...) + d_h sin(...)

The level (``m_c``) is each city's own. The seasonal shape (``a, b``) and the log-sd
coefficients are shrunk toward the fit pooled over every city of the kind, with a ridge penalty
worth ``prior_days`` days of data: a city with years of history gets its own shape, a city with
a few weeks borrows the pooled one. Each climate day counts once, however many decision instants
the case table holds for it. It needs no forecast, so it has inputs whenever the city has
history; a city (or kind) without history gets NaN rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.base import ModelInputError, require_columns, to_jsonable
from weather_trader.core.forecasting.cases import bound_by_observed, labelled
from weather_trader.core.forecasting.pmf import (
    crps,
    log_score,
    nan_pmf,
    pmf_from_normal,
)

NAME = "climatology"
YEAR_DAYS = 365.25
REQUIRED = ("city", "kind", "climate_date", "doy", "truth_f")
MIN_LOG_SD, MAX_LOG_SD = np.log(0.5), np.log(30.0)


def harmonics(doy: np.ndarray, n_harmonics: int) -> np.ndarray:
    """``(n, 2 * n_harmonics)`` columns cos(2 pi h doy / 365.25), sin(...) for h = 1..H."""
    angle = 2 * np.pi * np.asarray(doy, dtype=float)[:, None] / YEAR_DAYS
    h = np.arange(1, n_harmonics + 1)[None, :]
    return np.concatenate([np.cos(angle * h), np.sin(angle * h)], axis=1)


def _ridge_toward(
    x: np.ndarray, y: np.ndarray, prior: np.ndarray, penalty: np.ndarray
) -> np.ndarray:
    """argmin ||y - x beta||^2 + sum_j penalty_j (beta_j - prior_j)^2 (penalty 0 = free)."""
    lhs = x.T @ x + np.diag(penalty)
    rhs = x.T @ y + penalty * prior
    return np.linalg.lstsq(lhs, rhs, rcond=None)[0]


def _fit_log_sd(
    h: np.ndarray, resid: np.ndarray, prior: np.ndarray, penalty: np.ndarray
) -> np.ndarray:
    """Gaussian maximum likelihood of log sd = [1, h] @ gamma on residuals, ridge toward prior.

    The negative log likelihood sum(log sd + r^2 / (2 sd^2)) is convex in gamma: damped Newton
    converges in a few steps.
    """
    design = np.column_stack([np.ones(len(resid)), h])
    r2 = np.maximum(resid**2, 1e-6)

    def objective(gamma: np.ndarray) -> float:
        log_sd = design @ gamma
        return float(
            np.sum(log_sd + 0.5 * r2 * np.exp(-2 * log_sd)) + penalty @ (gamma - prior) ** 2
        )

    gamma = prior.copy()
    value = objective(gamma)
    for _ in range(50):
        w = r2 * np.exp(-2 * (design @ gamma))
        grad = design.T @ (1.0 - w) + 2 * penalty * (gamma - prior)
        hess = (design * (2 * w)[:, None]).T @ design + np.diag(2 * penalty)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-4:
            candidate = gamma - t * step
            new_value = objective(candidate)
            if new_value <= value:
                break
            t /= 2
        else:
            break
        converged = value - new_value < 1e-10 * max(1.0, abs(value))
        gamma, value = candidate, new_value
        if converged:
            break
    return np.clip(gamma, -10.0, 10.0)


@dataclass
class FittedClimatology:
    """Per (city, kind) harmonic mean and log-sd coefficients."""

    n_harmonics: int
    coefs: dict[tuple[str, str], dict[str, np.ndarray]]
    pooled: dict[str, dict[str, np.ndarray]]
    n_days: dict[tuple[str, str], int]
    in_sample: dict[str, float]
    bound_tolerance_f: float = 0.0
    name: str = NAME

    def normal_params(self, cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of each case (NaN where its city/kind has no history)."""
        require_columns(cases, ("city", "kind", "doy"), "cases for climatology")
        n = len(cases)
        mu, sd = np.full(n, np.nan), np.full(n, np.nan)
        if n == 0:
            return mu, sd
        h = harmonics(cases["doy"].to_numpy(dtype=float), self.n_harmonics)
        design = np.column_stack([np.ones(n), h])
        city = cases["city"].astype(str).to_numpy()
        kind = cases["kind"].astype(str).to_numpy()
        for (c, k), coef in self.coefs.items():
            rows = (city == c) & (kind == k)
            if rows.any():
                mu[rows] = design[rows] @ coef["mean"]
                sd[rows] = np.exp(np.clip(design[rows] @ coef["log_sd"], MIN_LOG_SD, MAX_LOG_SD))
        return mu, sd

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        """Normal pmf of the day-of-year climate, truncated by any observed running extreme."""
        if len(cases) == 0:
            return nan_pmf(0)
        mu, sd = self.normal_params(cases)
        return bound_by_observed(pmf_from_normal(mu, sd), cases, self.bound_tolerance_f)

    def metadata(self) -> dict[str, Any]:
        """Coefficients per city/kind (and pooled), days of history and in-sample scores."""
        return to_jsonable(
            {
                "name": self.name,
                "n_harmonics": self.n_harmonics,
                "n_train": int(sum(self.n_days.values())),
                "n_days": {f"{c}/{k}": v for (c, k), v in self.n_days.items()},
                "coefficients": {
                    f"{c}/{k}": {p: v.tolist() for p, v in coef.items()}
                    for (c, k), coef in self.coefs.items()
                },
                "pooled": {
                    k: {p: v.tolist() for p, v in c.items()} for k, c in self.pooled.items()
                },
                **self.in_sample,
            }
        )


@dataclass
class Climatology:
    """Day-of-year climatology (fixed settings; nothing here is tuned on evaluation data).

    Attributes:
        n_harmonics: Annual harmonics of the mean and log sd (2 captures the asymmetric season).
        prior_days: Ridge strength toward the pooled seasonal shape, in days of data.
        bound_tolerance_f: Slack (F) given to observed running extremes used as bounds.
    """

    n_harmonics: int = 2
    prior_days: float = 60.0
    bound_tolerance_f: float = 0.0
    name: str = field(default=NAME)

    def fit(self, cases: pd.DataFrame) -> FittedClimatology:
        """Fit from the labelled rows of ``cases`` (one row per climate day is used).

        Raises:
            ModelInputError: If columns are missing or no row has a label.
        """
        require_columns(cases, REQUIRED, "cases for climatology")
        days = labelled(cases).drop_duplicates(["city", "kind", "climate_date"])
        if days.empty:
            raise ModelInputError("climatology needs at least one labelled case")
        h_all = harmonics(days["doy"].to_numpy(dtype=float), self.n_harmonics)
        y_all = days["truth_f"].to_numpy(dtype=float)
        city = days["city"].astype(str).to_numpy()
        kind = days["kind"].astype(str).to_numpy()
        p = h_all.shape[1]
        coefs: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        pooled: dict[str, dict[str, np.ndarray]] = {}
        n_days: dict[tuple[str, str], int] = {}
        for k in sorted(set(kind)):
            in_kind = kind == k
            cities = sorted(set(city[in_kind]))
            # Ridge worth prior_days days: per day, the curvature of the squared error (or of
            # the log-sd likelihood) is E[x^2], 1 for the constant and 1/2 for a harmonic.
            penalty = self.prior_days * np.concatenate([[1.0], np.full(p, 0.5)])
            # Pooled shape: each city its own level, one seasonal shape for all, itself shrunk
            # toward no season (what a few weeks of history in one season can justify).
            dummies = (city[in_kind][:, None] == np.array(cities)[None, :]).astype(float)
            x = np.column_stack([dummies, h_all[in_kind]])
            free = np.zeros(len(cities))
            beta = _ridge_toward(
                x, y_all[in_kind], np.zeros(x.shape[1]), np.concatenate([free, penalty[1:]])
            )
            shape = beta[len(cities) :]
            resid = y_all[in_kind] - x @ beta
            no_season = np.zeros(p + 1)
            no_season[0] = 0.5 * np.log(max(float(np.mean(resid**2)), 0.25))
            pooled_log_sd = _fit_log_sd(
                h_all[in_kind], resid, no_season, np.concatenate([[0.0], penalty[1:]])
            )
            pooled[k] = {"shape": shape, "log_sd": pooled_log_sd}
            for c in cities:
                rows = in_kind & (city == c)
                design = np.column_stack([np.ones(rows.sum()), h_all[rows]])
                prior = np.concatenate([[0.0], shape])
                # The level is the city's own (no penalty); the shape is shrunk to the pooled one.
                mean_coef = _ridge_toward(
                    design, y_all[rows], prior, np.concatenate([[0.0], penalty[1:]])
                )
                r = y_all[rows] - design @ mean_coef
                # Log-sd shrinks toward pooled in all terms (a few days say little about spread).
                log_sd = _fit_log_sd(h_all[rows], r, pooled_log_sd, penalty)
                coefs[(c, k)] = {"mean": mean_coef, "log_sd": log_sd}
                n_days[(c, k)] = int(rows.sum())
        fitted = FittedClimatology(
            n_harmonics=self.n_harmonics,
            coefs=coefs,
            pooled=pooled,
            n_days=n_days,
            in_sample={},
            bound_tolerance_f=self.bound_tolerance_f,
        )
        pmf = fitted.predict_pmf(days.drop(columns=["obs_extreme"], errors="ignore"))
        fitted.in_sample = {
            "crps_in_sample": float(np.nanmean(crps(pmf, y_all))),
            "log_score_in_sample": float(np.nanmean(log_score(pmf, y_all))),
        }
        return fitted

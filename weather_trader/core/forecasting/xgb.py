"""``xgboost``: gradient-boosted quantile regression of the ensemble mean's error.

The model predicts quantiles of ``X - fc_mean``, where X is the continuous temperature behind the
reported whole degree T (T = round(X); training jitters T by U(-0.5, 0.5) so that the quantiles
describe X, as :func:`pmf.pmf_from_quantiles` expects). Predicting the error rather than the
temperature spends the few hundred cases a city has on what the forecasts get wrong, not on the
seasonal cycle they already know.

One XGBoost booster (``objective="reg:quantileerror"`` with an array of ``quantile_alpha``) gives
all quantile levels; crossing quantiles are sorted, turned into a pmf and bounded by the
observed running max (high) / min (low) when the decision is made during the climate day. A low
is also conditioned on the hour (:func:`cases.bound_by_observed`'s intraday prior) unless the
booster learnt that itself, from at least :data:`MIN_ROWS_BOOSTED` training cases with an
observed running extreme.

Features, all from the case table's columns (no city or source is named in the code):

* per source/model seen in training: its forecast minus ``fc_mean``, its age, its member spread;
* ``fc_mean``, ``fc_std``, ``fc_n``, ``lead_hours``, day-of-year harmonics;
* ``obs_extreme - fc_mean`` and ``obs_hour`` (NaN before the climate day: XGBoost's missing
  branch);
* any ``hourly:*`` (forecast shape) and ``recent:*`` (recent error) columns the case table has;
* the city and kind as fitted effects: the shrunk mean and spread of the training error in each
  (city, kind) group (target encoding; an unseen group gets the pooled values), and the kind.

Settings are fixed and conservative for a few hundred rows per city (shallow trees, large leaves,
row/column subsampling, L2 penalty) and the number of rounds is chosen by early stopping on the
latest 20% of training cases in time, then the model is refitted on all of them with that many
rounds. One thread and a fixed seed: a fit is deterministic (and fast on a busy machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from weather_trader.core.forecasting.base import ModelInputError, require_columns, to_jsonable
from weather_trader.core.forecasting.cases import (
    AGE_PREFIX,
    FC_PREFIX,
    SD_PREFIX,
    bound_by_observed,
)
from weather_trader.core.forecasting.pmf import nan_pmf, pmf_from_quantiles

NAME = "xgboost"
QUANTILE_LEVELS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
EXTRA_PREFIXES = ("hourly:", "recent:")
"""Optional case columns used as features as they are, when present in training."""
REQUIRED = ("city", "kind", "decided_at", "doy", "lead_hours", "fc_mean", "fc_std", "fc_n")
PARAMS: dict[str, Any] = {
    "objective": "reg:quantileerror",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.2,
    "min_child_weight": 20.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 5.0,
    "max_bin": 64,
    # One thread: on a busy 2-core machine (Dagster runs, tests) two OpenMP threads that spin at
    # every barrier made a fit ~30x slower (measured 162 s vs 5.8 s); one is never slower there.
    "nthread": 1,
    "seed": 0,
}
MAX_ROUNDS = 300
EARLY_STOPPING = 20
VALID_FRACTION = 0.2
MIN_ROWS_BOOSTED = 80
"""Below this many labelled cases the model is the empirical error quantiles (no trees)."""
MIN_ROWS = 10
GROUP_PRIOR = 30.0
"""Pseudo-count shrinking a (city, kind) group's mean error toward the pooled mean."""


def _has_forecast(cases: pd.DataFrame) -> np.ndarray:
    return (cases["fc_n"].to_numpy(dtype=float) > 0) & np.isfinite(
        cases["fc_mean"].to_numpy(dtype=float)
    )


def _group_keys(cases: pd.DataFrame) -> pd.Series:
    return cases["city"].astype(str) + "|" + cases["kind"].astype(str)


@dataclass
class _Encoding:
    """Target encoding of (city, kind) groups and the kinds seen, learnt at fit time."""

    bias: dict[str, float]
    scale: dict[str, float]
    pooled_bias: float
    pooled_scale: float
    kinds: dict[str, int]

    @classmethod
    def fit(cls, keys: pd.Series, kinds: pd.Series, y: np.ndarray) -> _Encoding:
        pooled_bias = float(np.median(y))
        dev = np.abs(y - pooled_bias)
        pooled_scale = float(np.mean(dev))
        frame = pd.DataFrame({"key": keys.to_numpy(), "y": y, "dev": dev})
        stats = frame.groupby("key").agg(n=("y", "size"), s=("y", "sum"), d=("dev", "sum"))
        k = GROUP_PRIOR
        bias = ((stats["s"] + k * pooled_bias) / (stats["n"] + k)).to_dict()
        scale = ((stats["d"] + k * pooled_scale) / (stats["n"] + k)).to_dict()
        kind_codes = {str(v): i for i, v in enumerate(sorted(kinds.astype(str).unique()))}
        return cls(bias, scale, pooled_bias, pooled_scale, kind_codes)

    def transform(self, cases: pd.DataFrame) -> dict[str, np.ndarray]:
        keys = _group_keys(cases)
        return {
            "group_bias": keys.map(self.bias).fillna(self.pooled_bias).to_numpy(dtype=float),
            "group_scale": keys.map(self.scale).fillna(self.pooled_scale).to_numpy(dtype=float),
            "kind_code": cases["kind"].astype(str).map(self.kinds).to_numpy(dtype=float),
        }


def _column(cases: pd.DataFrame, name: str) -> np.ndarray:
    if name in cases.columns:
        return pd.to_numeric(cases[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(cases), np.nan)


def _features(
    cases: pd.DataFrame, sources: list[str], extras: list[str], enc: _Encoding
) -> pd.DataFrame:
    """The feature matrix (columns in a fixed order); missing inputs are NaN."""
    mean = _column(cases, "fc_mean")
    doy = _column(cases, "doy")
    angle = 2 * np.pi * (doy - 1) / 365.25
    feats: dict[str, np.ndarray] = {
        "fc_mean": mean,
        "fc_std": _column(cases, "fc_std"),
        "fc_n": _column(cases, "fc_n"),
        "lead_hours": _column(cases, "lead_hours"),
        "doy_sin": np.sin(angle),
        "doy_cos": np.cos(angle),
        "doy_sin2": np.sin(2 * angle),
        "doy_cos2": np.cos(2 * angle),
        "obs_minus_mean": _column(cases, "obs_extreme") - mean,
        "obs_hour": _column(cases, "obs_hour"),
    }
    for key in sources:
        feats[f"dev:{key}"] = _column(cases, f"{FC_PREFIX}{key}") - mean
        feats[f"{AGE_PREFIX}{key}"] = _column(cases, f"{AGE_PREFIX}{key}")
        feats[f"{SD_PREFIX}{key}"] = _column(cases, f"{SD_PREFIX}{key}")
    for name in extras:
        feats[name] = _column(cases, name)
    feats.update(enc.transform(cases))
    return pd.DataFrame(feats)


@dataclass
class FittedXGBoost:
    """A fitted quantile booster (or, with few cases, the empirical error quantiles)."""

    levels: tuple[float, ...]
    sources: list[str]
    extras: list[str]
    encoding: _Encoding
    booster: xgb.Booster | None
    constant_quantiles: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)
    bound_tolerance_f: float = 0.0
    name: str = NAME
    learnt_intraday: bool = False
    """The booster saw enough observed running extremes to condition on them by itself."""

    def predict_error_quantiles(self, cases: pd.DataFrame) -> np.ndarray:
        """``(n, L)`` sorted quantiles of ``X - fc_mean`` (NaN rows without forecasts)."""
        n = len(cases)
        out = np.full((n, len(self.levels)), np.nan)
        ok = _has_forecast(cases)
        if not ok.any():
            return out
        if self.booster is None:
            out[ok] = self.constant_quantiles
            return out
        feats = _features(cases.loc[ok], self.sources, self.extras, self.encoding)
        pred = self.booster.predict(xgb.DMatrix(feats, missing=np.nan, nthread=PARAMS["nthread"]))
        out[ok] = np.sort(np.asarray(pred, dtype=float).reshape(int(ok.sum()), -1), axis=1)
        return out

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        """``(n, len(SUPPORT))`` pmfs, truncated at the observed extreme; NaN without inputs."""
        require_columns(cases, REQUIRED, "cases for xgboost")
        n = len(cases)
        if n == 0:
            return nan_pmf(0)
        q = self.predict_error_quantiles(cases) + _column(cases, "fc_mean")[:, None]
        pmf = pmf_from_quantiles(self.levels, q)
        priors = {} if self.learnt_intraday else None  # None: the default intraday priors
        return bound_by_observed(pmf, cases, self.bound_tolerance_f, priors)

    def metadata(self) -> dict[str, Any]:
        """JSON-able: rows, rounds, validation loss, settings and the most useful features."""
        return to_jsonable(
            {
                "name": self.name,
                "quantile_levels": list(self.levels),
                "sources": self.sources,
                "extra_features": self.extras,
                "group_bias": self.encoding.bias,
                "pooled_bias": self.encoding.pooled_bias,
                "params": {k: v for k, v in PARAMS.items() if k != "objective"},
                "bound_tolerance_f": self.bound_tolerance_f,
                "xgboost_version": xgb.__version__,
                **self.info,
            }
        )


def _pinball(y: np.ndarray, q: np.ndarray, levels: np.ndarray) -> float:
    diff = y[:, None] - q
    return float(np.mean(np.maximum(levels * diff, (levels - 1) * diff)))


@dataclass(frozen=True)
class XGBoostModel:
    """The unfitted XGBoost quantile model (fixed settings only).

    Attributes:
        levels: Quantile levels predicted.
        seed: Seed of the jitter and of XGBoost's subsampling.
        bound_tolerance_f: Slack (F) given to observed running extremes used as bounds (as
            :class:`~weather_trader.core.forecasting.emos.Emos`).
    """

    name: str = NAME
    levels: tuple[float, ...] = QUANTILE_LEVELS
    seed: int = 0
    bound_tolerance_f: float = 0.0

    def fit(self, cases: pd.DataFrame) -> FittedXGBoost:
        """Fit on the labelled cases that have at least one forecast.

        Raises:
            ModelInputError: Missing columns, or fewer than :data:`MIN_ROWS` usable cases.
        """
        require_columns(cases, (*REQUIRED, "truth_f"), "cases for xgboost")
        truth = _column(cases, "truth_f")
        train = cases.loc[_has_forecast(cases) & np.isfinite(truth)]
        if len(train) < MIN_ROWS:
            raise ModelInputError(
                f"xgboost needs at least {MIN_ROWS} labelled cases with forecasts; got {len(train)}"
            )
        train = train.iloc[
            np.argsort(pd.to_datetime(train["decided_at"], utc=True).to_numpy(), kind="stable")
        ]
        rng = np.random.default_rng(self.seed)
        jitter = rng.uniform(-0.5, 0.5, len(train))
        y = _column(train, "truth_f") + jitter - _column(train, "fc_mean")
        levels = np.asarray(self.levels, dtype=float)
        enc = _Encoding.fit(_group_keys(train), train["kind"], y)
        sources = sorted(
            c[len(FC_PREFIX) :]
            for c in train.columns
            if c.startswith(FC_PREFIX) and train[c].notna().any()
        )
        extras = sorted(
            c
            for c in train.columns
            if c.startswith(EXTRA_PREFIXES)
            and pd.to_numeric(train[c], errors="coerce").notna().any()
        )
        info: dict[str, Any] = {"n_train": len(train), "n_cities": int(train["city"].nunique())}
        if len(train) < MIN_ROWS_BOOSTED:
            constant = np.quantile(y, levels)
            info.update(fallback="empirical error quantiles (too few cases for trees)")
            return FittedXGBoost(
                self.levels, sources, extras, enc, None, constant, info, self.bound_tolerance_f
            )

        feats = _features(train, sources, extras, enc)
        params = {**PARAMS, "quantile_alpha": levels, "seed": self.seed}
        n_valid = max(round(VALID_FRACTION * len(train)), 1)
        cut = len(train) - n_valid

        def matrix(rows: slice) -> xgb.DMatrix:
            return xgb.DMatrix(
                feats.iloc[rows], label=y[rows], missing=np.nan, nthread=PARAMS["nthread"]
            )

        d_fit, d_valid = matrix(slice(0, cut)), matrix(slice(cut, None))
        probe = xgb.train(
            params,
            d_fit,
            num_boost_round=MAX_ROUNDS,
            evals=[(d_valid, "valid")],
            early_stopping_rounds=EARLY_STOPPING,
            verbose_eval=False,
        )
        rounds = int(probe.best_iteration) + 1
        q_valid = np.sort(probe.predict(d_valid, iteration_range=(0, rounds)), axis=1)
        booster = xgb.train(params, matrix(slice(0, None)), num_boost_round=rounds)
        observed = int(np.isfinite(_column(train, "obs_extreme")).sum())
        gain = booster.get_score(importance_type="total_gain")
        top = sorted(gain.items(), key=lambda kv: -kv[1])[:10]
        y_valid = y[cut:]
        info.update(
            n_valid=n_valid,
            rounds=rounds,
            valid_pinball=_pinball(y_valid, q_valid, levels),
            valid_pinball_constant=_pinball(y_valid, np.quantile(y[:cut], levels)[None, :], levels),
            # Reliability: the share of validation errors below each predicted quantile.
            valid_share_below={
                f"{lv:g}": float(np.mean(y_valid <= q_valid[:, j])) for j, lv in enumerate(levels)
            },
            top_features={k: float(v) for k, v in top},
            observed_cases=observed,
        )
        return FittedXGBoost(
            self.levels,
            sources,
            extras,
            enc,
            booster,
            None,
            info,
            self.bound_tolerance_f,
            learnt_intraday=observed >= MIN_ROWS_BOOSTED,
        )

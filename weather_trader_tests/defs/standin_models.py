"""Light stand-ins for the suite's components in the Dagster wiring tests.

The real components (XGBoost above all) take seconds to fit; the wiring tests fit the suite
many times and test the assets, not the models (those have their own tests in
``weather_trader_tests/core/forecasting``). A stand-in is a bias-corrected normal around the
case's forecast mean (or its climatology when no forecast was known), so it has real skill in
the sim world. Module-level classes, so the model store can pickle them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.pmf import pmf_from_normal
from weather_trader.core.forecasting.suite import ModelSuite


@dataclass
class FittedMeanNormal:
    """N(fc_mean + bias, sd) per kind, in integer pmf form."""

    name: str
    bias: dict[str, float]
    sd: dict[str, float]

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        kind = cases["kind"].astype(str)
        mu = cases["fc_mean"].to_numpy(dtype=float) + kind.map(self.bias).to_numpy(dtype=float)
        return pmf_from_normal(mu, kind.map(self.sd).to_numpy(dtype=float))

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "bias": self.bias, "sd": self.sd}


@dataclass
class MeanNormal:
    """A stand-in component: its spread scaled by ``widen`` so components differ."""

    name: str
    widen: float = 1.0

    def fit(self, cases: pd.DataFrame) -> FittedMeanNormal:
        train = cases[cases["truth_f"].notna() & cases["fc_mean"].notna()]
        if len(train) < 10:
            raise ModelInputError(f"{self.name} needs 10 labelled cases, got {len(train)}")
        err = train["truth_f"] - train["fc_mean"]
        by_kind = err.groupby(train["kind"].astype(str))
        bias = {k: float(v) for k, v in by_kind.mean().items()}
        sd = {k: max(float(v), 1.0) * self.widen for k, v in by_kind.std().fillna(3.0).items()}
        return FittedMeanNormal(self.name, bias, sd)


def standin_suite(components: Sequence[str] = ("climatology", "emos", "xgboost")) -> ModelSuite:
    """The suite's shape (the named components, stack, pool) with light components."""
    widen = {"climatology": 3.0, "emos": 1.0, "xgboost": 1.5}
    chosen = [MeanNormal(name, widen[name]) for name in components]
    return ModelSuite(
        components=lambda: chosen,
        baselines=lambda: [],
        min_train=10,
        cv_folds=2,
    )

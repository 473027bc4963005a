"""The best raw single-forecast baseline: a normal around one source's forecast as issued.

For every ``fc:{source}/{model}`` column with enough labelled training cases, the spread is the
root mean squared error of that forecast against the truth on the training cases (no bias
correction: this is the forecast as issued). Sources are ranked by their mean CRPS on those
cases; a case is predicted from the best-ranked source it has a value for. Everything is fitted
from the training cases only, so in a walk-forward the choice of "best" never looks ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.cases import forecast_columns, source_key
from weather_trader.core.forecasting.pmf import crps_normal, nan_pmf, pmf_from_normal

NAME = "raw_best"


@dataclass
class FittedRawBest:
    """Sources ranked best first, each with its RMSE spread and training CRPS."""

    ranking: list[tuple[str, float, float, int]]  # (fc column, rmse, mean crps, n)
    name: str = NAME

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        """Normal(forecast, rmse) of the best-ranked source present in each row."""
        n = len(cases)
        mu, sigma = np.full(n, np.nan), np.full(n, np.nan)
        for column, rmse, _, _ in self.ranking:
            if column not in cases.columns:
                continue
            values = cases[column].to_numpy(dtype=float)
            fill = np.isnan(mu) & np.isfinite(values)
            mu[fill], sigma[fill] = values[fill], rmse
        if not n:
            return nan_pmf(0)
        return pmf_from_normal(mu, sigma)

    def chosen(self, cases: pd.DataFrame) -> list[str | None]:
        """The source/model each row is predicted from (None: no source)."""
        out: list[str | None] = [None] * len(cases)
        for column, *_ in reversed(self.ranking):
            if column in cases.columns:
                for i, v in enumerate(cases[column].to_numpy(dtype=float)):
                    if np.isfinite(v):
                        out[i] = source_key(column)
        return out

    def metadata(self) -> dict[str, Any]:
        """JSON-able: the ranking with spreads and training CRPS."""
        return {
            "name": self.name,
            "ranking": [
                {"source": source_key(c), "rmse": r, "crps": s, "n_train": k}
                for c, r, s, k in self.ranking
            ],
        }


@dataclass
class RawBestBaseline:
    """Settings: the fewest labelled cases a source needs to be ranked."""

    min_cases: int = 30
    name: str = NAME

    def fit(self, cases: pd.DataFrame) -> FittedRawBest:
        """Rank the sources by CRPS of Normal(forecast, RMSE) on the labelled ``cases``.

        Raises:
            ModelInputError: If no source has ``min_cases`` labelled values.
        """
        truth = cases["truth_f"].to_numpy(dtype=float)
        ranking = []
        for column in forecast_columns(cases):
            values = cases[column].to_numpy(dtype=float)
            ok = np.isfinite(values) & np.isfinite(truth)
            if ok.sum() < self.min_cases:
                continue
            err = values[ok] - truth[ok]
            rmse = float(np.sqrt(np.mean(err**2)))
            score = float(np.mean(crps_normal(values[ok], np.full(ok.sum(), rmse), truth[ok])))
            ranking.append((column, rmse, score, int(ok.sum())))
        if not ranking:
            raise ModelInputError(f"no forecast source has {self.min_cases} labelled cases")
        ranking.sort(key=lambda r: r[2])
        return FittedRawBest(ranking=ranking)

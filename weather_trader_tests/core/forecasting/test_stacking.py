"""The CRPS-weighted stack and the expanding-window out-of-sample predictions it is fitted on."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting import pmf
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.stacking import (
    FittedStack,
    StackError,
    fit_stack,
    out_of_sample_pmfs,
    time_boundaries,
)


def _normal_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.uniform(30, 90, n)
    truth = np.rint(mu + rng.normal(0, 2.5, n))
    return mu, truth


def test_weights_recover_the_better_component() -> None:
    mu, truth = _normal_data()
    comps = {
        "good": pmf.pmf_from_normal(mu, 2.5),
        "biased": pmf.pmf_from_normal(mu + 4, 2.5),
        "vague": pmf.pmf_from_normal(mu, 10.0),
    }
    stack = fit_stack(comps, truth)
    assert stack.weights["good"] > 0.9
    assert sum(stack.weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in stack.weights.values())
    assert stack.crps <= min(stack.component_crps.values()) + 1e-9
    # The reported CRPS is pmf.crps of the combined prediction.
    mixed = stack.combine(comps)
    assert stack.crps == pytest.approx(float(np.mean(pmf.crps(mixed, truth))))


def test_complementary_components_share_weight() -> None:
    mu, truth = _normal_data()
    comps = {"sharp": pmf.pmf_from_normal(mu, 0.8), "wide": pmf.pmf_from_normal(mu, 6.0)}
    stack = fit_stack(comps, truth)
    assert 0.2 < stack.weights["sharp"] < 0.8
    assert stack.crps < min(stack.component_crps.values())


def test_combine_renormalises_over_available_components() -> None:
    mu, _ = _normal_data(n=5)
    a = pmf.pmf_from_normal(mu, 2.0)
    b = pmf.pmf_from_normal(mu + 2, 3.0)
    a[1] = np.nan
    a[3] = np.nan
    b[3] = np.nan
    stack = FittedStack(weights={"a": 0.7, "b": 0.3}, n_train=10)
    out = stack.combine({"a": a, "b": b})
    np.testing.assert_allclose(out[0], 0.7 * a[0] + 0.3 * b[0])
    np.testing.assert_allclose(out[1], b[1])  # a missing: b alone
    assert np.isnan(out[3]).all()  # nothing available
    np.testing.assert_allclose(out[[0, 1, 2, 4]].sum(axis=1), 1.0)
    # A weighted component absent from the input counts as missing everywhere.
    np.testing.assert_allclose(stack.combine({"b": b})[0], b[0])
    # Present components with zero weight are used (equally) when nothing weighted is present.
    zero = FittedStack(weights={"a": 1.0, "b": 0.0}, n_train=10)
    np.testing.assert_allclose(zero.combine({"a": a, "b": b})[1], b[1])


def test_fit_with_missing_component_rows() -> None:
    mu, truth = _normal_data()
    good = pmf.pmf_from_normal(mu, 2.5)
    good[::3] = np.nan  # the good model has no inputs on a third of the cases
    bad = pmf.pmf_from_normal(mu + 3, 4.0)
    truth = truth.copy()
    truth[5] = np.nan  # unlabelled rows are ignored
    stack = fit_stack({"good": good, "bad": bad}, truth)
    assert stack.weights["good"] > 0.9
    assert stack.n_train == len(truth) - 1
    mixed = stack.combine({"good": good, "bad": bad})
    assert pmf.valid_rows(mixed).all()
    np.testing.assert_allclose(mixed[::3], bad[::3])


def test_bad_inputs_and_serialisation() -> None:
    mu, truth = _normal_data(n=20)
    with pytest.raises(StackError):
        fit_stack({}, truth)
    with pytest.raises(StackError):
        fit_stack({"a": pmf.pmf_from_normal(mu, 2.0)}, truth[:5])
    nothing = fit_stack({"a": pmf.nan_pmf(20), "b": pmf.nan_pmf(20)}, truth)
    assert nothing.weights == {"a": 0.5, "b": 0.5} and nothing.n_train == 0
    stack = fit_stack({"a": pmf.pmf_from_normal(mu, 2.0)}, truth)
    assert stack.weights == {"a": 1.0}
    assert pickle.loads(pickle.dumps(stack)).weights == stack.weights
    json.dumps(stack.metadata())


# -- out-of-sample predictions -------------------------------------------------------------------


@dataclass
class _FittedMean:
    name: str
    mean: float
    trained_until: pd.Timestamp

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        return pmf.pmf_from_normal(np.full(len(cases), self.mean), 3.0)

    def metadata(self) -> dict[str, Any]:
        return {"mean": self.mean}


@dataclass
class _MeanModel:
    """Predicts the training mean; records every training set it saw."""

    name: str = "mean"
    seen: list[pd.DataFrame] = field(default_factory=list)

    def fit(self, cases: pd.DataFrame) -> _FittedMean:
        self.seen.append(cases)
        return _FittedMean(self.name, float(cases["truth_f"].mean()), cases["truth_known_at"].max())


def _cases(n: int = 200) -> pd.DataFrame:
    start = pd.Timestamp("2024-03-01 14:00", tz="UTC")
    decided = start + pd.to_timedelta(np.arange(n), unit="D")
    truth = 50 + np.arange(n) * 0.1
    return pd.DataFrame(
        {
            "decided_at": decided,
            "truth_f": truth,
            "truth_known_at": decided + pd.Timedelta(days=1, hours=12),
        }
    )


def test_out_of_sample_uses_only_truth_known_before_each_block() -> None:
    cases = _cases()
    model = _MeanModel()
    oos = out_of_sample_pmfs([model], cases, n_folds=4)
    assert len(oos.boundaries) == 4 and len(model.seen) == 4
    for start, train in zip(oos.boundaries, model.seen, strict=True):
        assert (train["truth_known_at"] <= start).all()
        assert (train["decided_at"] <= start).all()
    p = oos.pmfs["mean"]
    first = cases["decided_at"] < oos.boundaries[0]
    assert (~pmf.valid_rows(p) == first.to_numpy()).all()
    assert (oos.block[first.to_numpy()] == -1).all()
    assert set(oos.block[~first.to_numpy()]) == {0, 1, 2, 3}
    # A later-block prediction comes from a fit that saw more data (expanding window).
    sizes = [len(t) for t in model.seen]
    assert sizes == sorted(sizes) and sizes[0] > 0


def test_fixed_boundaries_and_the_fit_cache_avoid_refits() -> None:
    cases = _cases()
    bounds = [pd.Timestamp("2024-05-01", tz="UTC"), pd.Timestamp("2024-07-01", tz="UTC")]
    cache: dict = {}
    model = _MeanModel()
    first = out_of_sample_pmfs([model], cases.iloc[:150], boundaries=bounds, fitted_cache=cache)
    assert len(model.seen) == 2
    # A later refit with more cases reuses both fits; the rows they predict do not change.
    again = out_of_sample_pmfs([model], cases, boundaries=bounds, fitted_cache=cache)
    assert len(model.seen) == 2
    np.testing.assert_array_equal(first.pmfs["mean"], again.pmfs["mean"][:150])
    # Too little training data before a boundary: that block is left without predictions.
    early = [pd.Timestamp("2024-03-05", tz="UTC")]
    sparse = out_of_sample_pmfs([_MeanModel()], cases, boundaries=early, min_train=30)
    assert not pmf.valid_rows(sparse.pmfs["mean"]).any()


def test_time_boundaries_are_increasing_decision_times() -> None:
    cases = _cases(50)
    bounds = time_boundaries(cases["decided_at"], 3)
    assert len(bounds) == 3 and bounds == sorted(bounds)
    assert all(b in set(cases["decided_at"]) for b in bounds)


@dataclass
class _Refusing:
    name: str = "refusing"

    def fit(self, cases: pd.DataFrame) -> _FittedMean:
        raise ModelInputError("no usable inputs")


def test_a_model_that_cannot_fit_yet_leaves_nan_rows() -> None:
    cases = _cases()
    oos = out_of_sample_pmfs([_MeanModel(), _Refusing()], cases, n_folds=2)
    assert not pmf.valid_rows(oos.pmfs["refusing"]).any()
    assert pmf.valid_rows(oos.pmfs["mean"]).sum() > 0

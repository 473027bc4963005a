"""XGBoost quantile model: learns a known conditional distribution, handles missing inputs."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting import pmf
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.xgb import MIN_ROWS_BOOSTED, FittedXGBoost, XGBoostModel

N_TRAIN = 700


def synthetic_cases(n: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Two cities; truth X = base + city bias + N(0, sigma) with sigma = 1 + 4 u, where u is
    the member spread column of source a. Returns (cases, X, sigma)."""
    rng = np.random.default_rng(seed)
    cities = np.array(["AAA", "BBB"])
    day = np.arange(n) // 2
    start = pd.Timestamp("2024-01-01", tz="UTC")
    decided = start + pd.to_timedelta(day, unit="D") - pd.Timedelta(hours=8)
    climate_date = (start + pd.to_timedelta(day, unit="D")).date
    doy = pd.to_datetime(pd.Series(climate_date)).dt.day_of_year.to_numpy()
    base = 60 + 20 * np.sin(2 * np.pi * (doy - 100) / 365.25)
    city = cities[np.arange(n) % 2]
    u = rng.uniform(0, 1, n)
    sigma = 1.0 + 4.0 * u
    x = base + np.where(city == "AAA", 2.0, -1.0) + rng.normal(0, sigma)
    fa = base + rng.normal(0, 0.3, n)
    fb = base + 1 + rng.normal(0, 0.3, n)
    fc = np.column_stack([fa, fb])
    cases = pd.DataFrame(
        {
            "city": city,
            "kind": "high",
            "climate_date": climate_date,
            "decided_at": decided,
            "doy": doy,
            "lead_hours": 32.0,
            "fc:a/x": fa,
            "age:a/x": 6.0,
            "sd:a/x": u,
            "fc:b/y": fb,
            "age:b/y": 12.0,
            "sd:b/y": np.nan,
            "fc_mean": fc.mean(axis=1),
            "fc_median": np.median(fc, axis=1),
            "fc_std": fc.std(axis=1),
            "fc_n": 2,
            "obs_extreme": np.nan,
            "obs_hour": np.nan,
            "truth_f": np.rint(x),
            "truth_known_at": decided + pd.Timedelta(days=2),
        }
    )
    return cases, x, sigma


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    return synthetic_cases(1000)


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> FittedXGBoost:
    cases, _, _ = data
    return XGBoostModel().fit(cases.iloc[:N_TRAIN])


def test_quantiles_cover_a_known_conditional_distribution(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], fitted: FittedXGBoost
) -> None:
    cases, x, sigma = data
    test = cases.iloc[N_TRAIN:]
    q = fitted.predict_error_quantiles(test) + test["fc_mean"].to_numpy()[:, None]
    levels = list(fitted.levels)
    lo, hi = q[:, levels.index(0.1)], q[:, levels.index(0.9)]
    x_test = x[N_TRAIN:]
    coverage = np.mean((x_test >= lo) & (x_test <= hi))
    assert 0.72 <= coverage <= 0.88
    # The spread follows the informative feature: wider where sigma is larger.
    wide = sigma[N_TRAIN:] > 3.5
    narrow = sigma[N_TRAIN:] < 2.5
    assert np.mean((hi - lo)[wide]) > 1.4 * np.mean((hi - lo)[narrow])
    # And the median follows the per-city bias learnt from data (+2 vs -1 around base + 0.5).
    med = q[:, levels.index(0.5)]
    city = test["city"].to_numpy()
    bias = med - test["fc_mean"].to_numpy()
    assert np.mean(bias[city == "AAA"]) - np.mean(bias[city == "BBB"]) > 1.5


def test_beats_the_constant_error_distribution(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], fitted: FittedXGBoost
) -> None:
    cases, _, _ = data
    test = cases.iloc[N_TRAIN:]
    truth = test["truth_f"].to_numpy()
    constant = XGBoostModel().fit(cases.iloc[: MIN_ROWS_BOOSTED - 1])  # too few: empirical
    assert constant.booster is None
    crps_model = np.mean(pmf.crps(fitted.predict_pmf(test), truth))
    crps_constant = np.mean(pmf.crps(constant.predict_pmf(test), truth))
    assert crps_model < 0.9 * crps_constant
    meta = fitted.metadata()
    assert meta["valid_pinball"] < meta["valid_pinball_constant"]
    assert meta["n_train"] == N_TRAIN and meta["rounds"] >= 1


def test_pmf_rows_sum_to_one_and_rows_without_forecasts_are_nan(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], fitted: FittedXGBoost
) -> None:
    cases, _, _ = data
    test = cases.iloc[N_TRAIN : N_TRAIN + 10].copy()
    test.loc[test.index[[2, 5]], ["fc:a/x", "fc:b/y", "fc_mean", "fc_median", "fc_std"]] = np.nan
    test.loc[test.index[[2, 5]], "fc_n"] = 0
    test.loc[test.index[3], "fc:b/y"] = np.nan  # one source missing: still predicted
    p = fitted.predict_pmf(test)
    assert p.shape == (10, pmf.N_SUPPORT)
    nan_rows = ~pmf.valid_rows(p)
    assert nan_rows.tolist() == [i in (2, 5) for i in range(10)]
    np.testing.assert_allclose(p[~nan_rows].sum(axis=1), 1.0)


def test_unknown_city_and_source_columns_are_handled(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], fitted: FittedXGBoost
) -> None:
    cases, _, _ = data
    test = cases.iloc[N_TRAIN : N_TRAIN + 5].assign(city="ZZZ").drop(columns=["fc:b/y"])
    test["fc:new/model"] = test["fc_mean"]
    p = fitted.predict_pmf(test)
    assert pmf.valid_rows(p).all()


def test_observed_running_max_bounds_the_high(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], fitted: FittedXGBoost
) -> None:
    cases, _, _ = data
    test = cases.iloc[N_TRAIN : N_TRAIN + 4].copy()
    floor = test["fc_mean"].to_numpy() + 3.0
    test["obs_extreme"] = floor
    test["obs_hour"] = 14.0
    p = fitted.predict_pmf(test)
    for row, f in zip(p, floor, strict=True):
        assert row[f >= pmf.SUPPORT + 0.5].sum() == 0.0
    low = test.assign(kind="low")
    p_low = fitted.predict_pmf(low)
    for row, c in zip(p_low, floor, strict=True):
        assert row[c < pmf.SUPPORT - 0.5].sum() == 0.0
    # A slack for observation precision moves the bound, never removes it.
    slack = dataclasses.replace(fitted, bound_tolerance_f=1.0).predict_pmf(test)
    for row, f in zip(slack, floor, strict=True):
        assert row[f - 1.0 >= pmf.SUPPORT + 0.5].sum() == 0.0
        assert row[(f - 1.0 < pmf.SUPPORT + 0.5) & (f >= pmf.SUPPORT + 0.5)].sum() > 0.0


def test_deterministic_and_pickles(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    cases, _, _ = data
    train, test = cases.iloc[:300], cases.iloc[300:340]
    a = XGBoostModel().fit(train)
    b = XGBoostModel().fit(train)
    np.testing.assert_array_equal(a.predict_pmf(test), b.predict_pmf(test))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_pmf(test), c.predict_pmf(test))
    import json

    json.dumps(a.metadata())


def test_too_few_cases_is_a_clear_error(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    cases, _, _ = data
    with pytest.raises(ModelInputError, match="at least"):
        XGBoostModel().fit(cases.iloc[:5])
    with pytest.raises(ModelInputError, match="missing columns"):
        XGBoostModel().fit(cases.drop(columns=["fc_mean"]))

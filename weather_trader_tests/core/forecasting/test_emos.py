"""EMOS recovers known weights and spread, beats climatology and raw forecasts, survives gaps."""

from __future__ import annotations

import json
import pickle
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.base import FittedForecast, ForecastModel, ModelInputError
from weather_trader.core.forecasting.climatology import Climatology
from weather_trader.core.forecasting.emos import Emos
from weather_trader.core.forecasting.pmf import SUPPORT, crps, pmf_mean

YEAR = 365.25
SPLIT = date(2024, 3, 1)
CITIES = (("AAA", 60.0, 22.0), ("BBB", 70.0, 5.0), ("CCC", 62.0, 18.0))


def synthetic_cases(
    seed: int = 1,
    days: int = 600,
    missing_b: float = 0.3,
    informative_spread: bool = False,
    cities: tuple[tuple[str, float, float], ...] = CITIES,
) -> pd.DataFrame:
    """Cases whose truth is x + noise; source a = x + N(0, 1.5) - 2 (biased cold), b = x + N(0, 4).

    The noise sd is 2 F at lead day 0 and 3 F at lead day 1 (plus, with
    ``informative_spread``, a per-case sd shared by the truth and a member spread column).
    """
    rng = np.random.default_rng(seed)
    rows = []
    start = date(2023, 1, 1)
    for city, base, amp in cities:
        for i in range(days):
            day = start + timedelta(days=i)
            doy = day.timetuple().tm_yday
            x = base - amp * np.cos(2 * np.pi * (doy - 15) / YEAR) + rng.normal(0, 7)
            lead = float(rng.choice([16.0, 32.0]))
            noise = 2.0 if lead < 24 else 3.0
            member_sd = float(rng.uniform(0.5, 6.0)) if informative_spread else np.nan
            if informative_spread:
                noise = member_sd
            truth = np.round(x + rng.normal(0, noise))
            a = x + rng.normal(0, 1.5) - 2.0
            b = x + rng.normal(0, 4.0) if rng.random() >= missing_b else np.nan
            rows.append(
                {"city": city, "kind": "high", "climate_date": day, "doy": doy,
                 "lead_hours": lead, "fc:a/x": a, "age:a/x": 10.0, "sd:a/x": member_sd,
                 "fc:b/y": b, "age:b/y": 20.0, "sd:b/y": np.nan,
                 "fc_mean": np.nanmean([a, b]), "truth_f": truth}
            )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    return synthetic_cases()


@pytest.fixture(scope="module")
def fitted(cases: pd.DataFrame):
    return Emos().fit(cases[cases["climate_date"] < SPLIT])


def test_it_implements_the_model_protocols(fitted) -> None:
    assert isinstance(Emos(), ForecastModel) and Emos().name == "emos"
    assert isinstance(fitted, FittedForecast)


def test_recovers_weights_and_lead_dependent_spread(cases: pd.DataFrame, fitted) -> None:
    # Inverse-variance weights of the two error sds (1.5 and 4): 0.88 and 0.12. The default's
    # weak pull toward equal weights acts on the poorly determined contrast of two collinear
    # sources (it moves them a few points); without it the recovery is tighter.
    for model, tol in (
        (fitted, 0.1),
        (Emos(prior_cases_pooled=0.0).fit(cases[cases["climate_date"] < SPLIT]), 0.05),
    ):
        weights = model.metadata()["kinds"]["high"]["source_weights"]
        assert weights["a/x"] == pytest.approx(0.88, abs=tol)
        assert weights["b/y"] == pytest.approx(0.12, abs=tol)
    test = cases[cases["climate_date"] >= SPLIT]
    mu, sigma = fitted.normal_params(test)
    both = test["fc:b/y"].notna().to_numpy()
    lead0 = test["lead_hours"].to_numpy() < 24
    # Truth noise (2 or 3) plus the combined source error (~1.4): 2.45 and 3.3 F.
    assert np.mean(sigma[lead0 & both]) == pytest.approx(2.45, rel=0.12)
    assert np.mean(sigma[~lead0 & both]) == pytest.approx(3.3, rel=0.12)
    # The cold bias of source a is corrected.
    x_hat = test["fc:a/x"].to_numpy() + 2.0
    assert np.mean(mu - x_hat) == pytest.approx(0.0, abs=0.5)


def test_beats_climatology_and_the_raw_forecast_out_of_sample(cases: pd.DataFrame, fitted) -> None:
    train, test = cases[cases["climate_date"] < SPLIT], cases[cases["climate_date"] >= SPLIT]
    y = test["truth_f"].to_numpy()
    emos = np.mean(crps(fitted.predict_pmf(test), y))
    clim = np.mean(crps(Climatology().fit(train).predict_pmf(test), y))
    raw = np.mean(np.abs(np.round(test["fc:a/x"].to_numpy()) - y))  # CRPS of a point forecast
    assert emos < 0.5 * clim
    assert emos < 0.75 * raw


def test_missing_sources_are_filled_not_dropped(cases: pd.DataFrame, fitted) -> None:
    test = cases[cases["climate_date"] >= SPLIT].copy()
    y = test["truth_f"].to_numpy()
    without_b = test.assign(**{"fc:b/y": np.nan})
    pmf = fitted.predict_pmf(without_b)
    assert np.isfinite(pmf).all()
    # Losing the weak source costs little; losing the strong one costs more but still works.
    full = np.mean(crps(fitted.predict_pmf(test), y))
    assert np.mean(crps(pmf, y)) < full * 1.1
    has_b = test["fc:b/y"].notna().to_numpy()
    only_b = fitted.predict_pmf(test.assign(**{"fc:a/x": np.nan}))
    assert np.isfinite(only_b[has_b]).all() and np.isnan(only_b[~has_b]).all()
    clim = Climatology().fit(cases).predict_pmf(test)
    assert np.mean(crps(only_b[has_b], y[has_b])) < np.mean(crps(clim[has_b], y[has_b]))
    # Nothing from a trained source: no inputs. A source never seen in training is ignored.
    none = test.assign(**{"fc:a/x": np.nan, "fc:b/y": np.nan, "fc:new/z": 50.0})
    assert np.isnan(fitted.predict_pmf(none)).all()
    extra = test.assign(**{"fc:new/z": 500.0})
    np.testing.assert_allclose(fitted.predict_pmf(extra), fitted.predict_pmf(test))
    # A case table without a trained source's columns at all works the same as all-NaN.
    np.testing.assert_allclose(
        fitted.predict_pmf(test.drop(columns=["fc:b/y", "sd:b/y", "age:b/y"])), pmf
    )


def test_training_with_a_source_often_missing_matches_training_without_gaps() -> None:
    gappy, full = synthetic_cases(seed=3, missing_b=0.6), synthetic_cases(seed=3, missing_b=0.0)
    test = synthetic_cases(seed=4, missing_b=0.0)
    y = test["truth_f"].to_numpy()
    a = np.mean(crps(Emos().fit(gappy).predict_pmf(test), y))
    b = np.mean(crps(Emos().fit(full).predict_pmf(test), y))
    assert a == pytest.approx(b, rel=0.05)


def test_an_informative_spread_is_used() -> None:
    train, test = (
        synthetic_cases(seed=5, informative_spread=True),
        synthetic_cases(seed=6, informative_spread=True),
    )
    fitted = Emos().fit(train)
    assert fitted.metadata()["kinds"]["high"]["spread_coefficient"] > 0.5
    _, sigma = fitted.normal_params(test)
    assert np.corrcoef(sigma, test["sd:a/x"])[0, 1] > 0.8


def test_a_city_with_little_history_leans_on_the_pool() -> None:
    big = synthetic_cases(seed=7, cities=CITIES[:2])
    small = synthetic_cases(seed=8, days=15, cities=(("NEW", 50.0, 20.0),))
    fitted = Emos().fit(pd.concat([big, small], ignore_index=True))
    meta = fitted.metadata()["kinds"]["high"]["mean_coefficients"]
    assert abs(meta["city:NEW:level"]) < 0.5
    unseen = synthetic_cases(seed=9, days=60, cities=(("ZZZ", 40.0, 10.0),))
    pmf = fitted.predict_pmf(unseen)  # an unseen city gets the pooled fit
    assert np.isfinite(pmf).all()
    y = unseen["truth_f"].to_numpy()
    assert np.mean(crps(pmf, y)) < 2.5


def test_observed_extreme_bounds_the_high(fitted, cases: pd.DataFrame) -> None:
    row = cases.iloc[[0]].assign(obs_extreme=float(cases.iloc[0]["fc:a/x"]) + 8.0)
    pmf = fitted.predict_pmf(row)
    floor = row["obs_extreme"].iloc[0]
    assert pmf[0, floor >= SUPPORT + 0.5].sum() == 0.0
    assert pmf.sum() == pytest.approx(1.0) and pmf_mean(pmf)[0] > floor - 0.5


def test_kinds_are_fitted_apart_and_a_kind_without_data_has_no_inputs(cases: pd.DataFrame) -> None:
    lows = cases.assign(kind="low", truth_f=cases["truth_f"] - 15)
    fitted = Emos().fit(pd.concat([cases, lows], ignore_index=True))
    mu_high, _ = fitted.normal_params(cases.head(50))
    mu_low, _ = fitted.normal_params(lows.head(50))
    assert np.mean(mu_high - mu_low) == pytest.approx(15.0, abs=0.7)
    only_high = Emos().fit(cases)
    assert np.isnan(only_high.predict_pmf(lows.head(3))).all()


def test_pickles_and_reports_jsonable_metadata(cases: pd.DataFrame, fitted) -> None:
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        again.predict_pmf(cases.head(30)), fitted.predict_pmf(cases.head(30))
    )
    meta = json.loads(json.dumps(fitted.metadata()))
    assert meta["name"] == "emos" and meta["n_train"] == int((cases["climate_date"] < SPLIT).sum())
    assert meta["crps_in_sample"] < meta["crps_fc_mean_in_sample"]
    assert set(meta["kinds"]["high"]["sources"]) == {"a/x", "b/y"}
    assert meta["kinds"]["high"]["converged"] is True


def test_too_few_cases_is_a_clear_error(cases: pd.DataFrame) -> None:
    with pytest.raises(ModelInputError, match="labelled cases"):
        Emos().fit(cases.head(10))
    with pytest.raises(ModelInputError, match="missing columns"):
        Emos().fit(cases.drop(columns="lead_hours"))

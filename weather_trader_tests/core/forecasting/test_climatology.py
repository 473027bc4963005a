"""Climatology recovers a known seasonal normal and spread; short histories borrow the shape."""

from __future__ import annotations

import json
import pickle
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.base import FittedForecast, ForecastModel, ModelInputError
from weather_trader.core.forecasting.climatology import Climatology
from weather_trader.core.forecasting.pmf import SUPPORT, crps, pmf_mean

YEAR = 365.25


def true_mean(base: float, amp: float, doy: np.ndarray) -> np.ndarray:
    return base - amp * np.cos(2 * np.pi * (doy - 15) / YEAR)


def true_sd(sd: float, doy: np.ndarray) -> np.ndarray:
    return sd * (1 + 0.3 * np.cos(2 * np.pi * doy / YEAR))


def history(city: str, base: float, amp: float, sd: float, days: int, start: date,
            seed: int, kind: str = "high") -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    dates = [start + timedelta(days=i) for i in range(days)]
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    truth = np.round(rng.normal(true_mean(base, amp, doy), true_sd(sd, doy)))
    return pd.DataFrame(
        {"city": city, "kind": kind, "climate_date": dates, "doy": doy.astype(int),
         "truth_f": truth}
    )  # fmt: skip


@pytest.fixture(scope="module")
def archive() -> pd.DataFrame:
    return pd.concat(
        [
            history("AAA", 60, 22, 6, 1100, date(2022, 1, 1), 1),
            history("BBB", 70, 5, 3, 1100, date(2022, 1, 1), 2),
            history("CCC", 55, 20, 5, 25, date(2024, 7, 1), 3),  # a few summer weeks only
        ],
        ignore_index=True,
    )


def test_it_implements_the_model_protocols(archive: pd.DataFrame) -> None:
    model = Climatology()
    assert isinstance(model, ForecastModel) and model.name == "climatology"
    assert isinstance(model.fit(archive), FittedForecast)


@pytest.mark.parametrize(
    ("prior_days", "mean_tol", "sd_rtol"), [(0.0, 1.0, 0.12), (60.0, 1.5, 0.2)]
)
def test_recovers_the_seasonal_mean_and_spread(
    archive: pd.DataFrame, prior_days: float, mean_tol: float, sd_rtol: float
) -> None:
    # Without shrinkage each city is fitted alone; the default pulls 5% of the way toward the
    # pooled seasonal shape (amplitude ~14 here), a bias of ~0.5 F for the 5-F-amplitude city.
    fitted = Climatology(prior_days=prior_days).fit(archive)
    doy = np.arange(1, 366, 7)
    for city, base, amp, sd in (("AAA", 60, 22, 6), ("BBB", 70, 5, 3)):
        query = pd.DataFrame({"city": city, "kind": "high", "doy": doy})
        mu, sigma = fitted.normal_params(query)
        np.testing.assert_allclose(mu, true_mean(base, amp, doy), atol=mean_tol)
        np.testing.assert_allclose(sigma, true_sd(sd, doy), rtol=sd_rtol)


def test_short_history_keeps_its_level_and_borrows_the_pooled_shape(
    archive: pd.DataFrame,
) -> None:
    fitted = Climatology().fit(archive)
    mu, sigma = fitted.normal_params(
        pd.DataFrame({"city": "CCC", "kind": "high", "doy": [196, 15]})
    )
    # July is seen: the level is its own; January is not: the pooled shape sets the season.
    assert mu[0] == pytest.approx(true_mean(55, 20, np.array([196]))[0], abs=3)
    assert mu[0] - mu[1] > 20
    assert np.isfinite(sigma).all() and (sigma > 2).all()


def test_no_history_means_no_inputs_and_more_days_help(archive: pd.DataFrame) -> None:
    fitted = Climatology().fit(archive)
    query = pd.DataFrame({"city": ["AAA", "ZZZ", "AAA"], "kind": ["high", "high", "low"],
                          "doy": [100, 100, 100]})  # fmt: skip
    pmf = fitted.predict_pmf(query)
    assert np.isfinite(pmf[0]).all() and np.isnan(pmf[1:]).all()
    assert pmf[0].sum() == pytest.approx(1.0)
    held_out = history("AAA", 60, 22, 6, 365, date(2025, 1, 1), 9)
    short = Climatology().fit(archive[archive["city"] == "AAA"].head(60))
    y = held_out["truth_f"].to_numpy()
    assert np.mean(crps(fitted.predict_pmf(held_out), y)) < np.mean(
        crps(short.predict_pmf(held_out), y)
    )


def test_each_climate_day_counts_once_however_many_instants(archive: pd.DataFrame) -> None:
    once = Climatology().fit(archive)
    twice = Climatology().fit(pd.concat([archive, archive.iloc[:500]], ignore_index=True))
    assert once.metadata()["coefficients"] == twice.metadata()["coefficients"]


def test_observed_extreme_bounds_the_prediction(archive: pd.DataFrame) -> None:
    lows = history("AAA", 45, 20, 5, 400, date(2022, 1, 1), 4, kind="low")
    fitted = Climatology().fit(pd.concat([archive, lows], ignore_index=True))
    query = pd.DataFrame({"city": "AAA", "kind": ["high", "low"], "doy": [196, 196],
                          "obs_extreme": [85.2, 70.0]})  # fmt: skip
    pmf = fitted.predict_pmf(query)
    assert pmf[0, SUPPORT < 85].sum() == 0.0 and pmf_mean(pmf)[0] > 85
    assert pmf[1, SUPPORT > 70].sum() == 0.0


def test_pickles_and_reports_jsonable_metadata(archive: pd.DataFrame) -> None:
    fitted = Climatology().fit(archive)
    again = pickle.loads(pickle.dumps(fitted))
    query = archive.head(20)
    np.testing.assert_array_equal(fitted.predict_pmf(query), again.predict_pmf(query))
    meta = json.loads(json.dumps(fitted.metadata()))
    assert meta["n_train"] == len(archive)
    assert set(meta["coefficients"]) == {"AAA/high", "BBB/high", "CCC/high"}
    assert 1.0 < meta["crps_in_sample"] < 5.0


def test_refuses_a_table_without_labels() -> None:
    with pytest.raises(ModelInputError, match="labelled"):
        Climatology().fit(history("AAA", 60, 22, 6, 5, date(2022, 1, 1), 1).assign(truth_f=np.nan))

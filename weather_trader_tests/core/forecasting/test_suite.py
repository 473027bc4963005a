"""ModelSuite: fit on what was known, predict pmfs and every predictor's bracket probabilities."""

from __future__ import annotations

import json
import pickle
from datetime import date

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.brackets import Bracket
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.baseline import RawBestBaseline
from weather_trader.core.forecasting.cases import build_cases
from weather_trader.core.forecasting.market_prices import add_market_probabilities
from weather_trader.core.forecasting.pmf import SUPPORT, bracket_probs, pmf_from_normal
from weather_trader.core.forecasting.suite import (
    ModelSuite,
    bracket_bounds,
    bracket_outcomes,
    match_cases,
    pmf_bracket_probs,
)
from weather_trader.core.forecasting.walkforward import DecisionInstant, event_brackets
from weather_trader_tests.core.forecasting.synthetic_archive import (
    make_archive,
    stand_in_components,
)


def test_bracket_bounds_follow_kalshi_semantics() -> None:
    markets = pd.DataFrame(
        {
            "strike_type": ["less", "between", "greater"],
            "floor_strike": [None, 73, 74],
            "cap_strike": [73, 74, None],
        }
    )
    lo, hi = bracket_bounds(markets)
    assert lo.tolist() == [SUPPORT[0], 73, 75]
    assert hi.tolist() == [72, 74, SUPPORT[-1]]
    pmf = pmf_from_normal(np.array([73.3, 60.0]), np.array([2.0, 5.0]))
    brackets = [Bracket.less(73), Bracket.between(73, 74), Bracket.greater(74)]
    want = bracket_probs(pmf, brackets)
    rows = np.repeat([0, 1], 3)
    got = pmf_bracket_probs(pmf, rows, np.tile(lo, 2), np.tile(hi, 2)).reshape(2, 3)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert bracket_outcomes(np.array([72.0, 73.0, 75.0, np.nan]), np.array([0, 73, 75, 0]),
                            np.array([72, 74, 99, 99])).tolist()[:3] == [1.0, 1.0, 1.0]  # fmt: skip
    with pytest.raises(ModelInputError, match="bracket"):
        bracket_bounds(pd.DataFrame({"strike_type": ["between"], "floor_strike": [1],
                                     "cap_strike": [None]}))  # fmt: skip


@pytest.fixture(scope="module")
def setup() -> tuple[pd.DataFrame, pd.DataFrame]:
    archive = make_archive(days=80)
    instant = DecisionInstant.parse("D 08:00")
    targets = archive.markets.loc[:, ["city", "kind", "climate_date"]].drop_duplicates()
    targets["decided_at"] = instant.utc(targets["city"], targets["climate_date"]).to_numpy()
    cases = build_cases(targets.reset_index(drop=True), archive.forecasts, archive.reports)
    brackets = add_market_probabilities(event_brackets(archive.markets, instant), archive.trades)
    return cases, brackets


def test_fit_without_history_and_predict(setup: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, brackets = setup
    fit_at = pd.Timestamp("2024-03-11", tz="UTC")
    fitted = ModelSuite(components=stand_in_components).fit(cases, brackets, fit_at)
    assert fitted.info["n_train"] == int(
        ((cases["truth_known_at"] <= fit_at) & (cases["decided_at"] <= fit_at)).sum()
    )
    assert fitted.pool.n_events > 20  # events before the fit, with out-of-sample weather
    later = cases[cases["climate_date"] > date(2024, 3, 11)]
    week = brackets[brackets["climate_date"] > date(2024, 3, 11)]
    prediction = fitted.predict(later, week)
    assert set(prediction.pmfs) == {"mean_model", "median_model", "raw_best", "weather", "ours"}
    for name in ("weather", "ours", "mean_model", "raw_best", "market"):
        sums = prediction.brackets.groupby("event_ticker")[name].sum()
        np.testing.assert_allclose(sums, 1.0, atol=1e-9, err_msg=name)
    # ours as a pmf carries exactly the pooled bracket masses.
    br = prediction.brackets
    again = pmf_bracket_probs(prediction.pmfs["ours"], br["case_row"].to_numpy(),
                              br["lo"].to_numpy(), br["hi"].to_numpy())  # fmt: skip
    np.testing.assert_allclose(again, br["ours"], atol=1e-9)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.predict(later).pmfs["weather"], prediction.pmfs["weather"]
    )
    json.dumps(fitted.metadata())


def test_fit_ignores_what_was_not_known(setup: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, brackets = setup
    fit_at = pd.Timestamp("2024-03-04", tz="UTC")
    suite = ModelSuite(components=stand_in_components)
    base = suite.fit(cases, brackets, fit_at)
    unknown = cases["truth_known_at"] > fit_at
    scrambled = cases.copy()
    scrambled.loc[unknown, "truth_f"] = 200.0
    other = suite.fit(scrambled, brackets[brackets["decided_at"] <= fit_at], fit_at)
    assert base.metadata() == other.metadata()


def test_match_cases_refuses_duplicates(setup: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, brackets = setup
    rows = match_cases(cases, brackets.head(12))
    assert (rows >= 0).all()
    with pytest.raises(ModelInputError, match="twice"):
        match_cases(pd.concat([cases, cases.head(1)]), brackets.head(1))


def test_raw_best_ranks_by_past_crps(setup: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, _ = setup
    known = cases[cases["truth_known_at"] <= pd.Timestamp("2024-03-01", tz="UTC")]
    fitted = RawBestBaseline().fit(known)
    # At D 08:00 both sources are known; nbm (noise 2) beats vc (noise 3, bias -1.5).
    assert [r["source"] for r in fitted.metadata()["ranking"]] == ["nbm/det", "vc/det"]
    no_nbm = cases.drop(columns=["fc:nbm/det"]).head(3)
    assert fitted.chosen(no_nbm) == ["vc/det"] * 3
    assert np.isfinite(fitted.predict_pmf(no_nbm)).all()
    with pytest.raises(ModelInputError):
        RawBestBaseline().fit(known.head(5))

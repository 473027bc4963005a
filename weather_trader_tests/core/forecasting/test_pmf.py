"""Integer pmfs: normalisation, bracket semantics, CRPS against brute force, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from weather_trader.core.brackets import Bracket, standard_event_brackets
from weather_trader.core.forecasting.pmf import (
    N_SUPPORT,
    SUPPORT,
    PmfError,
    apply_bounds,
    bracket_probs,
    crps,
    crps_normal,
    log_score,
    nan_pmf,
    pmf_from_normal,
    pmf_from_quantiles,
    pmf_mean,
    pmf_quantile,
    pmf_std,
    valid_rows,
)


def point_mass(k: int) -> np.ndarray:
    row = np.zeros(N_SUPPORT)
    row[k - SUPPORT[0]] = 1.0
    return row


def test_normal_pmf_sums_to_one_and_matches_the_cdf_differences() -> None:
    pmf = pmf_from_normal(np.array([70.3, -10.0, 120.0]), np.array([3.0, 8.0, 0.7]))
    assert pmf.shape == (3, N_SUPPORT)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-12)
    expected = norm.cdf(72.5, 70.3, 3.0) - norm.cdf(71.5, 70.3, 3.0)
    assert pmf[0, 72 - SUPPORT[0]] == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(pmf_mean(pmf)[:2], [70.3, -10.0], atol=1e-6)
    assert pmf_std(pmf)[0] == pytest.approx(np.sqrt(9 + 1 / 12), rel=1e-3)  # + rounding


def test_nan_inputs_give_nan_rows_that_propagate() -> None:
    pmf = pmf_from_normal(np.array([70.0, np.nan, 50.0]), np.array([3.0, 3.0, np.nan]))
    assert valid_rows(pmf).tolist() == [True, False, False]
    assert np.isnan(crps(pmf, [70, 70, 70])[1:]).all()
    assert np.isnan(bracket_probs(pmf, standard_event_brackets(70))[1:]).all()
    assert valid_rows(nan_pmf(2)).tolist() == [False, False]


def test_exactly_one_bracket_settles_for_every_value_and_masses_match_semantics() -> None:
    event = standard_event_brackets(70)  # <=65, 66-67, 68-69, 70-71, 72-73, >=74
    for k in range(40, 100):
        probs = bracket_probs(point_mass(k), event)
        assert probs.sum() == pytest.approx(1.0)
        assert [p == 1.0 for p in probs] == [b.settles_yes(k) for b in event]
    # between is inclusive at both ends; less is T < cap; greater is T > floor.
    assert bracket_probs(point_mass(66), [Bracket.between(66, 67)])[0] == 1.0
    assert bracket_probs(point_mass(67), [Bracket.between(66, 67)])[0] == 1.0
    assert bracket_probs(point_mass(66), [Bracket.less(66)])[0] == 0.0
    assert bracket_probs(point_mass(65), [Bracket.less(66)])[0] == 1.0
    assert bracket_probs(point_mass(73), [Bracket.greater(73)])[0] == 0.0
    assert bracket_probs(point_mass(74), [Bracket.greater(73)])[0] == 1.0


def test_bracket_probs_of_a_spread_pmf_sum_to_one_without_renormalising() -> None:
    pmf = pmf_from_normal(np.array([71.4, 60.0]), np.array([2.5, 9.0]))
    event = standard_event_brackets(72, width=2, inner=4)
    probs = bracket_probs(pmf, event)
    assert probs.shape == (2, 6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    # A between bracket is the continuous mass on [F - .5, C + .5).
    expected = norm.cdf(73.5, 71.4, 2.5) - norm.cdf(71.5, 71.4, 2.5)
    assert probs[0, 3] == pytest.approx(expected / pmf[0].sum(), rel=1e-9)
    single = bracket_probs(pmf[0], event)
    np.testing.assert_allclose(single, probs[0])


def brute_force_crps(pmf_row: np.ndarray, y: float, step: float = 0.001) -> float:
    """Integral over x of (F(x) - 1[x >= y])^2 for the step CDF of an integer pmf."""
    xs = np.arange(SUPPORT[0] - 1, SUPPORT[-1] + 1, step) + step / 2
    cdf = np.concatenate([[0.0], np.cumsum(pmf_row)])
    f = cdf[np.searchsorted(SUPPORT, xs, side="right")]
    return float(np.sum((f - (xs >= y)) ** 2) * step)


@pytest.mark.parametrize(("mu", "sigma", "y"), [(70.2, 3.0, 72), (50.0, 0.3, 50), (10.0, 6.0, -3)])
def test_crps_matches_a_brute_force_integral(mu: float, sigma: float, y: int) -> None:
    pmf = pmf_from_normal(mu, sigma)
    assert crps(pmf, y)[0] == pytest.approx(brute_force_crps(pmf[0], y), abs=2e-3)


def test_crps_of_a_point_mass_is_the_absolute_error_and_zero_when_right() -> None:
    assert crps(point_mass(70), 70)[0] == 0.0
    assert crps(point_mass(70), 73)[0] == pytest.approx(3.0)


def test_closed_form_normal_crps_matches_numerical_integration() -> None:
    mu, sigma, y = 1.3, 2.0, -0.4
    xs = np.linspace(-30, 30, 600_001)
    integrand = (norm.cdf(xs, mu, sigma) - (xs >= y)) ** 2
    numeric = float(np.sum(integrand) * (xs[1] - xs[0]))
    assert crps_normal(np.array(mu), np.array(sigma), np.array(y)) == pytest.approx(
        numeric, abs=1e-4
    )


def test_log_score_is_the_negative_log_probability_with_a_floor() -> None:
    pmf = pmf_from_normal(70.0, 2.0)
    assert log_score(pmf, 71)[0] == pytest.approx(-np.log(pmf[0, 71 - SUPPORT[0]]))
    assert log_score(point_mass(70), 90)[0] == pytest.approx(-np.log(1e-12))
    assert np.isnan(log_score(pmf, np.nan)[0])


def test_truth_outside_the_support_and_bad_shapes_are_refused() -> None:
    with pytest.raises(PmfError, match="outside the support"):
        crps(pmf_from_normal(70.0, 2.0), 400)
    with pytest.raises(PmfError, match="shape"):
        crps(np.ones((2, 10)), 1)


def test_quantile_pmf_reproduces_a_normal_and_survives_crossing_and_ties() -> None:
    levels = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    values = 60 + 5 * norm.ppf(levels)
    pmf = pmf_from_quantiles(levels, values[None, :])
    np.testing.assert_allclose(pmf.sum(), 1.0)
    assert pmf_mean(pmf)[0] == pytest.approx(60.0, abs=0.05)
    assert pmf_std(pmf)[0] == pytest.approx(5.0, rel=0.05)
    assert pmf_quantile(pmf, 0.5)[0] == 60
    crossed = pmf_from_quantiles([0.1, 0.5, 0.9], np.array([[74.0, 66.0, 70.0], [70, 70, 70]]))
    np.testing.assert_allclose(crossed.sum(axis=1), 1.0)
    assert (crossed >= 0).all()
    assert pmf_mean(crossed)[0] == pytest.approx(70.0, abs=0.1)
    assert crossed[1, 70 - SUPPORT[0]] > 0.99  # all quantiles equal: a point mass
    assert not valid_rows(pmf_from_quantiles([0.1, 0.9], np.array([[1.0, np.nan]])))[0]
    with pytest.raises(PmfError, match="levels"):
        pmf_from_quantiles([0.5, 0.1], np.array([[1.0, 2.0]]))


def test_bounds_truncate_renormalise_and_fall_back_to_the_nearest_possible_value() -> None:
    pmf = pmf_from_normal(np.array([70.0, 70.0, 70.0, 70.0]), np.array([3.0] * 4))
    bounded = apply_bounds(pmf, floor=np.array([72.3, np.nan, 95.0, np.nan]),
                           cap=np.array([np.nan, 68.0, np.nan, np.nan]))  # fmt: skip
    np.testing.assert_allclose(bounded.sum(axis=1), 1.0)
    # X >= 72.3 means T >= 72; X <= 68 means T <= 68.
    assert bounded[0, : 72 - SUPPORT[0]].sum() == 0.0 and bounded[0, 72 - SUPPORT[0]] > 0
    assert bounded[1, 69 - SUPPORT[0] :].sum() == 0.0 and bounded[1, 68 - SUPPORT[0]] > 0
    ratio = bounded[0, 74 - SUPPORT[0]] / bounded[0, 73 - SUPPORT[0]]
    assert ratio == pytest.approx(pmf[0, 74 - SUPPORT[0]] / pmf[0, 73 - SUPPORT[0]])
    # A floor far above the forecast leaves no mass: the point mass sits on the floor.
    assert bounded[2, 95 - SUPPORT[0]] == 1.0
    np.testing.assert_array_equal(bounded[3], pmf[3])
    assert np.isnan(apply_bounds(nan_pmf(1), floor=70.0)).all()
    with pytest.raises(PmfError, match="floor above its cap"):
        apply_bounds(pmf[:1], floor=80.0, cap=60.0)


@settings(max_examples=60, deadline=None)
@given(
    mu=st.floats(-60, 130),
    sigma=st.floats(0.01, 25),
    center=st.integers(-50, 120),
    width=st.integers(1, 4),
    inner=st.integers(0, 8),
)
def test_any_event_of_any_normal_sums_to_one(
    mu: float, sigma: float, center: int, width: int, inner: int
) -> None:
    probs = bracket_probs(
        pmf_from_normal(mu, sigma)[0], standard_event_brackets(center, width, inner)
    )
    assert (probs >= 0).all()
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)

from __future__ import annotations

import math

import numpy as np
import pytest

from weather_trader.core.brackets import Bracket, event_probabilities
from weather_trader.core.distribution import (
    DistributionError,
    NormalTemperature,
    ObservedBounds,
    ObservedBoundTemperature,
    TemperatureDistribution,
    observed_bounds,
)


def test_cdf_scalar_and_array() -> None:
    d = NormalTemperature(70.0, 2.0)
    assert d.cdf(70.0) == pytest.approx(0.5)
    assert isinstance(d.cdf(70.0), float)
    assert d.cdf(72.0) == pytest.approx(0.8413447460685429)
    arr = d.cdf(np.array([-math.inf, 70.0, math.inf]))
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr, [0.0, 0.5, 1.0])


def test_infinite_bounds_are_exact() -> None:
    d = NormalTemperature(-10.0, 7.5)
    assert d.cdf(math.inf) == 1.0
    assert d.cdf(-math.inf) == 0.0


def test_mean_std_quantile() -> None:
    d = NormalTemperature(55.5, 3.0)
    assert d.mean == 55.5
    assert d.std == 3.0
    assert d.quantile(0.5) == pytest.approx(55.5)
    assert d.quantile(0.975) == pytest.approx(55.5 + 1.959963984540054 * 3.0)
    assert d.quantile(0.0) == -math.inf
    assert d.quantile(1.0) == math.inf
    for q in (0.1, 0.3, 0.9):
        assert d.cdf(d.quantile(q)) == pytest.approx(q)


@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan])
def test_quantile_rejects_bad_levels(q: float) -> None:
    with pytest.raises(DistributionError):
        NormalTemperature(0.0, 1.0).quantile(q)


@pytest.mark.parametrize(
    ("mu", "sigma"),
    [(0.0, 0.0), (0.0, -1.0), (0.0, math.nan), (0.0, math.inf), (math.nan, 1.0), (math.inf, 1.0)],
)
def test_invalid_parameters(mu: float, sigma: float) -> None:
    with pytest.raises(DistributionError):
        NormalTemperature(mu, sigma)


def test_distribution_error_is_value_error() -> None:
    assert issubclass(DistributionError, ValueError)


def test_numpy_scalars_normalised_and_frozen() -> None:
    d = NormalTemperature(np.float64(1.5), np.float32(2.0))
    assert type(d.mu) is float and type(d.sigma) is float
    assert d == NormalTemperature(1.5, 2.0)
    with pytest.raises(AttributeError):
        d.mu = 3.0  # type: ignore[misc]


def test_protocol_and_sample() -> None:
    d = NormalTemperature(60.0, 4.0)
    assert isinstance(d, TemperatureDistribution)
    draws = d.sample(np.random.default_rng(1), size=20_000)
    assert draws.mean() == pytest.approx(60.0, abs=0.1)
    assert draws.std() == pytest.approx(4.0, abs=0.1)
    again = d.sample(np.random.default_rng(1), size=20_000)
    np.testing.assert_array_equal(draws, again)


def test_cdf_agrees_with_scipy_norm() -> None:
    from scipy.stats import norm

    d = NormalTemperature(48.2, 3.3)
    xs = np.linspace(20, 80, 121)
    np.testing.assert_allclose(d.cdf(xs), norm.cdf(xs, loc=48.2, scale=3.3), rtol=1e-12)


def test_observed_floor_rules_out_brackets_below_the_running_max() -> None:
    brackets = [Bracket.less(82), Bracket.between(82, 83), Bracket.between(84, 85),
                Bracket.between(86, 87), Bracket.greater(87)]  # fmt: skip
    base = NormalTemperature(84.0, 2.5)
    bounded = ObservedBoundTemperature(base, floor=86.0)
    probs = event_probabilities(brackets, bounded)
    assert probs[:3] == [0.0, 0.0, 0.0]  # an observed 86 F rules out 85 F and below
    assert math.isclose(sum(probs), 1.0, abs_tol=1e-12)
    assert probs[3] > event_probabilities(brackets, base)[3]
    low = ObservedBoundTemperature(NormalTemperature(40.0, 3.0), cap=38.0)
    assert low.cdf(37.9) == pytest.approx(base_cdf := NormalTemperature(40.0, 3.0).cdf(37.9))
    assert base_cdf < 1.0 and low.cdf(38.0) == 1.0
    with pytest.raises(DistributionError):
        ObservedBoundTemperature(base, floor=50.0, cap=40.0)


def test_observed_bounds_by_kind() -> None:
    observed = [71.0, 78.5, 74.0, 69.5]
    assert observed_bounds("high", observed) == ObservedBounds(floor=78.5, cap=None)
    assert observed_bounds("low", observed) == ObservedBounds(floor=None, cap=69.5)
    assert observed_bounds("high", [70.0]) == ObservedBounds(floor=70.0)
    assert observed_bounds("low", [70.0]) == ObservedBounds(cap=70.0)
    for kind in ("high", "low"):
        assert observed_bounds(kind, []) == ObservedBounds(floor=None, cap=None)

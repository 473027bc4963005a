"""Predictive distributions of a city's daily high or low temperature (degrees F).

A distribution describes the *continuous* true temperature X; the integer settlement value T is
X rounded to the nearest degree, which :mod:`weather_trader.core.brackets` handles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, overload, runtime_checkable

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from weather_trader.core.cities import Kind


class DistributionError(ValueError):
    """Raised for invalid distribution parameters or arguments."""


@runtime_checkable
class TemperatureDistribution(Protocol):
    """Anything with a CDF over degrees F can price brackets (normal, quantile model, mixture)."""

    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """P(X <= x); must accept ``±inf`` and return 0 / 1 there."""
        ...


@dataclass(frozen=True)
class NormalTemperature:
    """A normal distribution N(mu, sigma^2) of the continuous temperature in degrees F.

    Attributes:
        mu: Mean in degrees F.
        sigma: Standard deviation in degrees F, strictly positive.
    """

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.mu):
            raise DistributionError(f"mu must be finite, got {self.mu!r}")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise DistributionError(f"sigma must be finite and > 0, got {self.sigma!r}")
        # Normalise numpy scalars to plain floats so the dataclass compares and serialises cleanly.
        object.__setattr__(self, "mu", float(self.mu))
        object.__setattr__(self, "sigma", float(self.sigma))

    @property
    def mean(self) -> float:
        """The mean temperature (degrees F)."""
        return self.mu

    @property
    def std(self) -> float:
        """The standard deviation (degrees F)."""
        return self.sigma

    @overload
    def cdf(self, x: float) -> float: ...
    @overload
    def cdf(self, x: np.ndarray) -> np.ndarray: ...
    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """P(X <= x) for a scalar or an array of temperatures.

        Args:
            x: Temperature(s) in degrees F; ``±inf`` allowed.

        Returns:
            A float for scalar input, else an array of the same shape.
        """
        # ndtr is what norm.cdf evaluates, minus ~50 us of argument checking per call, which
        # matters when the simulator and backtests price thousands of brackets.
        out = ndtr((np.asarray(x, dtype=float) - self.mu) / self.sigma)
        return float(out) if np.ndim(out) == 0 else out

    def quantile(self, q: float) -> float:
        """The temperature below which a fraction ``q`` of the mass lies.

        Args:
            q: Probability in [0, 1]; 0 and 1 give ``-inf`` and ``inf``.

        Raises:
            DistributionError: If ``q`` is outside [0, 1].
        """
        if not 0.0 <= q <= 1.0:
            raise DistributionError(f"quantile level must be in [0, 1], got {q!r}")
        return float(norm.ppf(q, loc=self.mu, scale=self.sigma))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """Draw temperature(s) with the caller's generator (keeps simulations reproducible)."""
        return rng.normal(self.mu, self.sigma, size=size)


@dataclass(frozen=True)
class ObservedBounds:
    """What the climate day observed so far rules out.

    Attributes:
        floor: Running maximum so far: the day's high cannot end below it.
        cap: Running minimum so far: the day's low cannot end above it.
    """

    floor: float | None = None
    cap: float | None = None


def observed_bounds(kind: Kind, observed_f: Sequence[float]) -> ObservedBounds:
    """The bound the observations so far put on the day's ``kind`` (none before any)."""
    if not observed_f:
        return ObservedBounds()
    return (
        ObservedBounds(floor=max(observed_f))
        if kind == "high"
        else ObservedBounds(cap=min(observed_f))
    )


@dataclass(frozen=True)
class ObservedBoundTemperature:
    """A day's high or low once part of the climate day has been observed.

    The day's high can no longer end below the running maximum (``floor``), nor its low above
    the running minimum (``cap``): the result is ``max(X, floor)`` or ``min(X, cap)`` with ``X``
    the forecast distribution, so brackets the observations ruled out get probability 0.

    Attributes:
        base: The forecast distribution of the temperature.
        floor: Running maximum so far (for a daily high), or None.
        cap: Running minimum so far (for a daily low), or None.
    """

    base: TemperatureDistribution
    floor: float | None = None
    cap: float | None = None

    def __post_init__(self) -> None:
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise DistributionError(f"floor {self.floor} above cap {self.cap}")

    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """P(T <= x) of the bounded temperature ``T``."""
        xs = np.asarray(x, dtype=float)
        out = np.asarray(self.base.cdf(xs), dtype=float)
        if self.floor is not None:
            out = np.where(xs < self.floor, 0.0, out)
        if self.cap is not None:
            out = np.where(xs >= self.cap, 1.0, out)
        return float(out) if np.ndim(out) == 0 else out

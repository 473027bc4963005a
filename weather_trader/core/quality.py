"""Data-quality rules: when inputs are too old to trade on, and when values are implausible.

The asset checks and the trading rule apply these; a backtest applies the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from weather_trader.core.records import ClimateReport

MAX_BOOK_AGE = timedelta(minutes=15)
"""A book older than this at decision time is not traded on."""
REPORT_OBSERVATION_TOLERANCE_F = 3.0
"""How far a final report's max/min may lie from the observed running max/min."""
SANE_MU_F = (-40.0, 125.0)
"""Plausible means of a daily high/low in the registry's cities; outside, the model is wrong."""
SANE_SIGMA_F = (0.3, 15.0)
"""Plausible spreads of a daily high/low distribution."""
SUM_TOLERANCE = 1e-9
"""How far an event's bracket probabilities may sum from 1 (floating-point error only)."""


def forecasts_stale(issued_at: Iterable[datetime], as_of: datetime, max_age: timedelta) -> bool:
    """Whether no forecast was issued by ``as_of`` within ``max_age`` (none at all counts)."""
    newest = max(issued_at, default=None)
    return newest is None or as_of - newest > max_age


def distributions_stale(
    as_of: Iterable[datetime | None], now: datetime, max_age: timedelta
) -> bool:
    """Whether any of a city-day's distributions is missing (None) or older than ``max_age``."""
    return any(t is None or now - t > max_age for t in as_of)


def books_stale(
    captured_at: Iterable[datetime], as_of: datetime, max_age: timedelta = MAX_BOOK_AGE
) -> bool:
    """Whether any order book was captured more than ``max_age`` before ``as_of``."""
    return any(as_of - t > max_age for t in captured_at)


def report_disagrees(report: ClimateReport, observed_f: Sequence[float]) -> bool:
    """Whether a report's max/min is off the observations' by more than the tolerance.

    Without observations, or a report missing its max or min, there is nothing to compare.
    """
    if not observed_f or report.max_f is None or report.min_f is None:
        return False
    return (
        abs(report.max_f - max(observed_f)) > REPORT_OBSERVATION_TOLERANCE_F
        or abs(report.min_f - min(observed_f)) > REPORT_OBSERVATION_TOLERANCE_F
    )


def distribution_is_sane(mu: float, sigma: float) -> bool:
    """Whether a daily high/low distribution's mean and spread are physically plausible."""
    return SANE_MU_F[0] <= mu <= SANE_MU_F[1] and SANE_SIGMA_F[0] <= sigma <= SANE_SIGMA_F[1]


def sums_to_one(probabilities: Iterable[float]) -> bool:
    """Whether an event's bracket probabilities sum to 1, before any renormalisation."""
    return abs(math.fsum(probabilities) - 1.0) <= SUM_TOLERANCE

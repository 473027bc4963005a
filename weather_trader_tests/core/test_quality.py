from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from weather_trader.core.quality import (
    MAX_BOOK_AGE,
    REPORT_OBSERVATION_TOLERANCE_F,
    SANE_MU_F,
    SANE_SIGMA_F,
    books_stale,
    distribution_is_sane,
    distributions_stale,
    forecasts_stale,
    report_disagrees,
    sums_to_one,
)
from weather_trader.core.records import ClimateReport

AS_OF = datetime(2026, 7, 3, 15, tzinfo=UTC)
MAX_AGE = timedelta(hours=12)
SECOND = timedelta(seconds=1)


def report(max_f: int | None = 90, min_f: int | None = 70) -> ClimateReport:
    return ClimateReport(
        city="NYC",
        product="CLINYC",
        climate_date=date(2026, 7, 3),
        max_f=max_f,
        min_f=min_f,
        final=True,
        issued_at=datetime(2026, 7, 4, 12, tzinfo=UTC),
    )


# -- forecasts_stale -------------------------------------------------------------------------------


def test_forecasts_stale_without_forecasts() -> None:
    assert forecasts_stale([], AS_OF, MAX_AGE)
    assert forecasts_stale(iter(()), AS_OF, MAX_AGE)  # an exhausted generator is no forecast


def test_forecasts_stale_boundary_at_max_age() -> None:
    assert not forecasts_stale([AS_OF - MAX_AGE], AS_OF, MAX_AGE)
    assert forecasts_stale([AS_OF - MAX_AGE - SECOND], AS_OF, MAX_AGE)
    assert not forecasts_stale([AS_OF], AS_OF, MAX_AGE)


def test_forecasts_stale_newest_counts() -> None:
    old, fresh = AS_OF - timedelta(days=3), AS_OF - timedelta(hours=1)
    assert not forecasts_stale([old, fresh, old], AS_OF, MAX_AGE)
    assert not forecasts_stale((t for t in [fresh, old]), AS_OF, MAX_AGE)
    assert forecasts_stale([old, old - timedelta(days=1)], AS_OF, MAX_AGE)


# -- books_stale -----------------------------------------------------------------------------------


def test_books_stale_empty_is_not_stale() -> None:
    assert not books_stale([], AS_OF)


def test_books_stale_default_boundary() -> None:
    assert timedelta(minutes=15) == MAX_BOOK_AGE
    assert not books_stale([AS_OF - MAX_BOOK_AGE], AS_OF)
    assert books_stale([AS_OF - MAX_BOOK_AGE - SECOND], AS_OF)


def test_books_stale_any_old_book() -> None:
    fresh = AS_OF - timedelta(minutes=1)
    old = AS_OF - timedelta(minutes=16)
    assert not books_stale([fresh, fresh, AS_OF], AS_OF)
    assert books_stale([fresh, old, fresh], AS_OF)
    assert books_stale((t for t in [old]), AS_OF)


def test_books_stale_custom_max_age() -> None:
    t = AS_OF - timedelta(minutes=30)
    assert books_stale([t], AS_OF)
    assert not books_stale([t], AS_OF, max_age=timedelta(minutes=30))
    assert books_stale([t], AS_OF, max_age=timedelta(minutes=29))


# -- report_disagrees ------------------------------------------------------------------------------


def test_report_agrees_within_tolerance() -> None:
    assert REPORT_OBSERVATION_TOLERANCE_F == 3.0
    assert not report_disagrees(report(90, 70), [71.0, 89.0, 80.0])
    # Exactly 3 F off on both ends is still within tolerance.
    assert not report_disagrees(report(90, 70), [73.0, 87.0])
    assert not report_disagrees(report(90, 70), [67.0, 93.0])


@pytest.mark.parametrize(
    "observed",
    [
        [70.0, 86.9],  # max 3.1 F below the report's
        [70.0, 93.1],  # max 3.1 F above
        [73.1, 90.0],  # min 3.1 F above the report's
        [66.9, 90.0],  # min 3.1 F below
    ],
)
def test_report_disagrees_beyond_tolerance(observed: list[float]) -> None:
    assert report_disagrees(report(90, 70), observed)


def test_report_disagrees_nothing_to_compare() -> None:
    far = [0.0, 200.0]
    assert report_disagrees(report(90, 70), far)
    assert not report_disagrees(report(90, 70), [])
    assert not report_disagrees(report(None, 70), far)
    assert not report_disagrees(report(90, None), far)
    assert not report_disagrees(report(None, None), far)


def test_report_disagrees_single_observation() -> None:
    # One reading is both the observed max and min.
    assert not report_disagrees(report(80, 78), [80.0])
    assert report_disagrees(report(84, 76), [80.0])  # max 4 F off


# -- distribution_is_sane / sums_to_one ------------------------------------------------------------


def test_distribution_is_sane_bounds_inclusive() -> None:
    (mu_lo, mu_hi), (s_lo, s_hi) = SANE_MU_F, SANE_SIGMA_F
    assert (mu_lo, mu_hi, s_lo, s_hi) == (-40.0, 125.0, 0.3, 15.0)
    for mu in (mu_lo, 70.0, mu_hi):
        for sigma in (s_lo, 3.0, s_hi):
            assert distribution_is_sane(mu, sigma), (mu, sigma)


@pytest.mark.parametrize(
    ("mu", "sigma"),
    [
        (-40.01, 3.0),
        (125.01, 3.0),
        (70.0, 0.29),
        (70.0, 15.01),
        (70.0, 0.0),
        (70.0, -3.0),
        (float("nan"), 3.0),
        (70.0, float("nan")),
        (float("inf"), 3.0),
    ],
)
def test_distribution_is_not_sane(mu: float, sigma: float) -> None:
    assert not distribution_is_sane(mu, sigma)


def test_sums_to_one_with_float_round_off() -> None:
    assert sum([0.1] * 10) != 1.0  # naive sum is off; fsum is exact
    assert sums_to_one([0.1] * 10)
    assert sums_to_one([0.2, 0.3, 0.5])
    assert sums_to_one([1.0])
    assert sums_to_one(p for p in [0.25] * 4)


def test_sums_to_one_rejects_real_errors() -> None:
    assert not sums_to_one([0.5, 0.5 + 1e-6])
    assert not sums_to_one([0.5, 0.5 - 1e-6])
    assert not sums_to_one([])
    assert not sums_to_one([0.5])
    assert not sums_to_one([0.5, float("nan")])


def test_distributions_stale_when_any_is_missing_or_too_old() -> None:
    now, age = datetime(2026, 7, 1, 12, tzinfo=UTC), timedelta(hours=3)
    assert not distributions_stale([now - age, now], now, age)  # exactly at the age
    assert distributions_stale([now - age - timedelta(seconds=1), now], now, age)
    assert distributions_stale([None, now], now, age)
    assert not distributions_stale([], now, age)

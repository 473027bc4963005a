"""Lows: which observations count for the climate day, and the pmf given the running minimum.

A daily low can be set just before midnight local standard time, so the running minimum only
bounds the low from above until the climate day is over.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.climate_day import climate_date_of, climate_day_window
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.cases import (
    INTRADAY_PRIORS,
    LOW_PRIOR,
    IntradayPrior,
    bound_by_observed,
    bound_observed_pmf,
    build_cases,
    condition_on_running_extreme,
)
from weather_trader.core.forecasting.emos import Emos
from weather_trader.core.forecasting.pmf import SUPPORT, apply_bounds, nan_pmf, pmf_from_normal
from weather_trader.core.instants import DecisionInstant

NO_FORECASTS = pd.DataFrame(
    columns=["city", "kind", "source", "model", "member", "issued_at", "climate_date", "value_f"]
)
NO_REPORTS = pd.DataFrame(columns=["city", "kind", "climate_date", "value_f", "final", "issued_at"])
NEW_YORK = ZoneInfo("America/New_York")


def _low_case(day: date, decided_at: datetime, observations: list[tuple[datetime, float]]):
    targets = pd.DataFrame(
        {"city": ["NYC"], "kind": ["low"], "climate_date": [day], "decided_at": [decided_at]}
    )
    obs = pd.DataFrame(
        {
            "city": "NYC",
            "observed_at": pd.to_datetime([at for at, _ in observations], utc=True),
            "temp_f": [t for _, t in observations],
        }
    )
    return build_cases(targets, NO_FORECASTS, NO_REPORTS, obs).iloc[0]


@pytest.mark.parametrize(
    ("day", "last_minute", "first_of_next"),
    [
        # Winter: 23:55 EST belongs to the day, 00:10 EST is the next day.
        (
            date(2026, 1, 15),
            datetime(2026, 1, 15, 23, 55, tzinfo=NEW_YORK),
            datetime(2026, 1, 16, 0, 10, tzinfo=NEW_YORK),
        ),
        # Daylight time: the climate day runs to 01:00 EDT, so 00:55 EDT of the next calendar
        # day still belongs to it and 01:10 EDT does not.
        (
            date(2026, 7, 4),
            datetime(2026, 7, 5, 0, 55, tzinfo=NEW_YORK),
            datetime(2026, 7, 5, 1, 10, tzinfo=NEW_YORK),
        ),
    ],
)
def test_a_low_just_before_midnight_lst_belongs_to_the_day(
    day: date, last_minute: datetime, first_of_next: datetime
) -> None:
    start, end = climate_day_window("NYC", day)
    assert start <= last_minute < end <= first_of_next
    assert climate_date_of("NYC", last_minute) == day
    assert climate_date_of("NYC", first_of_next) == date.fromordinal(day.toordinal() + 1)
    morning = datetime.combine(day, datetime.min.time(), NEW_YORK).replace(hour=7)
    observed = [(morning, 30.0), (last_minute, 24.0), (first_of_next, 18.0)]
    # Decided after the day: the 23:5x low counts, the colder reading after midnight does not.
    case = _low_case(day, first_of_next.replace(hour=12), observed)
    assert case["obs_extreme"] == 24.0 and case["obs_hour"] == 24.0
    # Decided at 23:50 LST: the 23:55 reading is not known yet; the day is almost over.
    at_2350 = DecisionInstant.parse("D 23:50").at("NYC", day)
    case = _low_case(day, at_2350, observed)
    assert case["obs_extreme"] == 30.0 and case["obs_hour"] == pytest.approx(23 + 50 / 60)


def test_hours_left_and_running_min_exist_for_lows_at_each_instant() -> None:
    day = date(2026, 1, 15)
    at_7 = datetime(2026, 1, 15, 7, tzinfo=NEW_YORK)
    observed = [(at_7, 28.0)]
    day_before = _low_case(day, DecisionInstant.parse("D-1 16:00").at("NYC", day), observed)
    # The day before: 32 hours left, nothing observed yet (the overnight low is still ahead).
    assert day_before["lead_hours"] == 32.0
    assert np.isnan(day_before["obs_extreme"]) and np.isnan(day_before["obs_hour"])
    morning = _low_case(day, DecisionInstant.parse("D 08:00").at("NYC", day), observed)
    assert morning["lead_hours"] == 16.0 and morning["obs_hour"] == 8.0
    assert morning["obs_extreme"] == 28.0


# -- the pmf of a low given its running minimum ----------------------------------------------


def _mass(row: np.ndarray, mask: np.ndarray) -> float:
    return float(row[mask].sum())


GRID = [
    (mu, sd, m, h)
    for mu in (20.0, 27.0, 30.0, 33.0, 45.0)
    for sd in (0.8, 2.5, 6.0)
    for m in (30.0, 30.4, 30.5, -3.2)
    for h in (0.5, 3.0, 8.0, 16.0, 20.0, 23.5, 23.95)
]


@pytest.mark.parametrize(("mu", "sd", "m", "h"), GRID)
def test_never_above_the_running_min_and_mass_below_while_hours_remain(
    mu: float, sd: float, m: float, h: float
) -> None:
    f = pmf_from_normal(mu, sd)
    p = condition_on_running_extreme(f, "low", np.array([m]), np.array([h]), LOW_PRIOR)[0]
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    # Nothing above the running min: T = k needs k - 0.5 <= the low <= m.
    assert _mass(p, m < SUPPORT - 0.5) == 0.0
    # Integers whose whole interval lies below m: a new low can still get there.
    below = m > SUPPORT + 0.5
    assert _mass(p, below) > 0.0


@pytest.mark.parametrize("mu", [20.0, 30.0, 45.0])
@pytest.mark.parametrize("m", [30.0, 30.4])
def test_at_the_end_of_the_day_it_collapses_onto_the_running_min(mu: float, m: float) -> None:
    f = pmf_from_normal(mu, 2.5)
    exact = IntradayPrior(LOW_PRIOR.not_final, LOW_PRIOR.gap_f, between_obs=0.0)
    p = condition_on_running_extreme(f, "low", np.array([m]), np.array([24.0]), exact)[0]
    assert p[SUPPORT == 30].item() == pytest.approx(1.0)
    # With the slip between observations (the sensor's low can be a degree under the hourly
    # readings' minimum) it is the running min or one degree below, nothing else.
    p = condition_on_running_extreme(f, "low", np.array([m]), np.array([24.0]), LOW_PRIOR)[0]
    assert _mass(p, (SUPPORT == 30) | (SUPPORT == 29)) == pytest.approx(1.0)
    assert _mass(p, m < SUPPORT - 0.5) == 0.0 and p[SUPPORT == 29].item() > 0.0


def test_a_flat_forecast_gets_exactly_the_priors_share_below() -> None:
    flat = np.full((1, len(SUPPORT)), 1.0 / len(SUPPORT))
    for h in (2.0, 8.0, 16.0, 22.0, 23.5):
        p = condition_on_running_extreme(flat, "low", np.array([30.0]), np.array([h]), LOW_PRIOR)
        a, _ = LOW_PRIOR.at(np.array([h]))
        b = LOW_PRIOR.between_obs
        assert _mass(p[0], SUPPORT < 30) == pytest.approx(a[0] + (1 - a[0]) * b, rel=1e-6)


def test_mass_below_grows_with_a_colder_forecast_and_the_hours_left() -> None:
    m = np.array([30.0])

    def below(mu: float, h: float) -> float:
        p = condition_on_running_extreme(pmf_from_normal(mu, 2.5), "low", m, np.array([h]),
                                         LOW_PRIOR)  # fmt: skip
        return _mass(p[0], SUPPORT < 30)

    assert below(24.0, 8.0) > below(30.0, 8.0) > below(36.0, 8.0)
    assert below(30.0, 3.0) > below(30.0, 8.0) > below(30.0, 23.5) > below(30.0, 24.0)
    # At 08:00 with the forecast on the running min, the morning low is not taken as final:
    # about the prior's share (22% still ahead, plus the slip between observations) is below.
    assert 0.2 < below(30.0, 8.0) < 0.45


def test_bound_by_observed_conditions_lows_and_only_truncates_highs() -> None:
    f = pmf_from_normal(np.array([30.0, 30.0, 30.0, 30.0, 30.0]), 2.5)
    cases = pd.DataFrame(
        {
            "kind": ["low", "low", "high", "low", "low"],
            "obs_extreme": [31.0, 31.0, 31.0, np.nan, 31.0],
            "obs_hour": [8.0, np.nan, 14.0, np.nan, 24.0],
        }
    )
    out = bound_by_observed(f, cases)
    truncated = apply_bounds(f, floor=np.array([np.nan, np.nan, 31.0, np.nan, np.nan]),
                             cap=np.array([31.0, 31.0, np.nan, np.nan, 31.0]))  # fmt: skip
    conditioned = condition_on_running_extreme(f[[0]], "low", 31.0, 8.0, LOW_PRIOR)
    np.testing.assert_allclose(out[0], conditioned[0])
    np.testing.assert_allclose(out[1], truncated[1])  # hour unknown: a bound only
    np.testing.assert_allclose(out[2], truncated[2])  # highs: a bound only
    np.testing.assert_allclose(out[3], f[3])  # a D-1 instant: nothing observed yet
    assert _mass(out[4], SUPPORT > 31) == 0.0 and out[4][SUPPORT >= 30].sum() > 0.7
    np.testing.assert_allclose(bound_by_observed(f, cases, priors={}), truncated)
    assert set(INTRADAY_PRIORS) == {"low"}
    # The bound loosened by an observation tolerance moves, it never goes away.
    loose = bound_by_observed(f, cases, tolerance_f=1.0)
    assert _mass(loose[0], SUPPORT > 32) == 0.0 and _mass(loose[0], SUPPORT == 32) > 0.0


def test_no_input_rows_stay_no_input_and_priors_are_checked() -> None:
    p = condition_on_running_extreme(nan_pmf(1), "low", np.array([30.0]), np.array([8.0]),
                                     LOW_PRIOR)  # fmt: skip
    assert np.isnan(p).all()
    with pytest.raises(ModelInputError, match="25 hourly values"):
        IntradayPrior((0.5,) * 24, (1.0,) * 25)
    with pytest.raises(ModelInputError, match=r"\[0, 1\]"):
        IntradayPrior((0.5,) * 25, (1.0,) * 25, between_obs=1.5)
    # The measured prior: mostly ahead before sunrise, ~a fifth of days in the evening, none after.
    a, _ = LOW_PRIOR.at(np.array([0.0, 8.0, 20.0, 24.0]))
    assert a[0] > 0.9 and 0.15 < a[1] < 0.3 and 0.15 < a[2] < 0.3 and a[3] == 0.0


def test_a_fitted_model_keeps_a_lows_mass_below_the_morning_min() -> None:
    rng = np.random.default_rng(3)
    n = 400
    doy = np.arange(n) % 365 + 1
    base = 40 + 15 * np.sin(2 * np.pi * (doy - 100) / 365.25)
    truth = np.rint(base + rng.normal(0, 3, n))
    cases = pd.DataFrame(
        {
            "city": "AAA",
            "kind": "low",
            "doy": doy,
            "lead_hours": 16.0,
            "fc:a/x": base + rng.normal(0, 1, n),
            "age:a/x": 6.0,
            "truth_f": truth,
        }
    )
    fitted = Emos().fit(cases)
    query = cases.head(20).assign(obs_extreme=np.rint(base[:20]), obs_hour=8.0)
    p = fitted.predict_pmf(query)
    m = query["obs_extreme"].to_numpy()[:, None]
    assert (p[SUPPORT[None, :] > m] == 0.0).all()
    below = np.where(SUPPORT[None, :] < m, p, 0.0).sum(axis=1)
    assert (below > 0.1).all() and (below < 0.8).all()


def test_a_stored_pmf_is_priced_with_its_bound_and_hour() -> None:
    f = pmf_from_normal(30.0, 2.5)[0]
    low = bound_observed_pmf(f, "low", None, 31.0, 8.0)
    expected = condition_on_running_extreme(f, "low", 31.0, 8.0, LOW_PRIOR)
    np.testing.assert_allclose(low, expected)
    # Replays decide before the day: no hour, nothing observed, the pmf as stored.
    np.testing.assert_allclose(bound_observed_pmf(f, "low", None, None, None)[0], f)
    high = bound_observed_pmf(f, "high", 32.0, None, 14.0)
    np.testing.assert_allclose(high, apply_bounds(f, floor=32.0))

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from weather_trader.core.climate_day import climate_day_window, lead_days
from weather_trader.sim.climatology import climate_for, doy_from_ordinals
from weather_trader.sim.weather import (
    DETERMINISTIC_MODELS,
    ENSEMBLE_MEMBERS,
    ENSEMBLE_MODEL,
    MODELS,
    SimWeather,
    SimWeatherError,
    hours_since_epoch,
    round_half_up,
)

WORLD = SimWeather(7)
START = date(2020, 1, 1).toordinal()
ORDS = np.arange(START, START + 365 * 12)


def test_truth_is_deterministic_and_slice_independent() -> None:
    high, low = WORLD.true_high_low("NYC", ORDS[:400])
    again = SimWeather(7).true_high_low("NYC", ORDS[:400])
    assert np.array_equal(high, again[0]) and np.array_equal(low, again[1])
    # A single day computed alone equals the same day inside a long range.
    day = date.fromordinal(int(ORDS[123]))
    assert WORLD.true_value("NYC", day, "high") == high[123]
    sub_high, _ = WORLD.true_high_low("NYC", ORDS[100:130][::-1])
    assert np.array_equal(sub_high, high[100:130][::-1])
    other, _ = SimWeather(8).true_high_low("NYC", ORDS[:400])
    assert np.abs(other - high).mean() > 1.0


def test_climatology_recovered_over_many_years() -> None:
    high, low = WORLD.true_high_low("NYC", ORDS)
    months = np.array([date.fromordinal(int(o)).month for o in ORDS])
    assert abs(high[months == 7].mean() - 84.5) < 2.0
    assert abs(high[months == 1].mean() - 39.5) < 2.0
    assert abs(low[months == 7].mean() - 70) < 2.0
    assert np.all(high - low >= 3.0 - 1e-9)


def test_anomalies_persist_and_high_low_correlate() -> None:
    high, low = WORLD.true_high_low("CHI", ORDS)
    clim = climate_for("CHI")
    doy = doy_from_ordinals(ORDS)
    z_h = (high - clim.normal("high", doy)) / clim.sd("high", doy)
    z_l = (low - clim.normal("low", doy)) / clim.sd("low", doy)
    assert 0.9 < z_h.std() < 1.1
    assert 0.55 < np.corrcoef(z_h[:-1], z_h[1:])[0, 1] < 0.75
    assert 0.5 < np.corrcoef(z_h, z_l)[0, 1] < 0.8


def test_hourly_curve_extremes_are_the_days_high_and_low() -> None:
    ords = ORDS[:500]
    temps = WORLD.hourly_temps("DEN", ords)
    high, low = WORLD.true_high_low("DEN", ords)
    assert temps.shape == (500, 24)
    assert np.array_equal(temps.max(axis=1), high) and np.array_equal(temps.min(axis=1), low)
    assert np.array_equal(round_half_up(temps.max(axis=1)), round_half_up(high))
    # Max mostly mid-afternoon, min mostly around sunrise (LST hours).
    assert np.median(temps.argmax(axis=1)) in range(12, 17)
    assert np.median(temps.argmin(axis=1)) in range(3, 9)


def test_observation_times_fill_the_climate_day() -> None:
    day = date(2026, 7, 4)
    times = WORLD.observation_times("NYC", day)
    start, end = climate_day_window("NYC", day)
    assert len(times) == 24 and all(start <= t < end for t in times)
    assert times[0] == start + timedelta(minutes=51)


def test_round_half_up() -> None:
    assert round_half_up(84.5) == 85 and round_half_up(84.49) == 84
    assert round_half_up(-3.5) == -3 and list(round_half_up(np.array([1.5, 2.5]))) == [2, 3]


def _runs_for_lead(city: str, ords: np.ndarray, lead: int, hour: int) -> np.ndarray:
    runs = []
    for o in ords:
        run = WORLD.runs_for_lead(city, date.fromordinal(int(o)), lead)[hour]
        runs.append(hours_since_epoch(run))
    return np.array(runs)


def test_forecast_error_grows_with_lead_and_models_are_biased_differently() -> None:
    ords = ORDS[:1500]
    high, _ = WORLD.true_high_low("NYC", ords)
    rmse, bias = [], {}
    for lead in range(7):
        runs = _runs_for_lead("NYC", ords, lead, 0)
        err = WORLD.forecast_values("NYC", "high", "gfs", ords, runs) - high
        rmse.append(float(np.sqrt(np.mean(err**2))))
        if lead == 1:
            for model in MODELS:
                f = WORLD.forecast_values("NYC", "high", model, ords, runs)
                bias[model] = float(np.mean(f - high))
    assert all(b > a for a, b in itertools.pairwise(rmse)), rmse
    assert rmse[0] < 3.5 and rmse[6] > 5.5
    assert max(bias.values()) - min(bias.values()) > 0.5
    mean_bias = WORLD.model_bias("NYC", "high", "gfs", ords).mean()
    assert abs(bias["gfs"] - mean_bias) < 0.4


def test_model_errors_are_correlated_and_ensemble_underdispersive() -> None:
    ords = ORDS[:1500]
    runs = _runs_for_lead("PHL", ords, 2, 1)
    high, _ = WORLD.true_high_low("PHL", ords)
    errs = {
        m: WORLD.forecast_values("PHL", "high", m, ords, runs) - high for m in DETERMINISTIC_MODELS
    }
    corr = np.corrcoef(errs["gfs"], errs["ecmwf"])[0, 1]
    assert 0.3 < corr < 0.85
    n = ENSEMBLE_MEMBERS
    members = WORLD.forecast_values(
        "PHL", "high", ENSEMBLE_MODEL, np.repeat(ords, n), np.repeat(runs, n),
        np.tile(np.arange(n), ords.size),
    ).reshape(ords.size, n)  # fmt: skip
    spread = members.std(axis=1, ddof=1).mean()
    error = (members.mean(axis=1) - high).std()
    assert spread < 0.6 * error


def test_forecast_is_pure_function_of_keys() -> None:
    day, run = date(2026, 3, 10), datetime(2026, 3, 9, 12, tzinfo=UTC)
    a = WORLD.forecast("AUS", day, "low", "icon", run)
    assert a == SimWeather(7).forecast("AUS", day, "low", "icon", run)
    assert a != SimWeather(9).forecast("AUS", day, "low", "icon", run)
    m3 = WORLD.forecast("AUS", day, "low", ENSEMBLE_MODEL, run, member=3)
    assert m3 == SimWeather(7).forecast("AUS", day, "low", ENSEMBLE_MODEL, run, member=3)
    assert m3 != WORLD.forecast("AUS", day, "low", ENSEMBLE_MODEL, run, member=4)
    assert round(a, 1) == a


def test_forecast_rejects_bad_requests() -> None:
    day = date(2026, 3, 10)
    with pytest.raises(SimWeatherError, match="unknown sim model"):
        WORLD.forecast("NYC", day, "high", "nam", datetime(2026, 3, 9, 12, tzinfo=UTC))
    with pytest.raises(SimWeatherError, match="no ensemble"):
        WORLD.forecast("NYC", day, "high", "gfs", datetime(2026, 3, 9, 12, tzinfo=UTC), 1)
    with pytest.raises(SimWeatherError, match="00Z and 12Z"):
        WORLD.forecast("NYC", day, "high", "gfs", datetime(2026, 3, 9, 6, tzinfo=UTC))
    with pytest.raises(SimWeatherError, match="lead"):
        WORLD.forecast("NYC", day, "high", "gfs", datetime(2026, 3, 1, 12, tzinfo=UTC))
    with pytest.raises(SimWeatherError, match="lead"):  # issued after the day ended
        WORLD.forecast("NYC", day, "high", "gfs", datetime(2026, 3, 11, 12, tzinfo=UTC))
    with pytest.raises(SimWeatherError, match="lead"):
        WORLD.runs_for_lead("NYC", day, 7)


def test_latest_run_respects_availability_and_lead_window() -> None:
    day = date(2026, 5, 12)
    # 15Z on the 11th: the 12Z run is not out until 16Z, so the 00Z run is the latest.
    assert WORLD.latest_run("NYC", "gfs", day, datetime(2026, 5, 11, 15, tzinfo=UTC)) == datetime(
        2026, 5, 11, 0, tzinfo=UTC
    )
    assert WORLD.latest_run("NYC", "gfs", day, datetime(2026, 5, 11, 16, tzinfo=UTC)) == datetime(
        2026, 5, 11, 12, tzinfo=UTC
    )
    # ecmwf arrives later (5 h).
    assert WORLD.latest_run("NYC", "ecmwf", day, datetime(2026, 5, 11, 16, tzinfo=UTC)) == datetime(
        2026, 5, 11, 0, tzinfo=UTC
    )
    # Long after the day: the last run issued during the climate day (19:00 EST = 00Z next day).
    late = WORLD.latest_run("NYC", "gfs", day, datetime(2026, 6, 1, tzinfo=UTC))
    assert late == datetime(2026, 5, 13, 0, tzinfo=UTC) and lead_days("NYC", day, late) == 0
    # More than 6 days ahead nothing exists yet.
    assert WORLD.latest_run("NYC", "gfs", day, datetime(2026, 5, 5, 16, tzinfo=UTC)) is None
    first = WORLD.latest_run("NYC", "gfs", day, datetime(2026, 5, 6, 16, tzinfo=UTC))
    assert first is not None and lead_days("NYC", day, first) == 6
    for lead in range(7):
        for run in WORLD.runs_for_lead("LAX", day, lead):
            assert lead_days("LAX", day, run) == lead and run.hour in (0, 12)

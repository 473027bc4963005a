"""The sim's daily lows: exact extremes, when in the climate day they are set (against the
real measurement of ``benchmarks/lows_timing.py``), and the observation window."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.cities import CITIES, get_city
from weather_trader.core.climate_day import climate_date_of, climate_day_window
from weather_trader.core.extreme_timing import (
    END_OF_DAY_HOUR,
    extreme_timing,
    lst_day_and_hour,
    share_after,
)
from weather_trader.sim.climatology import CLIMATES
from weather_trader.sim.reports import reports_for_days
from weather_trader.sim.sources import SimWeatherSource
from weather_trader.sim.weather import SimWeather, round_half_up

WORLD = SimWeather(7)
START = date(2020, 1, 1).toordinal()
DECADE = np.arange(START, START + 3653)
SIM_CITIES = sorted(set(CLIMATES) & set(CITIES))
WINTER, SUMMER = (12, 1, 2), (6, 7, 8)


def _timing(city: str, ords: np.ndarray) -> pd.DataFrame:
    temps = WORLD.hourly_temps(city, ords)
    times = np.concatenate([WORLD.observation_times(city, date.fromordinal(int(o))) for o in ords])
    obs = pd.DataFrame({"observed_at": pd.to_datetime(times, utc=True), "temp_f": temps.ravel()})
    return extreme_timing(obs, get_city(city).std_utc_offset_hours, "low")


def _months(timing: pd.DataFrame) -> np.ndarray:
    return pd.to_datetime(timing["climate_date"]).dt.month.to_numpy()


@pytest.mark.parametrize("city", SIM_CITIES)
def test_hourly_extremes_are_the_days_true_high_and_low_exactly(city: str) -> None:
    ords = DECADE[:1100]
    temps = WORLD.hourly_temps(city, ords)
    high, low = WORLD.true_high_low(city, ords)
    assert np.array_equal(temps.min(axis=1), low) and np.array_equal(temps.max(axis=1), high)
    # Slicing never changes a day (the tilt reads the neighbouring days, computed the same way).
    again = WORLD.hourly_temps(city, ords[500:510][::-1])
    assert np.array_equal(again, temps[500:510][::-1])


@pytest.mark.parametrize("city", ["NYC", "CHI", "PHL", "LAX"])
def test_share_of_end_of_day_lows_is_realistic(city: str) -> None:
    timing = _timing(city, DECADE)
    assert len(timing) == len(DECADE)
    late = share_after(timing, END_OF_DAY_HOUR)
    # Real data (benchmarks/lows_timing.py): 14-29% of days by source and city.
    assert 0.08 <= late <= 0.32, late
    months = _months(timing)
    winter = share_after(timing[np.isin(months, WINTER)])
    summer = share_after(timing[np.isin(months, SUMMER)])
    if city != "LAX":  # fronts set more evening lows in winter, as in Chicago and Philadelphia
        assert winter > summer, (winter, summer)
    # Most lows still come around sunrise.
    sunrise = np.mean((timing["first_hour"] >= 3) & (timing["first_hour"] < 9))
    assert sunrise > 0.55


def test_end_of_day_lows_come_with_a_colder_next_day() -> None:
    timing = _timing("CHI", DECADE)
    late = timing["first_hour"].to_numpy() >= END_OF_DAY_HOUR
    _, low = WORLD.true_high_low("CHI", DECADE)
    _, next_low = WORLD.true_high_low("CHI", DECADE + 1)
    drop = next_low - low
    assert drop[late].mean() < drop[~late].mean() - 3.0


def _visual_crossing_day_before(path: Path, offset: int) -> pd.DataFrame:
    with gzip.open(path, "rt") as handle:
        frame = pd.read_csv(
            handle, usecols=["target_datetime_utc", "forecast_basis_date", "temp_f"]
        )
    frame["observed_at"] = pd.to_datetime(frame["target_datetime_utc"], utc=True)
    day, _ = lst_day_and_hour(frame["observed_at"], offset)
    issued = pd.to_datetime(frame["forecast_basis_date"]).dt.date.to_numpy()
    previous = (pd.to_datetime(pd.Series(day)) - pd.Timedelta(days=1)).dt.date.to_numpy()
    return frame.loc[issued == previous, ["observed_at", "temp_f"]]


@pytest.mark.parametrize(
    ("city", "folder"), [("CHI", "chicago"), ("PHL", "philadelphia"), ("LAX", "los_angeles")]
)
def test_end_of_day_share_matches_real_hourly_data(
    realdata_dir: Path, city: str, folder: str
) -> None:
    path = realdata_dir / "forecasts" / "visualcrossing_halsted312" / folder
    path = path / "forecasts_hourly.csv.gz"
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    offset = get_city(city).std_utc_offset_hours
    real = extreme_timing(_visual_crossing_day_before(path, offset), offset, "low")
    assert len(real) > 900
    real_late, sim_late = share_after(real), share_after(_timing(city, DECADE))
    assert abs(sim_late - real_late) <= 0.07, (city, sim_late, real_late)


def test_observation_window_of_a_day_ends_at_midnight_lst_in_daylight_time_too() -> None:
    source = SimWeatherSource(WORLD)
    day = date(2026, 7, 4)
    start, end = climate_day_window("NYC", day)
    obs = source.observations("NYC", start, end)
    assert len(obs) == 24 and all(climate_date_of("NYC", o.observed_at) == day for o in obs)
    # The last routine observation is 23:51 EST = 00:51 EDT on July 5th's clock.
    assert obs[-1].observed_at == datetime(2026, 7, 5, 4, 51, tzinfo=UTC)
    temps = WORLD.hourly_temps("NYC", np.array([day.toordinal()]))[0]
    assert min(o.temp_f for o in obs) == temps.min()
    # The intraday asset's window while the day runs, [start, now), at 23:55 LST has it all.
    now = end - timedelta(minutes=5)
    assert len(source.observations("NYC", start, min(end, now))) == 24
    after = source.observations("NYC", end, end + timedelta(hours=2))
    assert all(climate_date_of("NYC", o.observed_at) == day + timedelta(days=1) for o in after)


def test_an_end_of_day_low_changes_the_final_report_after_the_afternoon_one() -> None:
    timing = _timing("CHI", DECADE[:730])
    late = timing[timing["first_hour"] >= 23.0]["climate_date"].tolist()
    assert len(late) > 20
    reports = reports_for_days(WORLD, "CHI", late)
    # The latest final of each day (a correction replaces a wrong final).
    finals = {
        r.climate_date: r.min_f for r in sorted(reports, key=lambda r: r.issued_at) if r.final
    }
    afternoon = {r.climate_date: r.min_f for r in reports if not r.final}
    _, low = WORLD.true_high_low("CHI", np.array([d.toordinal() for d in late]))
    assert [finals[d] for d in late] == list(round_half_up(low))
    # The 5 PM report's minimum is only the minimum so far: the evening took the low lower.
    assert np.mean([afternoon[d] > finals[d] for d in late]) > 0.5

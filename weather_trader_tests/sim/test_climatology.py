from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.cities import CITIES, UnknownCityError
from weather_trader.sim.climatology import (
    CLIMATES,
    Harmonic,
    climate_for,
    day_of_year,
    doy_from_ordinals,
    fit_harmonic,
    sunrise_hour_lst,
)
from weather_trader_tests.shared_data import require_realdata

NORMALS = ("daily_temps", "normals", "NOAA_normals_1991-2020_daily_USW00094728.csv")
NORMALS_SAMPLE = ("daily_temps", "normals", "NOAA_Normals_DLY_1991-2020_sample.csv")
HISTORY_538 = ("daily_temps", "fivethirtyeight_us_weather_history")
FITTED_TO_538 = {"PHX": "KPHX", "HOU": "KHOU", "SEA": "KSEA"}
"""Cities whose harmonics are :func:`fit_harmonic` of the 538 daily averages (rounded)."""
ENTERED_FROM_NORMALS = {"NYC": "KNYC", "CHI": "KMDW", "PHL": "KPHL"}


def test_every_registry_city_has_a_climatology() -> None:
    assert set(CLIMATES) == set(CITIES)
    with pytest.raises(UnknownCityError):
        climate_for("XXX")


def test_nyc_normals_follow_noaa_1991_2020() -> None:
    clim = climate_for("NYC")
    with require_realdata(*NORMALS).open() as fh:
        rows = list(csv.DictReader(fh))
    doy = np.arange(1, len(rows) + 1)
    tmax = np.array([float(r["DLY-TMAX-NORMAL"]) for r in rows])
    tmin = np.array([float(r["DLY-TMIN-NORMAL"]) for r in rows])
    sd_max = np.array([float(r["DLY-TMAX-STDDEV"]) for r in rows])
    # One harmonic cannot follow every wiggle; 2.5 F everywhere is close enough for a sim.
    assert np.abs(clim.normal("high", doy) - tmax).max() < 2.5
    assert np.abs(clim.normal("low", doy) - tmin).max() < 2.5
    assert np.abs(clim.sd("high", doy) - sd_max).max() < 1.5


def test_seasonal_shape() -> None:
    jul, jan, aug15 = day_of_year(date(2026, 7, 25)), 15, day_of_year(date(2026, 8, 15))
    for code, clim in CLIMATES.items():
        assert clim.normal("high", jul) > clim.normal("high", jan), code
        assert clim.normal("high", jul) > clim.normal("low", jul), code
        assert clim.sd("high", jan) > 0 and clim.sd("low", jul) > 0
    nyc = climate_for("NYC")
    assert abs(nyc.normal("high", jul) - 85) < 2 and abs(nyc.normal("high", jan) - 39.5) < 2
    # LAX peaks in mid-August, later than the continental cities.
    assert climate_for("LAX").high.peak_doy > nyc.high.peak_doy + 15
    assert climate_for("LAX").normal("high", aug15) > climate_for("LAX").normal("high", jul)
    assert climate_for("MIA").sd("high", 200) < nyc.sd("high", 200)


def test_doy_from_ordinals_matches_python() -> None:
    days = [date(2024, 1, 1), date(2024, 2, 29), date(2024, 12, 31), date(2026, 7, 4)]
    out = doy_from_ordinals(np.array([d.toordinal() for d in days]))
    assert list(out) == [day_of_year(d) for d in days] == [1, 60, 366, 185]


def test_sunrise_is_plausible() -> None:
    # NYC: ~07:20 EST in early January, ~04:25 EST at the June solstice.
    assert 6.9 < sunrise_hour_lst("NYC", 5) < 7.6
    assert 4.0 < sunrise_hour_lst("NYC", 172) < 4.8
    assert sunrise_hour_lst("MIA", 172) > sunrise_hour_lst("NYC", 172)


def test_fit_harmonic_recovers_a_harmonic_and_refuses_too_little_data() -> None:
    truth = Harmonic(55.0, 20.0, 210.0)
    doy = np.arange(1, 366)
    fitted = fit_harmonic(doy, truth.at(doy) + np.where(doy % 2, 0.5, -0.5))
    assert abs(fitted.mean - 55) < 0.05 and abs(fitted.amplitude - 20) < 0.05
    assert abs(fitted.peak_doy - 210) < 0.5
    with pytest.raises(ValueError, match="three"):
        fit_harmonic(np.array([1.0, 2.0, np.nan]), np.array([1.0, 2.0, 3.0]))


def _averages(station: str) -> tuple[np.ndarray, pd.DataFrame]:
    history = pd.read_csv(require_realdata(*HISTORY_538, f"{station}.csv"))
    return pd.to_datetime(history.date).dt.day_of_year.to_numpy(), history


@pytest.mark.parametrize("city", sorted(FITTED_TO_538))
def test_fitted_cities_are_the_fit_of_their_538_averages(city: str) -> None:
    doy, history = _averages(FITTED_TO_538[city])
    clim = climate_for(city)
    for ours, column in ((clim.high, "average_max_temp"), (clim.low, "average_min_temp")):
        fitted = fit_harmonic(doy, history[column].to_numpy(dtype=float))
        assert abs(ours.mean - fitted.mean) < 0.2 and abs(ours.amplitude - fitted.amplitude) < 0.2
        assert abs(ours.peak_doy - fitted.peak_doy) < 1.0


@pytest.mark.parametrize("city", sorted({**FITTED_TO_538, **ENTERED_FROM_NORMALS}))
def test_normals_follow_the_stations_daily_averages(city: str) -> None:
    station = {**FITTED_TO_538, **ENTERED_FROM_NORMALS}[city]
    doy, history = _averages(station)
    clim = climate_for(city)
    for kind, column in (("high", "average_max_temp"), ("low", "average_min_temp")):
        error = np.asarray(clim.normal(kind, doy)) - history[column].to_numpy(dtype=float)
        # One harmonic against a long-period average with its wiggles (and the 1991-2020
        # normals a degree warmer): a couple of degrees RMS, never more than 5 F on a day.
        assert np.sqrt(np.nanmean(error**2)) < 2.5, (city, kind)
        assert np.nanmax(np.abs(error)) < 5.0, (city, kind)


def test_atlanta_january_follows_noaa_1991_2020() -> None:
    with require_realdata(*NORMALS_SAMPLE).open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["STATION"] == "USW00013874"]
    assert len(rows) == 31 and all(r["DATE"].startswith("01-") for r in rows)
    doy = np.array([int(r["DATE"][3:]) for r in rows])
    atl = climate_for("ATL")
    for kind, column, tolerance in (
        ("high", "DLY-TMAX-NORMAL", 2.0),
        ("low", "DLY-TMIN-NORMAL", 2.0),
    ):
        values = np.array([float(r[column]) for r in rows])
        assert np.abs(atl.normal(kind, doy) - values).max() < tolerance, kind
    for kind, column in (("high", "DLY-TMAX-STDDEV"), ("low", "DLY-TMIN-STDDEV")):
        values = np.array([float(r[column]) for r in rows])
        assert np.abs(atl.sd(kind, doy) - values).max() < 1.5, kind


def test_every_climate_is_physically_plausible() -> None:
    doy = np.arange(1, 366)
    for code, clim in CLIMATES.items():
        city = CITIES[code]
        assert np.all(clim.normal("high", doy) > clim.normal("low", doy)), code
        assert np.all(clim.sd("high", doy) > 1.0) and np.all(clim.sd("low", doy) > 1.0), code
        # Two standard deviations out, on any day, stays inside the station's all-time records.
        hot = np.asarray(clim.normal("high", doy)) + 2 * np.asarray(clim.sd("high", doy))
        cold = np.asarray(clim.normal("low", doy)) - 2 * np.asarray(clim.sd("low", doy))
        assert city.record_low_f < cold.min() and hot.max() < city.record_high_f, code
        assert 12.0 <= clim.max_hour_lst <= 17.5, code
    # Desert afternoons peak late, sea-breeze cities early.
    assert climate_for("PHX").max_hour_lst > climate_for("SFO").max_hour_lst

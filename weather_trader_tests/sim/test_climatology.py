from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pytest

from weather_trader.core.cities import CITIES, UnknownCityError
from weather_trader.sim.climatology import (
    CLIMATES,
    climate_for,
    day_of_year,
    doy_from_ordinals,
    sunrise_hour_lst,
)
from weather_trader_tests.shared_data import require_realdata

NORMALS = ("daily_temps", "normals", "NOAA_normals_1991-2020_daily_USW00094728.csv")


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

"""Per-city daily temperature normals for the offline world.

Each city's normal daily high and low follow one annual harmonic (:class:`Harmonic`); the
day-to-day standard deviation around the normal also varies seasonally (winters are far more
variable than summers almost everywhere; Seattle and San Francisco are the exceptions, with
summer heat spells and autumn offshore days). Day-of-year is 1-based (Jan 1 = 1).

Where the numbers come from (``weather_trader_tests/sim/test_climatology.py`` checks every
city that ``../shared/realdata`` has data for):

* **Fitted to real data** with :func:`fit_harmonic`: NYC (NOAA 1991-2020 daily normals of
  Central Park, normals and standard deviations: annual-mean high 62.7 F, amplitude 22.6 F,
  warmest ~Jul 22); PHX, HOU and SEA (the daily ``average_max_temp``/``average_min_temp`` of
  the FiveThirtyEight/Weather Underground history of KPHX, KHOU, KSEA: long-period averages,
  up to a degree cooler than the 1991-2020 normals; their standard deviations are the spread
  of that year's actual values around the averages, rounded). CHI and PHL were entered from the
  1991-2020 normals and agree with the same files' averages within the test's tolerance.
* **Checked in part**: ATL's January against the NOAA 1991-2020 normals sample (January only).
* **Approximations** from the NOAA 1991-2020 monthly normals of each station as known to us
  (January and July/August means; not checked against data here): MIA, AUS, LAX, DEN, BOS,
  DAL, DC, LAS, MSP, MSY, OKC, SAT, SFO, and the standard deviations of every city but NYC.
  They are good to a degree or two, which is all a simulation needs.

``max_hour_lst`` is the usual hour of the daily maximum in local *standard* time: later in the
dry interior and the desert (16:00), earlier where a sea breeze caps the afternoon (13:00-14:30).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from weather_trader.core.cities import CITIES, Kind, UnknownCityError

_YEAR = 365.25


@dataclass(frozen=True)
class Harmonic:
    """``mean + amplitude * cos(2 pi (doy - peak_doy) / 365.25)``.

    Attributes:
        mean: Annual mean.
        amplitude: Half the annual range.
        peak_doy: Day of year of the maximum.
    """

    mean: float
    amplitude: float
    peak_doy: float

    def at(self, doy: np.ndarray | float) -> np.ndarray | float:
        """The value on day(s) of year ``doy``."""
        return self.mean + self.amplitude * np.cos(
            2 * math.pi * (np.asarray(doy) - self.peak_doy) / _YEAR
        )


@dataclass(frozen=True)
class CityClimate:
    """Daily normals and variability of one city's daily high and low (degrees F).

    Attributes:
        high: Normal daily high.
        low: Normal daily low.
        high_sd: Standard deviation of the daily high around its normal.
        low_sd: Standard deviation of the daily low around its normal.
        max_hour_lst: Usual hour (local standard time) of the daily maximum.
    """

    high: Harmonic
    low: Harmonic
    high_sd: Harmonic
    low_sd: Harmonic
    max_hour_lst: float = 15.0

    def normal(self, kind: Kind, doy: np.ndarray | float) -> np.ndarray | float:
        """Normal daily ``high`` or ``low`` on day(s) of year ``doy``."""
        return (self.high if kind == "high" else self.low).at(doy)

    def sd(self, kind: Kind, doy: np.ndarray | float) -> np.ndarray | float:
        """Day-to-day standard deviation of the daily ``high`` or ``low`` on ``doy``."""
        return (self.high_sd if kind == "high" else self.low_sd).at(doy)


def fit_harmonic(doy: np.ndarray, values: np.ndarray) -> Harmonic:
    """Least-squares fit of one annual harmonic to daily ``values`` on days of year ``doy``.

    Raises:
        ValueError: If fewer than three finite values are given.
    """
    doy, values = np.asarray(doy, dtype=np.float64), np.asarray(values, dtype=np.float64)
    ok = np.isfinite(doy) & np.isfinite(values)
    if ok.sum() < 3:
        raise ValueError("a harmonic needs at least three finite values")
    angle = 2 * math.pi * doy[ok] / _YEAR
    design = np.column_stack([np.ones_like(angle), np.cos(angle), np.sin(angle)])
    (mean, a, b), *_ = np.linalg.lstsq(design, values[ok], rcond=None)
    peak = (math.atan2(b, a) * _YEAR / (2 * math.pi)) % _YEAR
    return Harmonic(float(mean), float(math.hypot(a, b)), float(peak))


# mean, amplitude, peak day for high / low; then the seasonal sd of each (peak = most variable);
# then max_hour_lst where it differs from 15:00.
CLIMATES: dict[str, CityClimate] = {
    "NYC": CityClimate(Harmonic(62.7, 22.6, 203), Harmonic(49.0, 21.0, 206),
                       Harmonic(8.3, 2.1, 40), Harmonic(6.8, 2.3, 20)),
    "CHI": CityClimate(Harmonic(59.7, 26.3, 200), Harmonic(44.6, 24.9, 203),
                       Harmonic(9.5, 2.5, 35), Harmonic(8.3, 2.8, 25)),
    "MIA": CityClimate(Harmonic(84.1, 7.3, 212), Harmonic(70.3, 8.8, 215),
                       Harmonic(3.6, 1.6, 15), Harmonic(4.5, 2.6, 15), 14.0),
    "AUS": CityClimate(Harmonic(80.6, 17.4, 215), Harmonic(56.6, 16.9, 210),
                       Harmonic(6.8, 3.5, 20), Harmonic(6.6, 3.6, 20), 16.0),
    "LAX": CityClimate(Harmonic(70.8, 5.0, 228), Harmonic(56.8, 8.2, 222),
                       Harmonic(4.8, 1.3, 0), Harmonic(3.3, 1.0, 0), 13.0),
    "DEN": CityClimate(Harmonic(65.5, 22.9, 200), Harmonic(38.0, 21.0, 200),
                       Harmonic(9.9, 3.3, 25), Harmonic(7.8, 3.3, 25)),
    "PHL": CityClimate(Harmonic(64.7, 23.2, 203), Harmonic(48.3, 21.8, 205),
                       Harmonic(8.4, 2.2, 40), Harmonic(7.2, 2.3, 20)),
    "ATL": CityClimate(Harmonic(72.0, 18.0, 200), Harmonic(53.7, 18.2, 203),
                       Harmonic(7.3, 2.8, 20), Harmonic(6.8, 3.4, 20), 15.5),
    "BOS": CityClimate(Harmonic(59.8, 23.0, 203), Harmonic(44.9, 22.0, 207),
                       Harmonic(8.6, 2.0, 45), Harmonic(7.0, 2.3, 20), 14.5),
    "DAL": CityClimate(Harmonic(76.8, 19.8, 207), Harmonic(57.0, 20.0, 205),
                       Harmonic(7.5, 4.0, 20), Harmonic(6.5, 3.8, 20), 16.0),
    "DC": CityClimate(Harmonic(67.3, 22.5, 202), Harmonic(51.8, 21.3, 205),
                      Harmonic(8.4, 2.3, 40), Harmonic(6.8, 2.4, 20)),
    # Fitted to the KHOU averages (538/WU); sd from that year's spread (winter fronts).
    "HOU": CityClimate(Harmonic(79.8, 15.9, 201), Harmonic(60.1, 16.5, 199),
                       Harmonic(7.0, 3.5, 20), Harmonic(5.5, 3.5, 20)),
    "LAS": CityClimate(Harmonic(82.3, 24.0, 198), Harmonic(61.7, 21.8, 200),
                       Harmonic(5.4, 1.2, 40), Harmonic(5.0, 1.0, 40), 16.0),
    "MSP": CityClimate(Harmonic(53.5, 29.9, 200), Harmonic(36.5, 28.4, 203),
                       Harmonic(10.5, 2.5, 45), Harmonic(9.5, 3.5, 25)),
    "MSY": CityClimate(Harmonic(77.3, 14.5, 205), Harmonic(60.8, 15.5, 203),
                       Harmonic(5.8, 3.2, 20), Harmonic(6.0, 4.0, 20), 14.5),
    "OKC": CityClimate(Harmonic(72.0, 22.5, 205), Harmonic(51.0, 22.0, 203),
                       Harmonic(9.0, 4.0, 30), Harmonic(7.5, 3.5, 25), 16.0),
    # Fitted to the KPHX averages (538/WU).
    "PHX": CityClimate(Harmonic(86.7, 20.6, 199), Harmonic(63.5, 19.7, 203),
                       Harmonic(6.1, 0.9, 30), Harmonic(5.3, 0.6, 30), 16.0),
    "SAT": CityClimate(Harmonic(79.7, 16.3, 210), Harmonic(58.7, 16.8, 205),
                       Harmonic(6.8, 3.5, 20), Harmonic(6.6, 3.6, 20), 16.0),
    # Fitted to the KSEA averages (538/WU); highs vary most in summer (heat spells).
    "SEA": CityClimate(Harmonic(60.3, 14.8, 200), Harmonic(45.0, 10.2, 207),
                       Harmonic(6.3, 1.0, 200), Harmonic(4.6, 1.5, 20), 16.0),
    # Warmest in September; autumn offshore days make highs most variable then.
    "SFO": CityClimate(Harmonic(65.8, 8.5, 235), Harmonic(49.5, 6.5, 225),
                       Harmonic(5.8, 1.6, 270), Harmonic(3.4, 0.8, 0), 14.0),
}  # fmt: skip


def climate_for(city: str) -> CityClimate:
    """The climatology of a registry city.

    Raises:
        UnknownCityError: If the city has no climatology.
    """
    try:
        return CLIMATES[city]
    except KeyError:
        raise UnknownCityError(
            f"no sim climatology for {city!r}; known: {sorted(CLIMATES)}"
        ) from None


def day_of_year(day: date) -> int:
    """1-based day of year."""
    return day.timetuple().tm_yday


def doy_from_ordinals(ordinals: np.ndarray) -> np.ndarray:
    """Vectorised 1-based day of year of ``date.toordinal()`` values."""
    dates = np.asarray(ordinals, dtype=np.int64) - date(1970, 1, 1).toordinal()
    days = dates.astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]")).astype(np.int64) + 1


def sunrise_hour_lst(city: str, doy: np.ndarray | float) -> np.ndarray | float:
    """Approximate sunrise in local standard time hours (no equation of time; ~15 min)."""
    c = CITIES[city]
    decl = np.radians(23.44) * np.sin(2 * math.pi * (284 + np.asarray(doy)) / 365.0)
    cos_h = np.clip(-np.tan(np.radians(c.lat)) * np.tan(decl), -1.0, 1.0)
    solar_sunrise = 12.0 - np.degrees(np.arccos(cos_h)) / 15.0
    # Local solar time runs ahead of standard time east of the zone's meridian.
    return solar_sunrise - (c.lon - 15.0 * c.std_utc_offset_hours) / 15.0

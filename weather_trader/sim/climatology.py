"""Per-city daily temperature normals for the offline world.

Each city's normal daily high and low follow one annual harmonic fitted by eye to the NOAA
1991-2020 daily normals of its settlement station (NYC checked against the station's normals
file: annual-mean high 62.7 F, amplitude 22.6 F, warmest ~Jul 22). The day-to-day standard
deviation around the normal also varies seasonally (winters are far more variable than summers
everywhere but Los Angeles). Day-of-year is 1-based (Jan 1 = 1).
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


# mean, amplitude, peak day for high / low; then the seasonal sd of each (peak = most variable).
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

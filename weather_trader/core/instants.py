"""Decision instants: a clock time in the city's local standard time relative to climate day D.

``"D-1 16:00"`` is 16:00 local standard time the day before the climate day, ``"D 08:00"`` 08:00
on it. Standard time all year (a fixed UTC offset per city), like the climate day itself. The
walk-forward evaluation, the edge gate and the backtests all name their instants this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from weather_trader.core.cities import get_city

_INSTANT = re.compile(r"^\s*D\s*(?:([+-])\s*(\d+))?\s+(\d{1,2}):(\d{2})\s*$")


class InstantError(ValueError):
    """Raised for a decision instant that is not ``D[+-n] HH:MM``."""


@dataclass(frozen=True)
class DecisionInstant:
    """A decision time relative to the climate day, in local standard time.

    Attributes:
        label: The text it was parsed from, normalised (``"D-1 16:00"``).
        day_offset: Days relative to the climate day D (``-1`` the day before).
        hour: Hour of the local standard-time clock (0-23).
        minute: Minute (0-59).
    """

    label: str
    day_offset: int
    hour: int
    minute: int

    @classmethod
    def parse(cls, text: str) -> DecisionInstant:
        """``"D-1 16:00"``, ``"D 08:00"``, ``"D+0 23:30"`` -> instant.

        Raises:
            InstantError: For anything else, naming the expected form.
        """
        match = _INSTANT.match(text)
        if not match:
            raise InstantError(f"decision instant {text!r} is not like 'D-1 16:00' or 'D 08:00'")
        sign, days, hour, minute = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        h, m = int(hour), int(minute)
        if h > 23 or m > 59:
            raise InstantError(f"decision instant {text!r}: hour 0-23 and minute 0-59 expected")
        day = "D" if offset == 0 else f"D{offset:+d}"
        return cls(f"{day} {h:02d}:{m:02d}", offset, h, m)

    def at(self, city: str, day: date) -> datetime:
        """The UTC instant this names for ``city``'s climate day ``day``."""
        local = datetime.combine(
            day + timedelta(days=self.day_offset),
            time(self.hour, self.minute),
            get_city(city).standard_tz,
        )
        return local.astimezone(UTC)

    def utc(self, cities: Iterable[str], climate_dates: Iterable[date]) -> pd.Series:
        """The UTC instant for each (city, climate day) pair (vectorised :meth:`at`)."""
        codes, days = list(cities), list(climate_dates)
        offsets = {c: get_city(c).std_utc_offset_hours for c in set(codes)}
        local = pd.to_datetime(pd.Series(days, dtype=object)) + pd.Timedelta(
            days=self.day_offset, hours=self.hour, minutes=self.minute
        )
        shift = pd.to_timedelta([-offsets[c] for c in codes], unit="h")
        return (local + shift).dt.tz_localize("UTC")


def parse_instant(text: str) -> DecisionInstant:
    """Same as :meth:`DecisionInstant.parse`."""
    return DecisionInstant.parse(text)

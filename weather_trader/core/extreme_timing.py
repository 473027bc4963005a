"""When in the climate day the daily extreme happens, measured from timed temperatures.

A daily low is usually set around sunrise, but a cold front can put it at the very end of the
climate day (23:5x local standard time), after a mild night. What matters for trading is *when
the running extreme becomes final*: the hour of the day after which the observations never go
below (low) / above (high) what they already reached. These functions measure that on any timed
series (station observations, hourly forecasts, the sim's curves) with the climate day of
:mod:`weather_trader.core.climate_day`: midnight to midnight local standard time, a fixed offset.

Timing table columns (one row per climate day with enough observations):
``climate_date``, ``n_obs``, ``extreme_f`` (the day's min for a low, max for a high),
``first_hour`` (LST hours since the day's midnight of the first observation at the extreme,
0 <= h < 24), ``last_hour`` (the last one; equal unless the extreme was tied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from weather_trader.core.cities import Kind

TIMING_COLUMNS = ("climate_date", "n_obs", "extreme_f", "first_hour", "last_hour")
END_OF_DAY_HOUR = 18.0
"""A low first reached at or after 18:00 LST is an end-of-day low (set by the evening)."""


@dataclass(frozen=True)
class HourBin:
    """A named span ``[start, end)`` of LST hours of the climate day."""

    name: str
    start: float
    end: float


HOUR_BINS: tuple[HourBin, ...] = (
    HourBin("start of day 00-03", 0.0, 3.0),
    HourBin("around sunrise 03-09", 3.0, 9.0),
    HourBin("daytime 09-18", 9.0, 18.0),
    HourBin("end of day 18-24", 18.0, 24.0),
)


def lst_day_and_hour(
    observed_at: pd.Series, std_utc_offset_hours: float
) -> tuple[pd.Series, pd.Series]:
    """Each aware instant's climate date and hours since that day's LST midnight (0 <= h < 24).

    Raises:
        ValueError: If the instants are naive (never guess a zone).
    """
    times = pd.to_datetime(observed_at)
    if times.dt.tz is None:
        raise ValueError("observed_at must be timezone-aware")
    local = times.dt.tz_convert("UTC").dt.tz_localize(None) + pd.Timedelta(
        hours=std_utc_offset_hours
    )
    midnight = local.dt.floor("D")
    return midnight.dt.date, (local - midnight) / pd.Timedelta(hours=1)


def extreme_timing(
    observations: pd.DataFrame,
    std_utc_offset_hours: float,
    kind: Kind,
    min_obs: int = 20,
    edge_hours: float = 1.0,
) -> pd.DataFrame:
    """The timing table (module docstring) of ``observed_at, temp_f`` observations.

    A day is kept only with at least ``min_obs`` observations, one in its first and one in its
    last ``edge_hours`` (a day cut short at either end would hide a low set there).
    """
    obs = observations.loc[:, ["observed_at", "temp_f"]].copy()
    obs["temp_f"] = pd.to_numeric(obs["temp_f"], errors="coerce")
    obs = obs[obs["temp_f"].notna()]
    if obs.empty:
        return pd.DataFrame({c: [] for c in TIMING_COLUMNS})
    obs["climate_date"], obs["hour"] = lst_day_and_hour(obs["observed_at"], std_utc_offset_hours)
    obs = obs.sort_values(["climate_date", "hour"], kind="stable")
    extreme = obs.groupby("climate_date")["temp_f"].transform("min" if kind == "low" else "max")
    at_extreme = obs[obs["temp_f"] == extreme]
    grouped = obs.groupby("climate_date")
    table = pd.DataFrame(
        {
            "n_obs": grouped.size(),
            "extreme_f": grouped["temp_f"].min() if kind == "low" else grouped["temp_f"].max(),
            "first_hour": at_extreme.groupby("climate_date")["hour"].min(),
            "last_hour": at_extreme.groupby("climate_date")["hour"].max(),
            "earliest": grouped["hour"].min(),
            "latest": grouped["hour"].max(),
        }
    )
    full = (
        (table["n_obs"] >= min_obs)
        & (table["earliest"] < edge_hours)
        & (table["latest"] >= 24.0 - edge_hours)
    )
    table = table[full].drop(columns=["earliest", "latest"]).reset_index()
    table["n_obs"] = table["n_obs"].astype(int)
    return table.loc[:, list(TIMING_COLUMNS)]


def share_in_bins(timing: pd.DataFrame, bins: tuple[HourBin, ...] = HOUR_BINS) -> dict[str, float]:
    """Share of days whose extreme is *first* reached in each bin (NaN without days)."""
    hours = timing["first_hour"].to_numpy(dtype=float)
    n = len(hours)
    return {
        b.name: float(np.mean((hours >= b.start) & (hours < b.end))) if n else float("nan")
        for b in bins
    }


def share_after(timing: pd.DataFrame, hour: float = END_OF_DAY_HOUR) -> float:
    """Share of days whose extreme is first reached at or after ``hour`` LST: at that hour the
    running extreme is not the day's yet (NaN without days)."""
    hours = timing["first_hour"].to_numpy(dtype=float)
    return float(np.mean(hours >= hour)) if len(hours) else float("nan")


def not_final_by_hour(timing: pd.DataFrame, hours: range = range(25)) -> pd.Series:
    """For each LST hour h: the share of days whose running extreme at h is not yet final (the
    extreme is first reached strictly after h). Near 1 at h = 0, 0 at h = 24."""
    first = timing["first_hour"].to_numpy(dtype=float)
    shares = {h: float(np.mean(first > h)) if len(first) else float("nan") for h in hours}
    return pd.Series(shares, name="not_final", dtype=float)


def running_gap_by_hour(
    observations: pd.DataFrame,
    std_utc_offset_hours: float,
    kind: Kind,
    hours: range = range(24),
    min_obs: int = 20,
) -> pd.DataFrame:
    """How far the running extreme still is from the day's, hour by hour.

    For each LST hour h, over the days with at least ``min_obs`` observations and one at or
    before h: ``days``, ``not_final`` (share whose running extreme at h is not the day's) and
    ``mean_gap_f`` (the mean distance, F, between the running and the final extreme on those
    days; NaN when none).
    """
    obs = observations.loc[:, ["observed_at", "temp_f"]].copy()
    obs["temp_f"] = pd.to_numeric(obs["temp_f"], errors="coerce")
    obs = obs[obs["temp_f"].notna()]
    obs["climate_date"], obs["hour"] = lst_day_and_hour(obs["observed_at"], std_utc_offset_hours)
    sign = 1.0 if kind == "low" else -1.0  # work on "lower is more extreme"
    obs["value"] = sign * obs["temp_f"]
    counts = obs.groupby("climate_date")["value"].transform("size")
    obs = obs[counts >= min_obs]
    final = obs.groupby("climate_date")["value"].min()
    rows = []
    for h in hours:
        running = obs[obs["hour"] <= h].groupby("climate_date")["value"].min()
        gap = (running - final.reindex(running.index)).to_numpy(dtype=float)
        ahead = gap > 0
        rows.append(
            {
                "hour": h,
                "days": len(gap),
                "not_final": float(np.mean(ahead)) if len(gap) else float("nan"),
                "mean_gap_f": float(gap[ahead].mean()) if ahead.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)

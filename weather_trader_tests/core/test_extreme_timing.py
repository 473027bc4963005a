from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.extreme_timing import (
    END_OF_DAY_HOUR,
    extreme_timing,
    lst_day_and_hour,
    not_final_by_hour,
    running_gap_by_hour,
    share_after,
    share_in_bins,
)


def _day(start_utc: datetime, temps: list[float], minute: int = 51) -> pd.DataFrame:
    """Hourly observations at hh:``minute`` from ``start_utc`` (a climate day's midnight)."""
    times = [start_utc + timedelta(hours=h, minutes=minute) for h in range(len(temps))]
    return pd.DataFrame({"observed_at": pd.to_datetime(times, utc=True), "temp_f": temps})


# Midnight EST of 2018-01-10 is 05:00Z.
JAN10 = datetime(2018, 1, 10, 5, tzinfo=UTC)
SUNRISE_LOW = [30, 29, 28, 27, 26, 25, 24, 25, 28, 32, 35, 37, 38, 39, 39, 38, 36, 34, 33, 32,
               31, 31, 30, 30.0]  # fmt: skip
FRONT_LOW = [40, 39, 38, 38, 37, 37, 37, 38, 40, 42, 44, 45, 45, 44, 42, 39, 36, 33, 31, 29,
             27, 25, 23, 21.0]  # fmt: skip


def test_lst_day_and_hour_uses_the_standard_offset_all_year() -> None:
    at = pd.Series(
        pd.to_datetime(
            ["2018-01-11T04:55Z", "2018-01-11T05:10Z", "2026-07-05T04:55Z", "2026-07-05T05:00Z"],
            utc=True,
        )
    )
    days, hours = lst_day_and_hour(at, -5)
    # 23:55 EST is still the 10th; 00:10 EST is the 11th. In July 00:55 EDT (the next calendar
    # day on the clock) is 23:55 EST: still the 4th.
    assert list(days) == [date(2018, 1, 10), date(2018, 1, 11), date(2026, 7, 4), date(2026, 7, 5)]
    assert hours.round(3).tolist() == [23.917, 0.167, 23.917, 0.0]
    with pytest.raises(ValueError, match="timezone-aware"):
        lst_day_and_hour(pd.Series(pd.to_datetime(["2018-01-11T04:55"])), -5)


def test_extreme_timing_finds_when_the_low_and_high_are_first_reached() -> None:
    obs = pd.concat([_day(JAN10, SUNRISE_LOW), _day(JAN10 + timedelta(days=1), FRONT_LOW)])
    lows = extreme_timing(obs, -5, "low")
    assert lows["climate_date"].tolist() == [date(2018, 1, 10), date(2018, 1, 11)]
    assert lows["extreme_f"].tolist() == [24.0, 21.0]
    assert lows["first_hour"].round(2).tolist() == [6.85, 23.85]
    highs = extreme_timing(obs, -5, "high")
    # Ties: the first and the last time the day reached its extreme.
    assert highs["first_hour"].round(2).tolist() == [13.85, 11.85]
    assert highs["last_hour"].round(2).tolist() == [14.85, 12.85]
    assert share_after(lows, END_OF_DAY_HOUR) == 0.5
    bins = share_in_bins(lows)
    assert bins["around sunrise 03-09"] == 0.5 and bins["end of day 18-24"] == 0.5
    assert sum(bins.values()) == pytest.approx(1.0)


def test_days_cut_short_are_left_out() -> None:
    # Missing the last two hours would hide an end-of-day low: the day does not count.
    short = _day(JAN10, FRONT_LOW[:22])
    assert extreme_timing(short, -5, "low").empty
    late_start = _day(JAN10 + timedelta(hours=2), FRONT_LOW[2:])
    assert extreme_timing(late_start, -5, "low").empty
    few = _day(JAN10, FRONT_LOW).iloc[::2]  # every other hour: 12 observations
    assert extreme_timing(few, -5, "low").empty
    assert len(extreme_timing(few, -5, "low", min_obs=12, edge_hours=2.0)) == 1
    assert extreme_timing(short.iloc[:0], -5, "low").empty


def test_not_final_by_hour_and_gaps() -> None:
    obs = pd.concat([_day(JAN10, SUNRISE_LOW), _day(JAN10 + timedelta(days=1), FRONT_LOW)])
    timing = extreme_timing(obs, -5, "low")
    curve = not_final_by_hour(timing)
    assert curve[0] == 1.0 and curve[6] == 1.0  # 06:00: neither low reached yet
    assert curve[7] == 0.5 and curve[23] == 0.5  # the front's low comes at 23:51
    assert curve[24] == 0.0
    assert np.all(np.diff(curve.to_numpy()) <= 0)
    gaps = running_gap_by_hour(obs, -5, "low").set_index("hour")
    assert gaps.loc[8, "not_final"] == 0.5
    # At 08:00 the front day's running min is 37 against a final 21.
    assert gaps.loc[8, "mean_gap_f"] == 16.0
    assert gaps.loc[22, "mean_gap_f"] == 4.0  # at 22:00: 25 (21:51) against 21 (23:51)
    high_gaps = running_gap_by_hour(obs, -5, "high").set_index("hour")
    assert high_gaps.loc[0, "days"] == 0 and np.isnan(high_gaps.loc[0, "not_final"])  # none yet
    assert high_gaps.loc[1, "not_final"] == 1.0 and high_gaps.loc[23, "not_final"] == 0.0


def test_real_knyc_january_2018_has_end_of_day_lows(realdata_dir: Path) -> None:
    path = realdata_dir / "metar" / "synoptic_KNYC_hourly_2018-01.csv"
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    frame = pd.read_csv(path, comment="#")
    frame = frame[frame["Station_ID"] == "KNYC"]
    stamps = frame["Date_Time"].str.replace(" UTC", "")
    obs = pd.DataFrame(
        {
            "observed_at": pd.to_datetime(stamps, format="%m/%d/%Y %H:%M").dt.tz_localize("UTC"),
            "temp_f": frame["air_temp_set_1"],
        }
    )
    timing = extreme_timing(obs, -5, "low")
    assert len(timing) >= 25  # a month, less days with gaps at either end
    # A winter month: fronts set a good share of lows in the evening, yet most come overnight.
    late = share_after(timing, END_OF_DAY_HOUR)
    assert 0.15 <= late <= 0.45
    assert share_in_bins(timing)["daytime 09-18"] < 0.1

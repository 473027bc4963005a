"""Benchmark: when in the climate day is the daily low set? Real data against the sim.

    .venv/bin/python benchmarks/lows_timing.py [--shared ../shared/realdata] [--sim-years 10]

For each source it prints, over climate days (midnight to midnight local standard time):
the share of days whose low is first reached in each part of the day (start 00-03, around
sunrise 03-09, daytime 09-18, end of day 18-24 LST), and the share whose running minimum is
not final yet at 08:00, 16:00, 20:00 and 22:00 LST (the low is still ahead then).

Sources (each skipped with a note when its file is missing):

* ``metar/synoptic_KNYC_hourly_2018-01.csv``: real KNYC (Central Park) observations, January
  2018, hourly plus specials. Also compared with the 24-hour minimum group of the 23:51 LST
  METAR, which is the station's continuous minimum (what the CLI reports): how often the
  hourly observations miss the true low, and by how much.
* ``forecasts/visualcrossing_halsted312/*/forecasts_hourly.csv.gz``: Visual Crossing hourly
  forecasts issued the day before (one issue per day, so no stitching between runs), Chicago,
  Philadelphia and Los Angeles 2023-2025: a proxy of timing, by season. Its
  ``target_datetime_local`` column is the UTC time for two cities; ``target_datetime_utc`` is
  used.
* ``kalshi/cpratim/openmeteo_historical_forecast/*/hourly_weather_forecast.csv``: Open-Meteo
  historical forecasts (first hours of successive runs, close to an analysis) for New York and
  Chicago, January-May 2025, America/New_York clock time.
* the sim (``SimWeather.hourly_temps``, seed 7) for the same cities over ``--sim-years``.

Last, the real sources' share of days whose low is not final yet and the mean gap to it, hour
by hour: what ``core.forecasting.cases.LOW_PRIOR`` pools.
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from weather_trader.core.cities import get_city
from weather_trader.core.extreme_timing import (
    END_OF_DAY_HOUR,
    extreme_timing,
    lst_day_and_hour,
    not_final_by_hour,
    running_gap_by_hour,
    share_in_bins,
)
from weather_trader.sim.weather import SimWeather, round_half_up

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECK_HOURS = (8, 16, 20, 22)
VC_CITIES = {"chicago": "CHI", "philadelphia": "PHL", "los_angeles": "LAX"}
OM_CITIES = {"kxhighny": "NYC", "kxhighchi": "CHI"}
SEASONS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}


def _header() -> str:
    bins = "  ".join(
        f"{name.split()[-1]:>5}" for name in share_in_bins(pd.DataFrame({"first_hour": []}))
    )
    ahead = "  ".join(f"@{h:02d}" for h in CHECK_HOURS)
    return f"{'source':<34}{'days':>6}  low first reached in {bins}   not final {ahead}"


def _row(label: str, timing: pd.DataFrame) -> str:
    bins = "  ".join(f"{v:>5.0%}" for v in share_in_bins(timing).values())
    nf = not_final_by_hour(timing)
    ahead = " ".join(f"{nf[h]:>4.0%}" for h in CHECK_HOURS)
    return f"{label:<34}{len(timing):>6}  {'':>21}{bins}   {'':>9} {ahead}"


def _knyc(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, comment="#")
    frame = frame[frame["Station_ID"] == "KNYC"]  # drops the units row
    at = pd.to_datetime(frame["Date_Time"].str.replace(" UTC", ""), format="%m/%d/%Y %H:%M")
    return pd.DataFrame(
        {
            "observed_at": at.dt.tz_localize("UTC"),
            "temp_f": pd.to_numeric(frame["air_temp_set_1"], errors="coerce"),
            "min_24h": pd.to_numeric(frame["air_temp_low_24_hour_set_1"], errors="coerce"),
        }
    ).reset_index(drop=True)


def knyc_section(shared: Path) -> Iterator[str]:
    path = shared / "metar" / "synoptic_KNYC_hourly_2018-01.csv"
    if not path.exists():
        yield f"KNYC: {path} missing, skipped"
        return
    obs = _knyc(path)
    offset = get_city("NYC").std_utc_offset_hours
    timing = extreme_timing(obs, offset, "low")
    yield _row("KNYC obs Jan 2018 (real)", timing)
    # The 24-hour group rides on the midnight-LST METAR (23:51 LST): its climate day.
    groups = obs[obs["min_24h"].notna()].copy()
    groups["climate_date"], groups["hour"] = lst_day_and_hour(groups["observed_at"], offset)
    groups = groups[groups["hour"] > 23.0].set_index("climate_date")
    both = timing.set_index("climate_date").join(groups[["min_24h", "temp_f"]], how="inner")
    slip = both["extreme_f"] - both["min_24h"]
    whole = round_half_up(both["extreme_f"].to_numpy()) - round_half_up(both["min_24h"].to_numpy())
    at_close = (both["temp_f"] - both["min_24h"]).abs() < 0.05
    yield (
        f"  24-h min group (the sensor's low) on {len(both)} days: below the hourly obs' min on "
        f"{int((slip > 0.05).sum())} days (mean {slip[slip > 0.05].mean():.1f} F), a whole "
        f"degree lower on {int((whole > 0).sum())} days ({np.mean(whole > 0):.0%})"
    )
    yield f"  the 23:51 LST reading was the day's low on {int(at_close.sum())} days"
    late = timing[timing["first_hour"] >= END_OF_DAY_HOUR]
    listing = ", ".join(
        f"Jan {d:%d} {int(h):02d}:{round(h % 1 * 60):02d}"
        for d, h in zip(late["climate_date"], late["first_hour"], strict=True)
    )
    yield f"  end-of-day lows (climate day, LST time first reached): {listing or 'none'}"


def _vc_hourly(path: Path, offset: int) -> pd.DataFrame:
    with gzip.open(path, "rt") as handle:
        frame = pd.read_csv(
            handle, usecols=["target_datetime_utc", "forecast_basis_date", "temp_f"]
        )
    frame["observed_at"] = pd.to_datetime(frame["target_datetime_utc"], utc=True)
    day, _ = lst_day_and_hour(frame["observed_at"], offset)
    basis = pd.to_datetime(frame["forecast_basis_date"]).dt.date
    # One issue per climate day: the forecast made the day before (covers all 24 hours).
    day_before = pd.to_datetime(pd.Series(day)) - pd.Timedelta(days=1)
    keep = day_before.dt.date.to_numpy() == basis.to_numpy()
    out = frame.loc[keep, ["observed_at", "temp_f"]].copy()
    out["issue"] = basis[keep].to_numpy()
    return out.drop_duplicates("observed_at")


def _by_season(label: str, timing: pd.DataFrame) -> Iterator[str]:
    months = pd.to_datetime(timing["climate_date"]).dt.month
    for season, wanted in SEASONS.items():
        yield _row(f"  {label} {season}", timing[months.isin(wanted).to_numpy()])


def visual_crossing_section(shared: Path) -> Iterator[str]:
    root = shared / "forecasts" / "visualcrossing_halsted312"
    for folder, code in VC_CITIES.items():
        path = root / folder / "forecasts_hourly.csv.gz"
        if not path.exists():
            yield f"Visual Crossing {folder}: {path} missing, skipped"
            continue
        offset = get_city(code).std_utc_offset_hours
        timing = extreme_timing(_vc_hourly(path, offset), offset, "low")
        label = f"VC lead-1 {code} 2023-25"
        yield _row(label, timing)
        yield from _by_season(f"VC {code}", timing)


def open_meteo_section(shared: Path) -> Iterator[str]:
    root = shared / "kalshi" / "cpratim" / "openmeteo_historical_forecast"
    for folder, code in OM_CITIES.items():
        path = root / folder / "hourly_weather_forecast.csv"
        if not path.exists():
            yield f"Open-Meteo {folder}: {path} missing, skipped"
            continue
        frame = pd.read_csv(path, usecols=["time", "temperature_2m"])
        clock = pd.to_datetime(frame["time"]).dt.tz_localize(
            "America/New_York", ambiguous="NaT", nonexistent="NaT"
        )
        obs = pd.DataFrame({"observed_at": clock, "temp_f": frame["temperature_2m"]})
        # The collector filled gaps with 0: a 0.0 F reading is a hole, not a temperature.
        obs = obs[obs["observed_at"].notna() & (obs["temp_f"] != 0.0)]
        offset = get_city(code).std_utc_offset_hours
        timing = extreme_timing(obs, offset, "low")
        yield _row(f"Open-Meteo {code} Jan-May 2025", timing)


def prior_section(shared: Path) -> Iterator[str]:
    """The real data's "low not final yet" share and mean gap by hour: the source of
    ``core.forecasting.cases.LOW_PRIOR``."""
    root = shared / "forecasts" / "visualcrossing_halsted312"
    tables = {}
    for folder, code in VC_CITIES.items():
        path = root / folder / "forecasts_hourly.csv.gz"
        if path.exists():
            offset = get_city(code).std_utc_offset_hours
            tables[code] = running_gap_by_hour(_vc_hourly(path, offset), offset, "low")
    knyc = shared / "metar" / "synoptic_KNYC_hourly_2018-01.csv"
    if knyc.exists():
        tables["KNYC"] = running_gap_by_hour(_knyc(knyc), -5, "low")
    if not tables:
        return
    yield ""
    yield "Low not final yet at h:00 LST (share of days) / mean gap to the final low (F), by source"
    yield "hour " + "".join(f"{code:>14}" for code in tables)
    for h in range(24):
        cells = "".join(
            f"{t.loc[h, 'not_final']:>8.2f} /{t.loc[h, 'mean_gap_f']:>4.1f}"
            for t in tables.values()
        )
        yield f"{h:>4} {cells}"


def sim_section(years: int) -> Iterator[str]:
    world = SimWeather(7)
    first = date(2020, 1, 1).toordinal()
    ords = np.arange(first, first + int(365.25 * years))
    for code in ("NYC", "CHI", "PHL", "LAX"):
        temps = world.hourly_temps(code, ords)
        timing = sim_timing(world, code, ords, temps)
        yield _row(f"sim {code} {years} y", timing)
        yield from _by_season(f"sim {code}", timing)


def sim_timing(world: SimWeather, code: str, ords: np.ndarray, temps: np.ndarray) -> pd.DataFrame:
    """The sim's hourly curves (hh:51 LST) as a timing table."""
    times = np.concatenate([world.observation_times(code, date.fromordinal(int(o))) for o in ords])
    obs = pd.DataFrame({"observed_at": pd.to_datetime(times, utc=True), "temp_f": temps.ravel()})
    return extreme_timing(obs, get_city(code).std_utc_offset_hours, "low")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "realdata")
    parser.add_argument("--sim-years", type=int, default=10)
    args = parser.parse_args()
    print(_header())
    for section in (
        knyc_section(args.shared),
        visual_crossing_section(args.shared),
        open_meteo_section(args.shared),
        sim_section(args.sim_years),
        prior_section(args.shared),
    ):
        for line in section:
            print(line)


if __name__ == "__main__":
    main()

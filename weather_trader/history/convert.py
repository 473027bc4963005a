"""Converters from recorded real-data files into the history import formats.

Two CSV formats are imported by ``weather-trader history import`` (see docs/history.md):

* forecasts: ``city, kind, source, model, member, issued_at, climate_date, value_f``
  (``member`` empty for deterministic runs, ``issued_at`` ISO 8601 with offset: the instant
  the value was known);
* reports: ``city, kind, climate_date, value_f, final, issued_at`` (truth as the climate
  report gave it, and when it was out).

The ``issued_at`` rules are what keeps look-ahead out of training and evaluation, so every
one is conservative (never earlier than the value could really have been seen):

* **Visual Crossing** historical forecasts (``forecastBasisDate``): the basis date's time of
  day is not documented, so a forecast is known only from the *end* of its basis date:
  midnight at the end of that date in the city's local **standard** time
  (:func:`basis_date_known_at`). Chicago, basis 2024-05-09 -> 2024-05-10T06:00Z.
  Daily ``tempmax_f``/``tempmin_f`` become model ``timeline``. The hourly values become a
  separate model ``timeline-hourly``: the max/min of the 24 hourly values of each climate
  day (midnight to midnight local standard time), complete days only. The hourly files'
  ``target_datetime_utc`` is the reliable stamp: ``target_datetime_local`` is really UTC
  for Philadelphia, Los Angeles and 182 Chicago basis dates (checked against the diurnal
  cycle: the mean hourly temperature peaks at 20-21 UTC in every subset, and the offset-0
  Chicago rows agree with the neighbouring basis dates only when read as UTC).
  Visual Crossing's daily values are local *calendar* days (daylight time in summer), so
  ``timeline`` and ``timeline-hourly`` differ slightly beyond the forecast shape.
* **NBM / HRRR** guidance (Chicago, 12Z run of the day before): ``issued_at`` = run time +
  :data:`GUIDANCE_AVAILABILITY_DELAY`. The value is the max of the model's hourly values
  over the afternoon window (the collector's ``peak_window_max_f``), up to about 36 h ahead.
  HRRR's 12Z run reaches 48 h only in its extended cycle, whose last grids arrive about
  1 h 45 min after the run time; NBM 12Z grids are complete about 1 h 15 min - 1 h 45 min
  after. Both get 2 h: later than the slowest usual arrival, never earlier.
* **Settlements** (CLI highs via IEM, NCEI fallback) and **GHCN daily**: final reports,
  ``issued_at`` = 09:00 local standard time the day after the climate day
  (:func:`report_known_at`). The final CLI for a day is issued overnight or early morning
  (the pipeline assumes 07:00 LST); 09:00 leaves a margin. GHCN-Daily itself publishes a
  day or more later, but its value is the same station measurement the CLI published that
  morning, converted through tenths of °C, so **up to 1 °F off the CLI** (KNYC 247/252
  exact). GHCN rows are written to their own files (the reports format has no source
  column): import them for climatology, and prefer the CLI where both exist
  (:func:`convert_dev_set` drops GHCN days a CLI file already covers).

Not converted:

* Kalshi events and their settlement values: ``history import --events`` reads them.
* Open-Meteo ``historical_forecast`` (``kalshi/cpratim/openmeteo_historical_forecast``): it
  is stitched from the freshest run for every hour (no lead), so it is not a forecast as
  issued; its day boundaries are America/New_York for every city and missing values were
  filled with 0. Any honest ``issued_at`` (the end of the climate day) would make it useless
  for prediction, and an earlier one would leak the future, so it is skipped.

Every converter validates row by row and raises :class:`ConvertError` naming the file and
line of the first bad row; rows with a missing value (an absent forecast) are dropped and
counted in :class:`Converted`.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.cities import CITIES, get_city
from weather_trader.core.climate_day import climate_day_window
from weather_trader.sources.errors import WeatherSourceError
from weather_trader.sources.kalshi.errors import KalshiError
from weather_trader.sources.kalshi.history import (
    KalshiHistory,
    already_written,
    write_import_files,
)
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.urls import PROD_BASE_URL
from weather_trader.sources.visual_crossing import VisualCrossingClient

FORECAST_COLUMNS: tuple[str, ...] = (
    "city", "kind", "source", "model", "member", "issued_at", "climate_date", "value_f",
)  # fmt: skip
REPORT_COLUMNS: tuple[str, ...] = ("city", "kind", "climate_date", "value_f", "final", "issued_at")

VC_SOURCE = "visualcrossing"
VC_DAILY_MODEL = "timeline"
VC_HOURLY_MODEL = "timeline-hourly"
NOAA_SOURCE = "noaa"
GUIDANCE_AVAILABILITY_DELAY: dict[str, timedelta] = {
    "hrrr": timedelta(hours=2),
    "nbm": timedelta(hours=2),
}
"""Run time -> availability of the NBM/HRRR 12Z guidance (see the module docstring)."""
REPORT_KNOWN_HOUR_LOCAL_STD = 9
"""Final reports count as known at this hour (local standard time) the day after."""
HOURS_PER_CLIMATE_DAY = 24

CITY_ALIASES: dict[str, str] = {
    "chicago": "CHI",
    "philadelphia": "PHL",
    "los_angeles": "LAX",
    "nyc": "NYC",
    "KNYC": "NYC",
    "KMDW": "CHI",
    "KPHL": "PHL",
    "KLAX": "LAX",
}
"""Folder names and station ids of the shared data -> our city codes."""


class ConvertError(ValueError):
    """A file cannot be converted; the message names the file and the line."""


@dataclass
class Converted:
    """One converter's output: the rows in the import format, and what was dropped."""

    frame: pd.DataFrame
    source_rows: int
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        drops = ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n) or "none"
        return f"{len(self.frame)} rows from {self.source_rows} source rows (dropped: {drops})"


# -- instants ------------------------------------------------------------------------------------


def basis_date_known_at(city: str, basis: date) -> datetime:
    """When a forecast with basis date ``basis`` is known: the end of that date (LST), UTC."""
    return climate_day_window(city, basis)[1]


def report_known_at(city: str, climate_date: date) -> datetime:
    """When the final report of ``climate_date`` counts as known (09:00 LST next day), UTC."""
    tz = get_city(city).standard_tz
    local = datetime.combine(
        climate_date + timedelta(days=1), time(REPORT_KNOWN_HOUR_LOCAL_STD), tzinfo=tz
    )
    return local.astimezone(UTC)


def resolve_city(name: str) -> str:
    """Our city code for a code, a shared-data folder name or a station id.

    Raises:
        ConvertError: If the name is unknown.
    """
    code = CITY_ALIASES.get(name, CITY_ALIASES.get(name.lower(), name.upper()))
    if code not in CITIES:
        raise ConvertError(
            f"unknown city {name!r}; known: {sorted(CITIES)} or {sorted(CITY_ALIASES)}"
        )
    return code


# -- reading and validation ----------------------------------------------------------------------


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ConvertError(f"{path}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise ConvertError(f"{path}: not a readable CSV ({type(exc).__name__}: {exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConvertError(f"{path}: missing columns {missing} (has {list(frame.columns)})")
    return frame


def _bad_row(path: Path, frame: pd.DataFrame, mask: pd.Series, column: str, what: str) -> None:
    if mask.any():
        index = int(np.flatnonzero(mask.to_numpy())[0])
        value = frame[column].iloc[index]
        count = int(mask.sum())
        more = f" ({count - 1} more such rows)" if count > 1 else ""
        raise ConvertError(f"{path}:{index + 2}: {column} {value!r} is not {what}{more}")


def _dates(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
    _bad_row(path, frame, parsed.isna(), column, "a date (YYYY-MM-DD)")
    return parsed.dt.date


def _numbers(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    """Floats; empty cells are NaN (missing), anything else unparseable is an error."""
    text = frame[column].str.strip()
    parsed = pd.to_numeric(text.where(text != ""), errors="coerce")
    _bad_row(path, frame, parsed.isna() & (text != ""), column, "a number")
    _bad_row(path, frame, ~np.isfinite(parsed.fillna(0.0)), column, "a finite number")
    return parsed.astype("float64")


def _utc(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    parsed = pd.to_datetime(frame[column], utc=True, errors="coerce", format="ISO8601")
    _bad_row(path, frame, parsed.isna(), column, "a timestamp with UTC offset")
    return parsed


def _forecast_frame(
    city: str, kind: str, source: str, model: str, issued: Any, days: Any, values: Any
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "city": city,
            "kind": kind,
            "source": source,
            "model": model,
            "member": pd.array([pd.NA] * len(values), dtype="Int64"),
            "issued_at": issued,
            "climate_date": days,
            "value_f": values,
        }
    )
    return frame[list(FORECAST_COLUMNS)]


def _known_at_series(
    days: pd.Series, rule: Callable[[str, date], datetime], city: str
) -> pd.Series:
    cache = {d: rule(city, d) for d in pd.unique(days)}
    return pd.to_datetime(days.map(cache), utc=True)


# -- forecasts -----------------------------------------------------------------------------------


def visual_crossing_daily(path: Path, city: str) -> Converted:
    """``forecasts_daily.csv.gz``: ``tempmax_f``/``tempmin_f`` -> high/low, model ``timeline``.

    ``issued_at`` is the end of the basis date (LST); ``lead_days`` must equal target - basis.
    """
    city = resolve_city(city)
    raw = _read_csv(
        path, ("target_date", "forecast_basis_date", "lead_days", "tempmax_f", "tempmin_f")
    )
    target = _dates(path, raw, "target_date")
    basis = _dates(path, raw, "forecast_basis_date")
    lead = _numbers(path, raw, "lead_days")
    actual = (pd.to_datetime(target) - pd.to_datetime(basis)).dt.days
    _bad_row(
        path,
        raw,
        actual.ne(lead) | actual.lt(0),
        "lead_days",
        "target_date - forecast_basis_date (>= 0)",
    )
    issued = _known_at_series(basis, basis_date_known_at, city)
    parts, dropped = [], 0
    for kind, column in (("high", "tempmax_f"), ("low", "tempmin_f")):
        values = _numbers(path, raw, column)
        keep = values.notna()
        dropped += int((~keep).sum())
        parts.append(
            _forecast_frame(
                city, kind, VC_SOURCE, VC_DAILY_MODEL, issued[keep], target[keep], values[keep]
            )
        )
    frame = _dedupe(
        path, pd.concat(parts, ignore_index=True), ["kind", "issued_at", "climate_date"]
    )
    return Converted(frame, len(raw), {"missing values": dropped})


def visual_crossing_hourly(path: Path, city: str) -> Converted:
    """``forecasts_hourly.csv.gz``: per basis date, the max/min of each complete climate day.

    Hours come from ``target_datetime_utc`` (see the module docstring); a climate day of a
    basis date with fewer than 24 distinct hourly values (the ends of the 7-day window) is
    dropped, as is any day that is not complete.
    """
    city = resolve_city(city)
    raw = _read_csv(path, ("target_datetime_utc", "forecast_basis_date", "temp_f"))
    stamp = _utc(path, raw, "target_datetime_utc")
    basis = _dates(path, raw, "forecast_basis_date")
    temp = _numbers(path, raw, "temp_f")
    _bad_row(
        path,
        raw,
        (stamp.dt.minute != 0) | (stamp.dt.second != 0),
        "target_datetime_utc",
        "on the hour",
    )
    offset = timedelta(hours=get_city(city).std_utc_offset_hours)
    table = pd.DataFrame(
        {"basis": basis, "stamp": stamp, "day": (stamp + offset).dt.date, "temp": temp}
    )
    duplicated = table.duplicated(["basis", "stamp"], keep=False)
    clash = duplicated & ~table.duplicated(["basis", "stamp", "temp"], keep=False)
    _bad_row(path, raw, clash, "target_datetime_utc", "unique per basis date (two values)")
    table = table.drop_duplicates(["basis", "stamp"])
    missing = int(table["temp"].isna().sum())
    table = table.dropna(subset=["temp"])
    grouped = table.groupby(["basis", "day"], sort=True)["temp"]
    days = grouped.agg(["max", "min", "count"]).reset_index()
    complete = days["count"] == HOURS_PER_CLIMATE_DAY
    incomplete = int((~complete).sum())
    days = days[complete & (days["day"] >= days["basis"])]
    issued = _known_at_series(days["basis"], basis_date_known_at, city)
    parts = [
        _forecast_frame(city, kind, VC_SOURCE, VC_HOURLY_MODEL, issued, days["day"], days[stat])
        for kind, stat in (("high", "max"), ("low", "min"))
    ]
    frame = pd.concat(parts, ignore_index=True)
    return Converted(frame, len(raw), {"missing values": missing, "incomplete days": incomplete})


def noaa_guidance(path: Path, city: str = "CHI") -> Converted:
    """``noaa_guidance.csv.gz``: NBM/HRRR ``peak_window_max_f`` -> source ``noaa``, kind high.

    ``issued_at`` = ``run_datetime_utc`` + :data:`GUIDANCE_AVAILABILITY_DELAY` of the model.
    """
    city = resolve_city(city)
    raw = _read_csv(path, ("target_date", "model", "run_datetime_utc", "peak_window_max_f"))
    target = _dates(path, raw, "target_date")
    run = _utc(path, raw, "run_datetime_utc")
    model = raw["model"].str.strip().str.lower()
    _bad_row(
        path,
        raw,
        ~model.isin(list(GUIDANCE_AVAILABILITY_DELAY)),
        "model",
        f"one of {sorted(GUIDANCE_AVAILABILITY_DELAY)}",
    )
    value = _numbers(path, raw, "peak_window_max_f")
    _bad_row(
        path,
        raw,
        pd.to_datetime(target) <= run.dt.tz_localize(None),
        "target_date",
        "after the run",
    )
    issued = run + model.map(GUIDANCE_AVAILABILITY_DELAY)
    keep = value.notna()
    frame = _forecast_frame(city, "high", NOAA_SOURCE, "", issued[keep], target[keep], value[keep])
    frame["model"] = model[keep].to_numpy()
    frame = _dedupe(path, frame.reset_index(drop=True), ["model", "issued_at", "climate_date"])
    return Converted(frame, len(raw), {"missing values": int((~keep).sum())})


# -- reports -------------------------------------------------------------------------------------


def _report_frame(
    city_codes: pd.Series, kind: str, days: pd.Series, values: pd.Series
) -> pd.DataFrame:
    # report_known_at, vectorised: the next day at REPORT_KNOWN_HOUR_LOCAL_STD, local standard.
    offsets = city_codes.map(lambda c: get_city(c).std_utc_offset_hours).astype("int64")
    next_day = pd.to_datetime(days.astype(str), format="%Y-%m-%d") + pd.Timedelta(days=1)
    hours = pd.to_timedelta(REPORT_KNOWN_HOUR_LOCAL_STD - offsets, unit="h")
    issued = (next_day + hours.to_numpy()).dt.tz_localize(UTC)
    return pd.DataFrame(
        {
            "city": city_codes.to_numpy(),
            "kind": kind,
            "climate_date": days.to_numpy(),
            "value_f": _whole_degrees(values).to_numpy(),
            "final": True,
            "issued_at": issued,
        }
    )[list(REPORT_COLUMNS)]


def _whole_degrees(values: pd.Series) -> pd.Series:
    """Reports are whole °F; GHCN's tenths-of-°C round trip lands within 0.1 of one."""
    return np.floor(values + 0.5).astype("int64")


def settlements(path: Path, city: str) -> Converted:
    """``settlements.csv.gz``: ``tmax_final`` -> final high reports (:func:`report_known_at`)."""
    city = resolve_city(city)
    raw = _read_csv(path, ("date_local", "tmax_final"))
    days = _dates(path, raw, "date_local")
    value = _numbers(path, raw, "tmax_final")
    keep = value.notna()
    codes = pd.Series([city] * int(keep.sum()))
    frame = _report_frame(
        codes, "high", days[keep].reset_index(drop=True), value[keep].reset_index(drop=True)
    )
    frame = _dedupe(path, frame, ["city", "kind", "climate_date"])
    return Converted(frame, len(raw), {"missing values": int((~keep).sum())})


def ghcn_weather_daily(path: Path) -> Converted:
    """sameeres ``weather_daily.csv`` (GHCND ``tmax_f`` of KNYC and KMDW) -> final high reports.

    Up to 1 °F off the CLI (tenths of °C); rounded to whole °F.
    """
    raw = _read_csv(path, ("station_id", "obs_date", "tmax_f"))
    stations = raw["station_id"].str.strip()
    known = stations.map(lambda s: CITY_ALIASES.get(s))
    _bad_row(
        path,
        raw,
        known.isna(),
        "station_id",
        f"a known station {sorted(s for s in CITY_ALIASES if s.startswith('K'))}",
    )
    days = _dates(path, raw, "obs_date")
    value = _numbers(path, raw, "tmax_f")
    keep = value.notna()
    frame = _report_frame(
        known[keep].reset_index(drop=True), "high",
        days[keep].reset_index(drop=True), value[keep].reset_index(drop=True),
    )  # fmt: skip
    frame = _dedupe(path, frame, ["city", "kind", "climate_date"])
    return Converted(frame, len(raw), {"missing values": int((~keep).sum())})


def ghcn_central_park(path: Path, city: str = "NYC") -> Converted:
    """``NYC_Central_Park_weather_1869-2022.csv`` (GHCN USW00094728, °F) -> high/low reports."""
    city = resolve_city(city)
    raw = _read_csv(path, ("DATE", "TMAX", "TMIN"))
    days = _dates(path, raw, "DATE")
    parts, dropped = [], 0
    for kind, column in (("high", "TMAX"), ("low", "TMIN")):
        value = _numbers(path, raw, column)
        keep = value.notna()
        dropped += int((~keep).sum())
        codes = pd.Series([city] * int(keep.sum()))
        parts.append(
            _report_frame(
                codes, kind, days[keep].reset_index(drop=True), value[keep].reset_index(drop=True)
            )
        )
    frame = _dedupe(path, pd.concat(parts, ignore_index=True), ["city", "kind", "climate_date"])
    return Converted(frame, len(raw), {"missing values": dropped})


def _dedupe(path: Path, frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Exact duplicate rows collapse; two different values for one key are an error."""
    frame = frame.drop_duplicates()
    clash = frame.duplicated(key, keep=False)
    if clash.any():
        first = frame[clash].sort_values(key).head(2)
        raise ConvertError(f"{path}: conflicting values for one {key}: {first.to_dict('records')}")
    return frame.reset_index(drop=True)


# -- writing -------------------------------------------------------------------------------------


def to_csv_text(frame: pd.DataFrame) -> str:
    """``frame`` (forecast or report columns) as import CSV: ISO 8601 UTC instants, ``true``."""
    out = frame.copy()
    issued = pd.to_datetime(out["issued_at"], utc=True)
    out["issued_at"] = issued.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    out["climate_date"] = out["climate_date"].astype(str)
    if "final" in out:
        out["final"] = np.where(out["final"].astype(bool), "true", "false")
    if "member" in out:
        out["member"] = out["member"].astype("string").fillna("")
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, float_format="%.2f", lineterminator="\n")
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, out: Path) -> Path:
    """Write ``frame`` as import CSV to ``out`` (gzipped when it ends in ``.gz``), atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = to_csv_text(frame).encode()
    if out.suffix == ".gz":
        data = gzip.compress(data, compresslevel=5, mtime=0)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(data)
    partial.replace(out)
    return out


# -- the dev set ---------------------------------------------------------------------------------

VC_DIR = Path("forecasts") / "visualcrossing_halsted312"
VC_FOLDERS = ("chicago", "philadelphia", "los_angeles")
GHCN_WEATHER_DAILY = Path("kalshi") / "sameeres" / "weather_daily.csv"
GHCN_CENTRAL_PARK = Path("daily_temps") / "NYC_Central_Park_weather_1869-2022.csv"


def convert_dev_set(
    realdata: Path, out_dir: Path, log: Callable[[str], None] = print
) -> list[Path]:
    """Every converter on the shared dev set; returns the files written to ``out_dir``.

    Forecasts go to ``*_forecasts_*.csv.gz``, CLI-based reports to ``*_reports_cli.csv.gz``
    and GHCN climatology to ``reports_ghcn.csv.gz`` (Central Park's whole-°F file first, then
    sameeres' converted file; days a CLI file covers are left out so the CLI wins).

    Raises:
        ConvertError: If a file is missing or bad.
    """
    written: list[Path] = []

    def emit(converted: Converted, name: str) -> None:
        path = write_csv(converted.frame, out_dir / name)
        log(f"{path.name}: {converted.summary()}")
        written.append(path)

    cli_reports: list[pd.DataFrame] = []
    for folder in VC_FOLDERS:
        city = resolve_city(folder)
        base = realdata / VC_DIR / folder
        emit(
            visual_crossing_daily(base / "forecasts_daily.csv.gz", city),
            f"{city}_forecasts_vc_daily.csv.gz",
        )
        emit(
            visual_crossing_hourly(base / "forecasts_hourly.csv.gz", city),
            f"{city}_forecasts_vc_hourly.csv.gz",
        )
        if (base / "noaa_guidance.csv.gz").exists():
            emit(
                noaa_guidance(base / "noaa_guidance.csv.gz", city), f"{city}_forecasts_noaa.csv.gz"
            )
        settled = settlements(base / "settlements.csv.gz", city)
        cli_reports.append(settled.frame)
        emit(settled, f"{city}_reports_cli.csv.gz")
    central = ghcn_central_park(realdata / GHCN_CENTRAL_PARK)
    converted = ghcn_weather_daily(realdata / GHCN_WEATHER_DAILY)
    ghcn = _prefer_first([*cli_reports, central.frame, converted.frame], skip=len(cli_reports))
    emit(
        Converted(
            ghcn,
            central.source_rows + converted.source_rows,
            {"covered by a better source": (len(central.frame) + len(converted.frame) - len(ghcn))},
        ),
        "reports_ghcn.csv.gz",
    )
    return written


def _prefer_first(frames: list[pd.DataFrame], skip: int) -> pd.DataFrame:
    """Rows of ``frames[skip:]`` whose (city, kind, date) no earlier frame has."""
    key = ["city", "kind", "climate_date"]
    combined = pd.concat(frames, ignore_index=True).drop_duplicates(key, keep="first")
    first_own_row = sum(len(f) for f in frames[:skip])
    return combined[combined.index >= first_own_row].reset_index(drop=True)


# -- command line --------------------------------------------------------------------------------

CONVERTERS: dict[str, tuple[str, Callable[..., Converted], bool]] = {
    "vc-daily": (
        "Visual Crossing forecasts_daily.csv.gz -> forecasts",
        visual_crossing_daily,
        True,
    ),
    "vc-hourly": (
        "Visual Crossing forecasts_hourly.csv.gz -> forecasts",
        visual_crossing_hourly,
        True,
    ),
    "noaa-guidance": ("NBM/HRRR noaa_guidance.csv.gz -> forecasts", noaa_guidance, True),
    "settlements": ("settlements.csv.gz (CLI highs) -> reports", settlements, True),
    "ghcn-weather-daily": (
        "sameeres weather_daily.csv (GHCND TMAX) -> reports",
        ghcn_weather_daily,
        False,
    ),
    "ghcn-central-park": (
        "NYC_Central_Park_weather_1869-2022.csv -> reports",
        ghcn_central_park,
        True,
    ),
}


def add_convert_arguments(history_subparsers: Any) -> None:
    """Add ``convert <kind>`` to the ``history`` sub-command's subparsers."""
    convert = history_subparsers.add_parser(
        "convert",
        help="convert recorded real-data files into the history import CSV formats",
        description="Convert recorded files into the forecasts/reports CSVs of `history import` "
        "(see docs/history.md for each converter's issued_at rule).",
    )
    kinds = convert.add_subparsers(dest="convert_kind", required=True, metavar="KIND")
    for name, (summary, _, takes_city) in CONVERTERS.items():
        parser = kinds.add_parser(name, help=summary, description=summary)
        if takes_city:
            parser.add_argument(
                "--city",
                required=name != "ghcn-central-park",
                default="NYC",
                help="our city code (CHI) or the data's folder name (chicago)",
            )
        parser.add_argument("--out", required=True, type=Path, help="output CSV (.csv or .csv.gz)")
        parser.add_argument("input", type=Path, help="the file to convert")
    dev = kinds.add_parser(
        "dev-set",
        help="convert every dev-set file of ../shared/realdata into DIR",
        description="Write every converter's output for the shared dev set into DIR; then "
        "`history import --forecasts DIR/*forecasts*.csv.gz --reports DIR/*reports*.csv.gz`.",
    )
    dev.add_argument("--shared", type=Path, default=Path("../shared/realdata"),
                     help="the real-data folder (default ../shared/realdata)")  # fmt: skip
    dev.add_argument("--out", required=True, type=Path, help="output directory")
    _add_live_arguments(kinds)


def _add_live_arguments(kinds: Any) -> None:
    """``kalshi-api`` and ``visual-crossing-api``: the live services into import files."""
    kalshi = kinds.add_parser(
        "kalshi-api",
        help="fetch settled events and their trades from Kalshi into import files",
        description="Fetch each series' settled events (markets nested) and every trade into "
        "OUT/events/*.json and OUT/trades/*.json (public data, no key); a rerun skips events "
        "already written. Then `history import --events OUT/events --trades OUT/trades`.",
    )
    kalshi.add_argument("--series", nargs="+", required=True, help="e.g. KXHIGHCHI KXHIGHNY")
    kalshi.add_argument("--from", dest="start", type=date.fromisoformat, help="first climate day")
    kalshi.add_argument("--to", dest="end", type=date.fromisoformat, help="last climate day")
    kalshi.add_argument(
        "--api-url", help=f"REST base (default KALSHI_API_URL, else {PROD_BASE_URL})"
    )
    kalshi.add_argument("--no-trades", action="store_true", help="events only")
    kalshi.add_argument("--out", required=True, type=Path, help="output directory")
    vc = kinds.add_parser(
        "visual-crossing-api",
        help="fetch Visual Crossing historical forecasts (VISUAL_CROSSING_API_KEY) into a CSV",
        description="One Timeline request per basis date (forecastBasisDate), leads 0-6, as "
        "models timeline and timeline-hourly; issued_at = end of the basis date (LST).",
    )
    vc.add_argument("--city", required=True, help="our city code")
    vc.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    vc.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    vc.add_argument("--out", required=True, type=Path, help="output CSV (.csv or .csv.gz)")


def _run_kalshi_api(settings: Any, args: argparse.Namespace) -> int:
    url = args.api_url or getattr(settings, "kalshi_api_url", None) or PROD_BASE_URL
    events = trades = 0
    with KalshiClient(url) as client:
        history = KalshiHistory(client)
        for series in args.series:
            for found in history.backfill(
                series, args.start, args.end, with_trades=not args.no_trades,
                skip=already_written(args.out),
            ):  # fmt: skip
                write_import_files(found, args.out)
                events, trades = events + 1, trades + len(found.trades)
    print(f"wrote {events} events and {trades} trades to {args.out}")
    return 0


def _run_visual_crossing_api(settings: Any, args: argparse.Namespace) -> int:
    key = getattr(settings, "visual_crossing_api_key", None)
    user_agent = getattr(settings, "user_agent", "")
    if key is None or not user_agent.strip():
        raise ConvertError(
            "set VISUAL_CROSSING_API_KEY and WEATHER_TRADER_USER_AGENT (app and contact)"
        )
    city = resolve_city(args.city)
    client = VisualCrossingClient(key.get_secret_value(), user_agent)
    try:
        points = client.history(city, args.start, args.end)
    finally:
        client.close()
    frame = pd.DataFrame(
        [{c: getattr(p, c) for c in FORECAST_COLUMNS} for p in points], columns=FORECAST_COLUMNS
    )
    frame["member"] = frame["member"].astype("Int64")
    frame["issued_at"] = pd.to_datetime(frame["issued_at"], utc=True)
    write_csv(frame, args.out)
    print(f"{args.out}: {len(frame)} rows")
    return 0


def run_convert(settings: Any, args: argparse.Namespace) -> int:
    """Run ``history convert``; 0 on success, 1 with a message on bad input or a failed fetch."""
    try:
        if args.convert_kind == "kalshi-api":
            return _run_kalshi_api(settings, args)
        if args.convert_kind == "visual-crossing-api":
            return _run_visual_crossing_api(settings, args)
        if args.convert_kind == "dev-set":
            if not args.shared.is_dir():
                raise ConvertError(f"{args.shared}: no such directory (pass --shared)")
            written = convert_dev_set(args.shared, args.out)
            print(f"wrote {len(written)} files to {args.out}")
            return 0
        _, convert, takes_city = CONVERTERS[args.convert_kind]
        converted = convert(args.input, args.city) if takes_city else convert(args.input)
        write_csv(converted.frame, args.out)
        print(f"{args.out}: {converted.summary()}")
        return 0
    except (ConvertError, KalshiError, WeatherSourceError, OSError) as exc:
        print(f"history convert: {exc}", file=sys.stderr)
        return 1

"""Converters of the recorded real-data files into the history import formats.

Real files are read through ``shared_data`` (skipped without ../shared); the validation and
issued_at rules are also pinned on small synthetic files so they run everywhere.
"""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from weather_trader.history.convert import (
    FORECAST_COLUMNS,
    REPORT_COLUMNS,
    ConvertError,
    basis_date_known_at,
    convert_dev_set,
    ghcn_central_park,
    ghcn_weather_daily,
    noaa_guidance,
    report_known_at,
    resolve_city,
    settlements,
    visual_crossing_daily,
    visual_crossing_hourly,
    write_csv,
)
from weather_trader_tests.shared_data import require_realdata

VC = ("forecasts", "visualcrossing_halsted312")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- instants ------------------------------------------------------------------------------------


def test_basis_date_is_known_at_the_end_of_the_date_in_standard_time() -> None:
    # Summer or winter, the end of the basis date is midnight LST: 06:00Z in Chicago.
    assert basis_date_known_at("CHI", date(2024, 5, 9)) == datetime(2024, 5, 10, 6, tzinfo=UTC)
    assert basis_date_known_at("CHI", date(2024, 1, 9)) == datetime(2024, 1, 10, 6, tzinfo=UTC)
    assert basis_date_known_at("LAX", date(2024, 7, 1)) == datetime(2024, 7, 2, 8, tzinfo=UTC)


def test_reports_are_known_the_next_morning_local_standard_time() -> None:
    assert report_known_at("CHI", date(2024, 5, 10)) == datetime(2024, 5, 11, 15, tzinfo=UTC)
    assert report_known_at("NYC", date(2024, 5, 10)) == datetime(2024, 5, 11, 14, tzinfo=UTC)


def test_city_aliases() -> None:
    assert [resolve_city(n) for n in ("chicago", "KMDW", "KNYC", "los_angeles", "phl")] == [
        "CHI", "CHI", "NYC", "LAX", "PHL",
    ]  # fmt: skip
    with pytest.raises(ConvertError, match="unknown city"):
        resolve_city("gotham")


# -- synthetic files: rules and validation -------------------------------------------------------

DAILY_HEADER = "target_date,forecast_basis_date,lead_days,tempmax_f,tempmin_f\n"


def test_vc_daily_rows_and_issued_at(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", DAILY_HEADER + "2024-05-10,2024-05-09,1,71.5,50.2\n"
                  "2024-05-10,2024-05-10,0,72.0,\n")  # fmt: skip
    out = visual_crossing_daily(path, "chicago")
    frame = out.frame
    assert tuple(frame.columns) == FORECAST_COLUMNS
    lead1 = frame[(frame.kind == "high") & (frame.value_f == 71.5)].iloc[0]
    assert lead1.issued_at == pd.Timestamp("2024-05-10T06:00Z")
    assert (lead1.city, lead1.source, lead1.model) == ("CHI", "visualcrossing", "timeline")
    assert pd.isna(lead1.member) and lead1.climate_date == date(2024, 5, 10)
    assert len(frame) == 3 and out.dropped == {"missing values": 1}


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("2024-05-10,2024-05-09,2,71.5,50.2", r"d.csv:2: lead_days"),
        ("2024-13-10,2024-05-09,1,71.5,50.2", r"d.csv:2: target_date '2024-13-10' is not a date"),
        ("2024-05-10,2024-05-09,1,warm,50.2", r"d.csv:2: tempmax_f 'warm' is not a number"),
        ("2024-05-10,2024-05-09,1,inf,50.2", r"d.csv:2: tempmax_f 'inf' is not a finite"),
    ],
)
def test_vc_daily_bad_rows_name_file_and_line(tmp_path: Path, row: str, match: str) -> None:
    path = _write(tmp_path / "d.csv", DAILY_HEADER + row + "\n")
    with pytest.raises(ConvertError, match=match):
        visual_crossing_daily(path, "CHI")


def test_missing_columns_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="missing columns"):
        visual_crossing_daily(_write(tmp_path / "x.csv", "a,b\n1,2\n"), "CHI")
    with pytest.raises(ConvertError, match="no such file"):
        settlements(tmp_path / "nope.csv", "CHI")


def _hourly_rows(basis: str, start_utc: str, hours: int, base: float = 50.0) -> str:
    stamps = pd.date_range(start_utc, periods=hours, freq="h", tz="UTC")
    return "".join(
        f"{s:%Y-%m-%d %H:%M:%S},{s.isoformat()},{basis},{base + i % 24}\n"
        for i, s in enumerate(stamps)
    )


def test_vc_hourly_climate_day_is_lst_and_complete_only(tmp_path: Path) -> None:
    header = "target_datetime_local,target_datetime_utc,forecast_basis_date,temp_f\n"
    # Chicago climate day 2024-05-10 = 2024-05-10T06Z .. 2024-05-11T06Z; the file starts at
    # 05Z (local daylight midnight), so 2024-05-09 has one hour only (dropped) and the last
    # day stops one hour short (dropped).
    rows = _hourly_rows("2024-05-09", "2024-05-10T05:00Z", 48)
    out = visual_crossing_hourly(_write(tmp_path / "h.csv", header + rows), "CHI")
    frame = out.frame
    assert sorted(set(frame.climate_date)) == [date(2024, 5, 10)]
    high = frame[frame.kind == "high"].iloc[0]
    low = frame[frame.kind == "low"].iloc[0]
    # Hours 06Z..05Z next day: values base + 1 .. base + 23 and base + 0 (the 05Z of day 2).
    assert (high.value_f, low.value_f) == (73.0, 50.0)
    assert high.model == "timeline-hourly"
    assert high.issued_at == pd.Timestamp("2024-05-10T06:00Z")
    assert out.dropped["incomplete days"] == 2


def test_vc_hourly_conflicting_duplicate_is_an_error(tmp_path: Path) -> None:
    header = "target_datetime_local,target_datetime_utc,forecast_basis_date,temp_f\n"
    rows = "x,2024-05-10T06:00:00+00:00,2024-05-09,50\nx,2024-05-10T06:00:00+00:00,2024-05-09,51\n"
    with pytest.raises(ConvertError, match=r"h.csv:2: .*unique per basis date"):
        visual_crossing_hourly(_write(tmp_path / "h.csv", header + rows), "CHI")


def test_noaa_guidance_availability_delay(tmp_path: Path) -> None:
    text = (
        "target_date,model,run_datetime_utc,peak_window_max_f,timezone\n"
        "2024-05-10,hrrr,2024-05-09 12:00:00+00:00,70.1,America/Chicago\n"
        "2024-05-10,nbm,2024-05-09 12:00:00+00:00,71.63,America/Chicago\n"
    )
    frame = noaa_guidance(_write(tmp_path / "g.csv", text), "CHI").frame
    assert set(frame.model) == {"hrrr", "nbm"} and set(frame.source) == {"noaa"}
    assert set(frame.kind) == {"high"}
    assert set(frame.issued_at) == {pd.Timestamp("2024-05-09T14:00Z")}
    bad = text.replace("nbm,", "gfs,")
    with pytest.raises(ConvertError, match=r"g.csv:3: model 'gfs'"):
        noaa_guidance(_write(tmp_path / "g.csv", bad), "CHI")


def test_reports_are_whole_degrees_and_final(tmp_path: Path) -> None:
    text = (
        '"station_id","city_key","obs_date","tmax_c","tmax_f"\n'
        '"KMDW","chicago","2015-01-02",2.2,35.96\n"KNYC","nyc","2015-01-02",-0.6,30.92\n'
    )
    frame = ghcn_weather_daily(_write(tmp_path / "w.csv", text)).frame
    assert tuple(frame.columns) == REPORT_COLUMNS
    assert frame[["city", "value_f"]].values.tolist() == [["CHI", 36], ["NYC", 31]]
    assert frame.final.all()
    with pytest.raises(ConvertError, match=r"w.csv:2: station_id 'KXYZ'"):
        ghcn_weather_daily(_write(tmp_path / "w.csv", text.replace("KMDW", "KXYZ")))


def test_conflicting_reports_are_an_error(tmp_path: Path) -> None:
    text = "date_local,tmax_final\n2024-01-01,40\n2024-01-01,41\n"
    with pytest.raises(ConvertError, match="conflicting values"):
        settlements(_write(tmp_path / "s.csv", text), "CHI")


def test_write_csv_gzip_round_trip(tmp_path: Path) -> None:
    text = "date_local,tmax_final\n2024-01-01,40\n"
    frame = settlements(_write(tmp_path / "s.csv", text), "CHI").frame
    out = write_csv(frame, tmp_path / "out" / "r.csv.gz")
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert lines == [
        "city,kind,climate_date,value_f,final,issued_at",
        "CHI,high,2024-01-01,40,true,2024-01-02T15:00:00+00:00",
    ]


# -- the real files ------------------------------------------------------------------------------


def test_vc_daily_real_chicago_lead1_issued_at() -> None:
    path = require_realdata(*VC, "chicago", "forecasts_daily.csv.gz")
    frame = visual_crossing_daily(path, "chicago").frame
    rows = frame[(frame.climate_date == date(2024, 5, 10)) & (frame.kind == "high")]
    # Leads 0-6: issued at the end of each basis date 2024-05-04 .. 2024-05-10 (LST).
    assert sorted(rows.issued_at) == [pd.Timestamp(f"2024-05-{d:02d}T06:00Z") for d in range(5, 12)]
    assert pd.Timestamp("2024-05-10T06:00Z") in set(rows.issued_at)  # lead 1


def test_vc_hourly_real_files_use_the_utc_stamp() -> None:
    # Philadelphia's target_datetime_local is really UTC: the hourly max sits in the afternoon
    # only when read from target_datetime_utc, and so agrees with the daily max.
    base = require_realdata(*VC, "philadelphia")
    hourly = visual_crossing_hourly(base / "forecasts_hourly.csv.gz", "PHL").frame
    daily = visual_crossing_daily(base / "forecasts_daily.csv.gz", "PHL").frame
    key = ["kind", "issued_at", "climate_date"]
    both = hourly.merge(daily, on=key, suffixes=("_h", "_d"))
    assert len(both) > 10_000
    high = both[both.kind == "high"]
    assert (high.value_f_h - high.value_f_d).abs().median() < 0.5


def test_settlements_and_ghcn_agree_at_midway() -> None:
    cli = settlements(require_realdata(*VC, "chicago", "settlements.csv.gz"), "CHI").frame
    ghcn = ghcn_weather_daily(require_realdata("kalshi", "sameeres", "weather_daily.csv")).frame
    both = cli.merge(ghcn, on=["city", "kind", "climate_date"])
    assert len(both) > 1000
    diff = (both.value_f_x - both.value_f_y).abs()
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_central_park_high_and_low() -> None:
    frame = ghcn_central_park(
        require_realdata("daily_temps", "NYC_Central_Park_weather_1869-2022.csv")
    ).frame
    first = frame[frame.climate_date == date(1869, 1, 1)].set_index("kind").value_f.to_dict()
    assert first == {"high": 29, "low": 19}


def test_dev_set_writes_every_file(tmp_path: Path) -> None:
    realdata = require_realdata()
    written = convert_dev_set(realdata, tmp_path, log=lambda _m: None)
    names = {p.name for p in written}
    assert {"CHI_forecasts_vc_daily.csv.gz", "CHI_forecasts_vc_hourly.csv.gz",
            "CHI_forecasts_noaa.csv.gz", "CHI_reports_cli.csv.gz", "LAX_reports_cli.csv.gz",
            "reports_ghcn.csv.gz"} <= names  # fmt: skip
    ghcn = pd.read_csv(tmp_path / "reports_ghcn.csv.gz")
    cli = pd.read_csv(tmp_path / "CHI_reports_cli.csv.gz")
    overlap = ghcn.merge(cli, on=["city", "kind", "climate_date"])
    assert overlap.empty  # the CLI wins where both exist
    assert set(ghcn.city) == {"NYC", "CHI"}

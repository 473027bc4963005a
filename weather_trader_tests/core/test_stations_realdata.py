"""The station table against the real recorded data in ``../shared/realdata``.

Every check here reads a real file (and skips with the reason when it is absent), except the
time-zone ones, which read the IANA database: each city's fixed standard offset must be its
zone's January offset, and Phoenix must not observe daylight time.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from weather_trader.core.cities import (
    CITIES,
    RECORD_MARGIN_F,
    GridPoint,
    city_for_cli,
    city_for_station,
    get_city,
)
from weather_trader.sources.cli_report import parse_cli, section_key
from weather_trader_tests.shared_data import require_realdata

COORD_TOLERANCE_DEG = 0.05
"""Station coordinates agree with the real metadata within ~5 km (sources round differently)."""
HISTORY_538 = ("daily_temps", "fivethirtyeight_us_weather_history")
CLI_DIR = ("nws_products", "pyIEM_product_examples", "CLI")


@pytest.mark.parametrize("code", sorted(CITIES))
def test_standard_offset_is_the_zones_january_offset(code: str) -> None:
    city = get_city(code)
    january = datetime(2026, 1, 15, 12, tzinfo=ZoneInfo(city.tz_name)).utcoffset()
    assert january is not None and january.total_seconds() == city.std_utc_offset_hours * 3600


def test_phoenix_has_no_daylight_time() -> None:
    zone = ZoneInfo(get_city("PHX").tz_name)
    offsets = {datetime(2026, m, 15, 12, tzinfo=zone).utcoffset() for m in range(1, 13)}
    assert len(offsets) == 1
    # ... while every other city's zone does shift in July (so the check above can fail).
    for city in CITIES.values():
        if city.code != "PHX":
            zone = ZoneInfo(city.tz_name)
            jul = datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset()
            assert jul != datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset(), city.code


def _history_files() -> list[Path]:
    folder = require_realdata(*HISTORY_538)
    return sorted(
        p for p in folder.glob("K*.csv") if p.stem in {c.station for c in CITIES.values()}
    )


def test_records_bracket_every_recorded_extreme_of_the_538_history() -> None:
    files = _history_files()
    # KNYC, KMDW, KPHL, KPHX, KHOU and KSEA are there; a missing one would weaken the check.
    assert {p.stem for p in files} >= {"KNYC", "KMDW", "KPHL", "KPHX", "KHOU", "KSEA"}
    for path in files:
        city = city_for_station(path.stem)
        history = pd.read_csv(path)
        highest = max(history.record_max_temp.max(), history.actual_max_temp.max())
        lowest = min(history.record_min_temp.min(), history.actual_min_temp.min())
        low, high = city.plausible_range_f(margin_f=0)
        assert low <= lowest and highest <= high, (city.code, lowest, highest)
        # The records are the station's, not a loose bound: the day records reach them
        # within the margin (KSEA's 2021 108 F is newer than the file's 103 F).
        assert high - highest <= RECORD_MARGIN_F and lowest - low <= RECORD_MARGIN_F, city.code


@pytest.mark.parametrize(
    ("product", "code"), [("CLIDCA", "DC"), ("CLIHOU", "HOU"), ("CLINYC", "NYC")]
)
def test_real_cli_products_name_the_section_we_store(product: str, code: str) -> None:
    text = require_realdata(*CLI_DIR, f"{product}.txt").read_text()
    sections = parse_cli(text)
    assert city_for_cli(product) == [get_city(code)]
    # Printed exactly as we store it (the selection itself also tolerates spacing and case).
    ours = [r for r in sections if r.station_name == get_city(code).cli_section]
    assert len(ours) == 1 and ours[0].product == product
    assert [section_key(r.station_name) for r in sections].count(
        section_key(get_city(code).cli_section)
    ) == 1


def test_nws_points_give_nycs_grid_cell_and_station() -> None:
    points = json.loads(require_realdata("nws_api", "tMer234", "points_nyc.json").read_text())
    props = points["properties"]
    nyc = get_city("NYC")
    assert GridPoint(props["gridId"], props["gridX"], props["gridY"]) == nyc.grid
    assert props["gridId"] == nyc.nws_office
    lon, lat = points["geometry"]["coordinates"]
    assert abs(lat - nyc.lat) < COORD_TOLERANCE_DEG and abs(lon - nyc.lon) < COORD_TOLERANCE_DEG


def _assert_near(code: str, lat: float, lon: float) -> None:
    city = get_city(code)
    assert abs(lat - city.lat) < COORD_TOLERANCE_DEG, (code, lat, city.lat)
    assert abs(lon - city.lon) < COORD_TOLERANCE_DEG, (code, lon, city.lon)


def test_station_metadata_coordinates() -> None:
    station = json.loads(require_realdata("nws_api", "breezy", "sta_KNYC.json").read_text())
    assert station["properties"]["stationIdentifier"] == "KNYC"
    lon, lat = station["geometry"]["coordinates"]
    _assert_near("NYC", lat, lon)


def test_metar_coordinates_of_registry_stations() -> None:
    path = require_realdata("metar", "adds_metars_us_2018-01-09T2248Z.json")
    metars = json.loads(path.read_text())["data"]["METAR"]
    stations = {c.station for c in CITIES.values()}
    seen = set()
    for metar in metars:
        if metar["station_id"] in stations:
            city = city_for_station(metar["station_id"])
            _assert_near(city.code, float(metar["latitude"]), float(metar["longitude"]))
            seen.add(city.code)
    assert {"LAX", "MSY"} <= seen


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        (("daily_temps", "normals", "NOAA_normals_1991-2020_daily_USW00094728.csv"), "NYC"),
        (("daily_temps", "normals", "NOAA_Normals_DLY_1991-2020_sample.csv"), "ATL"),
    ],
)
def test_normals_station_coordinates(relative: tuple[str, ...], code: str) -> None:
    with require_realdata(*relative).open() as fh:
        row = next(csv.DictReader(fh))
    _assert_near(code, float(row["LATITUDE"]), float(row["LONGITUDE"]))


def _rules_texts() -> dict[str, list[str]]:
    """``rules_primary`` of every recorded Kalshi market, by series ticker."""
    kalshi = require_realdata("kalshi")
    texts: dict[str, list[str]] = {}
    files = [
        *sorted((kalshi / "cpratim" / "events").glob("*/*.json")),
        *sorted((kalshi / "tMer234_trimmed").glob("*.json")),
    ]
    for path in files:
        for market in json.loads(path.read_text()).get("markets", []):
            rules = market.get("rules_primary")
            if rules:
                series = market["ticker"].split("-")[0].upper()
                texts.setdefault(series.removeprefix("KX"), []).append(rules)
    return texts


def test_kalshi_rules_name_the_station_by_our_rules_names() -> None:
    texts = _rules_texts()
    assert {"HIGHNY", "HIGHCHI"} <= set(texts)
    checked = 0
    for series, rules in texts.items():
        city = next(c for c in CITIES.values() if c.high_series.removeprefix("KX") == series)
        for text in rules:
            named = {
                c.code for c in CITIES.values() if any(n in text.lower() for n in c.rules_names)
            }
            assert named == {city.code}, (series, text)
            checked += 1
    # The original series name the station itself, not only the city.
    assert any(get_city("CHI").rules_names[0] in t.lower() for t in texts["HIGHCHI"])
    assert any(get_city("NYC").rules_names[0] in t.lower() for t in texts["HIGHNY"])
    assert checked > 1000

"""The city registry: stations, series and the records behind the impossible-value check."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from weather_trader.core.cities import (
    CITIES,
    GRID_VERIFIED,
    UnknownCityError,
    city_for_cli,
    city_for_series,
    city_for_station,
    event_ticker,
    get_city,
    outside_records,
    parse_event_ticker,
)
from weather_trader_tests.shared_data import require_realdata


def test_stations_are_the_settlement_stations() -> None:
    assert get_city("CHI").station == "KMDW"  # Midway, not O'Hare
    assert get_city("AUS").station == "KAUS"  # Bergstrom, not Camp Mabry
    assert city_for_series("HIGHNY") == (get_city("NYC"), "high")
    assert city_for_series("KXLOWTPHIL") == (get_city("PHL"), "low")
    assert get_city("HOU").station == "KHOU"  # Hobby, not Intercontinental (KIAH)
    assert get_city("HOU").cli_section == "HOUSTON/HOBBY AIRPORT"  # CLIHOU's second section
    assert city_for_series("KXHIGHTSEA") == (get_city("SEA"), "high")
    assert city_for_series("KXLOWTLV") == (get_city("LAS"), "low")
    with pytest.raises(UnknownCityError):
        city_for_series("KXHIGHTXYZ")


def test_registry_covers_every_kalshi_city_once() -> None:
    original = ["NYC", "CHI", "MIA", "AUS", "LAX", "DEN", "PHL"]
    newer = ["ATL", "BOS", "DAL", "DC", "HOU", "LAS", "MSP", "MSY", "OKC", "PHX", "SAT", "SEA"]
    assert list(CITIES) == [*original, *newer, "SFO"]  # the original seven keep their order
    for field in ("station", "cli_product", "high_series", "low_series", "cli_section"):
        values = [getattr(c, field) for c in CITIES.values()]
        assert len(set(values)) == len(values), field
    for city in CITIES.values():
        assert city.code == city.code.upper() and city.station == f"K{city.cli_product[3:]}"
        assert city.grid.office == city.nws_office
        assert city.rules_names and all(n == n.lower().strip() for n in city.rules_names)
        assert city.cli_section == " ".join(city.cli_section.upper().split())
        if city.code not in original:
            suffix = city.high_series.removeprefix("KXHIGHT")
            assert city.low_series == f"KXLOWT{suffix}", city.code
    assert set(CITIES) >= GRID_VERIFIED


def test_station_and_cli_lookups() -> None:
    assert city_for_station("KHOU") is get_city("HOU")
    assert city_for_station(" kmdw ") is get_city("CHI")
    with pytest.raises(UnknownCityError):
        city_for_station("KIAH")  # Houston Intercontinental settles nothing
    assert city_for_cli("CLIHOU") == [get_city("HOU")]
    assert city_for_cli("clidca") == [get_city("DC")]
    assert city_for_cli("CLISEW") == []  # Seattle's WFO product, not Sea-Tac's CLISEA
    for city in CITIES.values():
        assert city_for_station(city.station) is city and city in city_for_cli(city.cli_product)


def test_phoenix_keeps_standard_time_all_year() -> None:
    phx = get_city("PHX")
    assert (phx.std_utc_offset_hours, phx.tz_name) == (-7, "America/Phoenix")


def test_central_park_records_match_155_years_of_ghcn() -> None:
    daily = pd.read_csv(require_realdata("daily_temps", "NYC_Central_Park_weather_1869-2022.csv"))
    nyc = get_city("NYC")
    assert (nyc.record_high_f, nyc.record_low_f) == (daily.TMAX.max(), daily.TMIN.min())


@pytest.mark.parametrize(("city", "station"), [("NYC", "KNYC"), ("CHI", "KMDW"), ("PHL", "KPHL")])
def test_records_cover_the_recorded_station_extremes(city: str, station: str) -> None:
    path = require_realdata("daily_temps", "fivethirtyeight_us_weather_history", f"{station}.csv")
    history = pd.read_csv(path)
    low, high = get_city(city).plausible_range_f(margin_f=0)
    assert low <= history.record_min_temp.min() and history.record_max_temp.max() <= high


def test_plausible_range_adds_the_margin_on_both_sides() -> None:
    for city in CITIES.values():
        low, high = city.plausible_range_f()
        assert low == city.record_low_f - 10 and high == city.record_high_f + 10
        assert city.record_low_f < city.record_high_f


def test_outside_records_flags_only_impossible_values() -> None:
    assert outside_records("MIA", [16.5, 17.0, 75.0, 110.0, 110.5]) == [16.5, 110.5]
    with pytest.raises(UnknownCityError):
        outside_records("XXX", [50.0])


def test_event_tickers_round_trip() -> None:
    assert event_ticker("KXHIGHNY", date(2026, 11, 27)) == "KXHIGHNY-26NOV27"
    assert parse_event_ticker("KXLOWTCHI-26JAN05-B11.5") == ("KXLOWTCHI", date(2026, 1, 5))
    assert parse_event_ticker("HIGHNY-24AUG16") == ("HIGHNY", date(2024, 8, 16))
    for bad in ("KXHIGHNY", "KXHIGHNY-26XYZ27", "KXHIGHNY-2611270"):
        with pytest.raises(ValueError, match="not a Kalshi"):
            parse_event_ticker(bad)

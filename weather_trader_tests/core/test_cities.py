"""The city registry: stations, series and the records behind the impossible-value check."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from weather_trader.core.cities import (
    CITIES,
    UnknownCityError,
    city_for_series,
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
    with pytest.raises(UnknownCityError):
        city_for_series("KXHIGHTSEA")


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

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from weather_trader.core.cities import CITIES, UnknownCityError
from weather_trader.core.climate_day import (
    ClimateDayError,
    climate_date_of,
    climate_day_window,
    decision_time,
    final_report_expected_at,
    hours_elapsed,
    in_pipeline_order,
    lead_days,
    pipeline_as_of,
)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("city", "day", "start"),
    [
        ("NYC", date(2026, 7, 4), _utc(2026, 7, 4, 5)),  # summer: 01:00 EDT
        ("NYC", date(2026, 1, 15), _utc(2026, 1, 15, 5)),  # winter: 00:00 EST
        ("NYC", date(2026, 3, 8), _utc(2026, 3, 8, 5)),  # DST starts that day
        ("NYC", date(2026, 11, 1), _utc(2026, 11, 1, 5)),  # DST ends that day
        ("CHI", date(2026, 7, 4), _utc(2026, 7, 4, 6)),
        ("AUS", date(2026, 7, 4), _utc(2026, 7, 4, 6)),
        ("DEN", date(2026, 7, 4), _utc(2026, 7, 4, 7)),
        ("LAX", date(2026, 7, 4), _utc(2026, 7, 4, 8)),
        ("LAX", date(2026, 12, 31), _utc(2026, 12, 31, 8)),
    ],
)
def test_climate_day_window(city: str, day: date, start: datetime) -> None:
    got_start, got_end = climate_day_window(city, day)
    assert got_start == start
    assert got_end == start + timedelta(days=1)  # always 24 h, even on DST change days
    assert got_start.tzinfo is not None and got_start.utcoffset() == timedelta(0)


def test_summer_window_is_one_am_local_clock() -> None:
    start, end = climate_day_window("NYC", date(2026, 7, 4))
    local = start.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour) == (date(2026, 7, 4), 1)
    assert end.astimezone(ZoneInfo("America/New_York")).hour == 1


def test_every_city_window_uses_standard_offset() -> None:
    for code, city in CITIES.items():
        start, _ = climate_day_window(code, date(2026, 6, 21))
        assert start == _utc(2026, 6, 21) - timedelta(hours=city.std_utc_offset_hours)


def test_climate_date_of_boundaries() -> None:
    # 04:59:59Z on Jul 5 is 23:59:59 EST Jul 4 -> still Jul 4; 05:00Z starts Jul 5.
    assert climate_date_of("NYC", _utc(2026, 7, 5, 4, 59, 59)) == date(2026, 7, 4)
    assert climate_date_of("NYC", _utc(2026, 7, 5, 5)) == date(2026, 7, 5)
    # 00:30 EDT on Jul 5 local clock still belongs to Jul 4's climate day.
    edt = datetime(2026, 7, 5, 0, 30, tzinfo=ZoneInfo("America/New_York"))
    assert climate_date_of("NYC", edt) == date(2026, 7, 4)
    assert climate_date_of("LAX", _utc(2026, 7, 5, 7, 59)) == date(2026, 7, 4)
    assert climate_date_of("LAX", _utc(2026, 7, 5, 8)) == date(2026, 7, 5)


def test_window_and_date_agree() -> None:
    for code in CITIES:
        for day in (date(2026, 3, 8), date(2026, 7, 4), date(2026, 11, 1)):
            start, end = climate_day_window(code, day)
            assert climate_date_of(code, start) == day
            assert climate_date_of(code, end - timedelta(microseconds=1)) == day
            assert climate_date_of(code, end) == day + timedelta(days=1)


def test_decision_time() -> None:
    # 10:00 EST on Jul 3 = 15:00Z, regardless of DST.
    assert decision_time("NYC", date(2026, 7, 4)) == _utc(2026, 7, 3, 15)
    assert decision_time("NYC", date(2026, 1, 1)) == _utc(2025, 12, 31, 15)
    assert decision_time("LAX", date(2026, 7, 4)) == _utc(2026, 7, 3, 18)
    assert decision_time("DEN", date(2026, 3, 1)) == _utc(2026, 2, 28, 17)
    assert decision_time("NYC", date(2026, 7, 4)).tzinfo is not None


def test_pipeline_as_of_live_and_replay() -> None:
    day = date(2026, 7, 4)
    _, end = climate_day_window("NYC", day)
    live = _utc(2026, 7, 4, 12)
    assert pipeline_as_of("NYC", day, live) == live
    before = _utc(2026, 7, 1)
    assert pipeline_as_of("NYC", day, before) == before  # future day: still live
    last = end - timedelta(seconds=1)
    assert pipeline_as_of("NYC", day, last) == last
    # At or after the end of the day: replay from the decision time, no look-ahead.
    assert pipeline_as_of("NYC", day, end) == decision_time("NYC", day)
    assert pipeline_as_of("NYC", day, _utc(2027, 1, 1)) == _utc(2026, 7, 3, 15)


def test_a_range_over_several_cities_is_decided_in_the_order_of_its_instants() -> None:
    """Replayed days decide at 10:00 LST the day before: NYC (15:00Z) before LAX (18:00Z) on
    each day, and every city's first day before any city's second, whatever the key order."""
    d1, d2 = date(2026, 7, 4), date(2026, 7, 5)
    city_major = [(c, d, f"{c}|{d}") for c in ("LAX", "NYC") for d in (d1, d2)]

    ordered = in_pipeline_order(city_major, _utc(2027, 1, 1))

    assert [(c, d) for c, d, _ in ordered] == [("NYC", d1), ("LAX", d1), ("NYC", d2), ("LAX", d2)]


def test_pipeline_as_of_returns_utc() -> None:
    now = datetime(2026, 7, 4, 8, tzinfo=timezone(timedelta(hours=-4)))
    got = pipeline_as_of("NYC", date(2026, 7, 4), now)
    assert got == now and got.utcoffset() == timedelta(0)


def test_lead_days() -> None:
    day = date(2026, 7, 4)
    assert lead_days("NYC", day, _utc(2026, 7, 4, 12)) == 0
    assert lead_days("NYC", day, _utc(2026, 7, 3, 12)) == 1
    # 03:00Z Jul 4 is 22:00 EST Jul 3: a day-ahead issue.
    assert lead_days("NYC", day, _utc(2026, 7, 4, 3)) == 1
    assert lead_days("NYC", day, _utc(2026, 6, 30, 18)) == 4
    assert lead_days("NYC", day, _utc(2026, 7, 5, 12)) == -1


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2026, 7, 4, 12)
    with pytest.raises(ClimateDayError):
        climate_date_of("NYC", naive)
    with pytest.raises(ClimateDayError):
        pipeline_as_of("NYC", date(2026, 7, 4), naive)
    with pytest.raises(ClimateDayError):
        lead_days("NYC", date(2026, 7, 4), naive)
    assert issubclass(ClimateDayError, ValueError)


def test_unknown_city() -> None:
    with pytest.raises(UnknownCityError):
        climate_day_window("XXX", date(2026, 7, 4))
    with pytest.raises(UnknownCityError):
        decision_time("XXX", date(2026, 7, 4))


def test_final_report_expected_next_morning_standard_time() -> None:
    # 07:00 EST on 2026-07-05 is 12:00 UTC (no daylight time for climate days).
    assert final_report_expected_at("NYC", date(2026, 7, 4)) == datetime(2026, 7, 5, 12, tzinfo=UTC)
    assert final_report_expected_at("LAX", date(2026, 1, 31)) == datetime(
        2026, 2, 1, 15, tzinfo=UTC
    )


def test_hours_elapsed_runs_to_24_at_midnight_lst_in_daylight_time_too() -> None:
    day = date(2026, 7, 4)
    start, end = climate_day_window("NYC", day)
    assert hours_elapsed("NYC", day, start - timedelta(minutes=1)) is None
    assert hours_elapsed("NYC", day, start) == 0.0
    # 08:00 EST = 09:00 EDT on the clock.
    assert (
        hours_elapsed("NYC", day, datetime(2026, 7, 4, 9, tzinfo=ZoneInfo("America/New_York")))
        == 8.0
    )
    # 00:55 EDT on July 5th is 23:55 EST: the low can still fall for another five minutes.
    late = datetime(2026, 7, 5, 0, 55, tzinfo=ZoneInfo("America/New_York"))
    assert hours_elapsed("NYC", day, late) == pytest.approx(24 - 5 / 60)
    assert hours_elapsed("NYC", day, end) == 24.0
    assert hours_elapsed("NYC", day, end + timedelta(days=3)) == 24.0
    with pytest.raises(ClimateDayError):
        hours_elapsed("NYC", day, datetime(2026, 7, 4, 12))

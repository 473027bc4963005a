"""Climate-day arithmetic: which instants belong to which settlement day.

The NWS climate day runs midnight to midnight *local standard time* all year, so in summer it
is 01:00-01:00 on the local clock. Every window here is computed from the city's fixed
standard UTC offset (never from its IANA zone) and returned as timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from weather_trader.core.cities import get_city

DECISION_HOUR_LOCAL_STD = 10
FINAL_REPORT_HOUR_LOCAL_STD = 7
"""Replays decide at 10:00 local standard time on the day before the climate day."""


class ClimateDayError(ValueError):
    """Raised for naive datetimes or otherwise invalid climate-day arguments."""


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClimateDayError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def climate_day_window(city_code: str, day: date) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[start, end)`` of ``day``'s climate day in ``city_code``.

    Example: NYC (UTC-5) 2026-07-04 -> 2026-07-04T05:00Z .. 2026-07-05T05:00Z, in July as in
    January.

    Raises:
        UnknownCityError: If the city is not registered.
    """
    tz = get_city(city_code).standard_tz
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return start, start + timedelta(days=1)


def climate_date_of(city_code: str, moment: datetime) -> date:
    """The climate day that the aware instant ``moment`` belongs to in ``city_code``.

    Raises:
        ClimateDayError: If ``moment`` is naive.
        UnknownCityError: If the city is not registered.
    """
    _require_aware(moment, "moment")
    return moment.astimezone(get_city(city_code).standard_tz).date()


def hours_elapsed(city_code: str, day: date, moment: datetime) -> float | None:
    """Hours of ``day``'s climate day elapsed at ``moment`` (0..24, 24 once it is over), or
    None before it starts. A low's running minimum is final only at 24: the low can still be
    set at 23:59 local standard time (00:59 daylight time on the next calendar day).

    Raises:
        ClimateDayError: If ``moment`` is naive.
    """
    _require_aware(moment, "moment")
    start, _ = climate_day_window(city_code, day)
    if moment < start:
        return None
    return min((moment - start) / timedelta(hours=1), 24.0)


def decision_time(city_code: str, day: date) -> datetime:
    """The replay decision instant for ``day``: 10:00 local standard time the day before (UTC).

    Raises:
        UnknownCityError: If the city is not registered.
    """
    tz = get_city(city_code).standard_tz
    local = datetime.combine(day - timedelta(days=1), time(DECISION_HOUR_LOCAL_STD), tzinfo=tz)
    return local.astimezone(UTC)


def final_report_expected_at(city_code: str, day: date) -> datetime:
    """When ``day``'s final climate report is normally out: 07:00 local standard time next day.

    Used where the real issue time is not known yet (a replay's own unexecuted trades).

    Raises:
        UnknownCityError: If the city is not registered.
    """
    tz = get_city(city_code).standard_tz
    local = datetime.combine(day + timedelta(days=1), time(FINAL_REPORT_HOUR_LOCAL_STD), tzinfo=tz)
    return local.astimezone(UTC)


def pipeline_as_of(city_code: str, day: date, now: datetime) -> datetime:
    """The instant from which the pipeline views the world for ``day``.

    Live (the climate day has not ended at ``now``): ``now``. Replay of a finished day: the
    day's :func:`decision_time`, so nothing published later leaks into the decision.

    Raises:
        ClimateDayError: If ``now`` is naive.
    """
    _require_aware(now, "now")
    _, end = climate_day_window(city_code, day)
    return now.astimezone(UTC) if now < end else decision_time(city_code, day)


def in_pipeline_order(
    partitions: Iterable[tuple[str, date, str]], now: datetime
) -> list[tuple[str, date, str]]:
    """``(city, day, key)`` partitions sorted by their :func:`pipeline_as_of` instants.

    A range run over several cities decides in this order, as live trading would: one risk
    state spans the cities, and in city-major order the first cities' later days would take
    the shared limits before the other cities' earlier days were decided.
    """
    return sorted(partitions, key=lambda p: (pipeline_as_of(p[0], p[1], now), p[2]))


def lead_days(city_code: str, day: date, issued_at: datetime) -> int:
    """Days from the climate day of ``issued_at`` to ``day`` (0 = issued on the day itself).

    Negative when the forecast was issued after the day (a hindcast).

    Raises:
        ClimateDayError: If ``issued_at`` is naive.
    """
    return (day - climate_date_of(city_code, issued_at)).days

"""The one partitions definition: city x climate day.

Keys look like ``NYC|2026-11-27`` (``city`` sorts before ``date``, so Dagster orders the
dimensions alphabetically). ``end_offset=2`` makes the last date tomorrow (UTC), so every
city's today and tomorrow (its live partitions; Kalshi lists a day's markets at 10:00 ET the
day before) are partitions at any hour; the day after tomorrow is not.
"""

from __future__ import annotations

from datetime import date

from dagster import (
    DailyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from weather_trader.core.cities import CITIES

# Far enough back for a few years of backfilled history to train on.
FIRST_CLIMATE_DAY = "2023-01-01"

city_partitions = StaticPartitionsDefinition(sorted(CITIES))
date_partitions = DailyPartitionsDefinition(start_date=FIRST_CLIMATE_DAY, end_offset=2)
city_day_partitions = MultiPartitionsDefinition({"city": city_partitions, "date": date_partitions})


def city_day_key(city: str, day: date) -> MultiPartitionKey:
    """The partition key of ``city``'s climate day ``day``."""
    return MultiPartitionKey({"city": city, "date": day.isoformat()})


def split_key(key: str | MultiPartitionKey) -> tuple[str, date]:
    """``(city, climate_day)`` of a partition key such as ``NYC|2026-11-27``."""
    dims = key.keys_by_dimension if isinstance(key, MultiPartitionKey) else None
    if dims is None:
        city, day = str(key).split("|")
    else:
        city, day = dims["city"], dims["date"]
    return city, date.fromisoformat(day)

"""The one partitions definition: city x climate day.

Keys look like ``NYC|2026-11-27`` (``city`` sorts before ``date``, so Dagster orders the
dimensions alphabetically). ``end_offset=2`` makes the last date tomorrow (UTC), so every
city's today and tomorrow (its live partitions; Kalshi lists a day's markets at 10:00 ET the
day before) are partitions at any hour; the day after tomorrow is not.

The city dimension is dynamic: its keys live in the Dagster instance, added by the
``series_registry`` asset for every city with a verified series (:func:`add_city_partitions`),
so a series the exchange starts listing becomes partitions, and is scheduled, with no code
change. Sensors and schedules read the cities from the instance (:func:`registered_cities`).

A range run (``ASSET_PARTITION_RANGE_START/END`` tags) covers the rectangle between its two
keys: the cities between the start's and the end's city *in the instance's order* (the order
they were added, not alphabetical) times the dates between. A range whose start city comes
after its end city covers nothing. :func:`city_day_ranges` builds valid rectangles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from dagster import (
    DagsterInstance,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
)

from weather_trader.core.cities import CITIES

# Far enough back for a few years of backfilled history to train on.
FIRST_CLIMATE_DAY = "2023-01-01"
CITY_PARTITIONS = "city"
"""The name of the dynamic city dimension in the Dagster instance."""

city_partitions = DynamicPartitionsDefinition(name=CITY_PARTITIONS)
date_partitions = DailyPartitionsDefinition(start_date=FIRST_CLIMATE_DAY, end_offset=2)
city_day_partitions = MultiPartitionsDefinition({"city": city_partitions, "date": date_partitions})


def add_city_partitions(instance: DagsterInstance, codes: Iterable[str]) -> list[str]:
    """Add a city partition for each of ``codes`` the instance lacks (in sorted order).

    Returns:
        The codes added, sorted (empty when every one was there already).
    """
    present = set(instance.get_dynamic_partitions(CITY_PARTITIONS))
    missing = sorted(set(codes) - present)
    if missing:
        instance.add_dynamic_partitions(CITY_PARTITIONS, missing)
    return missing


def registered_cities(instance: DagsterInstance) -> list[str]:
    """The city partitions of ``instance`` whose city the code knows, sorted.

    A partition added by hand for a city without a station table entry has no climate day to
    schedule, so it is left out here (it is never scheduled, and never traded).
    """
    return sorted(c for c in instance.get_dynamic_partitions(CITY_PARTITIONS) if c in CITIES)


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


def city_day_ranges(
    instance: DagsterInstance,
    cities: Sequence[str],
    start: date,
    end: date,
    max_cities: int | None = None,
) -> list[tuple[MultiPartitionKey, MultiPartitionKey]]:
    """``(first_key, last_key)`` range bounds that together cover exactly ``cities`` x
    ``start..end``: one rectangle per run of ``cities`` that are adjacent in the instance's
    city order, split every ``max_cities`` cities (None: no limit).

    Raises:
        ValueError: If a city is not a partition of ``instance``.
    """
    order = instance.get_dynamic_partitions(CITY_PARTITIONS)
    position = {code: i for i, code in enumerate(order)}
    unknown = sorted(set(cities) - set(position))
    if unknown:
        raise ValueError(f"not city partitions of the instance: {', '.join(unknown)}")
    blocks: list[list[str]] = []
    for code in sorted(set(cities), key=position.__getitem__):
        block = blocks[-1] if blocks else None
        if (
            block is None
            or position[code] != position[block[-1]] + 1
            or (max_cities is not None and len(block) >= max_cities)
        ):
            blocks.append([code])
        else:
            block.append(code)
    return [(city_day_key(b[0], start), city_day_key(b[-1], end)) for b in blocks]

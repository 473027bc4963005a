"""The latest evaluation of each check that gates trading, per partition, from the instance.

Dagster records a check evaluation per run, not per partition of a partitioned asset, so an
evaluation counts for a partition when its run covered it: a single-partition run tagged with
the key (``dagster/partition``), or a range run whose rectangle of cities and days includes it
(a failure anywhere in a range run counts for all of its partitions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster import AssetCheckKey, AssetKey, DagsterInstance, RunsFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG as PARTITION_TAG

from weather_trader.defs.partitions import CITY_PARTITIONS, split_key

GATING_CHECKS = (
    AssetCheckKey(AssetKey("forecast_snapshots"), "forecasts_fresh"),
    AssetCheckKey(AssetKey("forecast_snapshots"), "forecasts_plausible"),
    AssetCheckKey(AssetKey("temperature_distribution"), "distribution_is_sane"),
)
"""The blocking checks on a partition's forecasts and distribution, which trading reads."""
HISTORY_LIMIT = 200
"""Evaluations of one check looked at, newest first (live partitions are evaluated often)."""
RANGE_TAGS = (ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)


def run_covers(tags: Mapping[str, str], key: str, city_order: Sequence[str] = ()) -> bool:
    """Whether a run with ``tags`` materialised partition ``key``.

    A range run covers the cities from its start's to its end's in ``city_order`` (the
    instance's order of the city partitions, as Dagster ranges them) and the days between.
    """
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG] == key
    start, end = (tags.get(t) for t in RANGE_TAGS)
    if not (start and end):
        return False
    city, day = split_key(key)
    (first_city, first), (last_city, last) = split_key(start), split_key(end)
    if not first <= day <= last:
        return False
    if first_city == last_city:
        return city == first_city
    position = {code: i for i, code in enumerate(city_order)}
    if not {city, first_city, last_city} <= position.keys():
        return False
    return position[first_city] <= position[city] <= position[last_city]


def latest_check_results(
    instance: DagsterInstance, keys: Sequence[str]
) -> dict[str, dict[str, bool | None]]:
    """Partition key -> check name -> whether the check's latest completed evaluation covering
    the partition passed (None: never evaluated there). Planned evaluations (a run in progress
    or dead) are passed over."""
    histories = {
        check.name: [
            r
            for r in instance.event_log_storage.get_asset_check_execution_history(
                check, limit=HISTORY_LIMIT
            )  # newest first
            if r.status != AssetCheckExecutionRecordStatus.PLANNED
        ]
        for check in GATING_CHECKS
    }
    run_ids = {r.run_id for records in histories.values() for r in records}
    tags = {run.run_id: run.tags for run in instance.get_runs(RunsFilter(run_ids=list(run_ids)))}
    city_order = instance.get_dynamic_partitions(CITY_PARTITIONS)
    results: dict[str, dict[str, bool | None]] = {}
    for key in keys:
        results[key] = {
            name: next(
                (
                    r.status == AssetCheckExecutionRecordStatus.SUCCEEDED
                    for r in records
                    if run_covers(tags.get(r.run_id, {}), key, city_order)
                ),
                None,
            )
            for name, records in histories.items()
        }
    return results

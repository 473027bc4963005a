"""Small helpers shared by the asset modules."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetMaterialization,
    BackfillPolicy,
    BetaWarning,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

from weather_trader.defs.partitions import city_day_partitions, split_key

# Single-run backfills are deliberate (docs/architecture.md section 2); Dagster flags the parameter
# as beta on every asset, which only buries real warnings.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# Every partitioned asset: one run may cover a range of one city's days (about 36 ms an
# asset-partition instead of ~1.2 s a partition for one run each); live runs pass one key.
PARTITIONED = {
    "partitions_def": city_day_partitions,
    "backfill_policy": BackfillPolicy.single_run(),
}
KINDS_TAG = {"python", "sqlalchemy"}


def city_days(context: AssetExecutionContext) -> list[tuple[str, date, str]]:
    """``(city, climate_day, partition_key)`` for every partition this run materialises."""
    return [(*split_key(key), str(key)) for key in context.partition_keys]


def per_partition_results(
    context: AssetExecutionContext,
    run_metadata: Mapping[str, Any],
    partition_metadata: Mapping[str, Mapping[str, Any]],
    check_results: Sequence[AssetCheckResult] = (),
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """The asset's result, each partition reporting its own figures.

    A one-partition run (live) puts its partition's figures next to the run's. A range run
    reports the run totals on the output, then one materialisation per partition with that
    partition's figures, so the latest materialisation of every city-day shows its own.
    """
    keys = [str(k) for k in context.partition_keys]
    if len(keys) == 1:
        own = partition_metadata.get(keys[0], {})
        yield MaterializeResult(metadata={**run_metadata, **own}, check_results=check_results)
        return
    yield MaterializeResult(metadata=run_metadata, check_results=check_results)
    for key in keys:
        if key in partition_metadata:
            yield AssetMaterialization(
                context.asset_key, partition=key, metadata=dict(partition_metadata[key])
            )


def metadata_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> MetadataValue:
    """A metadata table of ``rows`` with ``columns`` (name -> Dagster type: string, float, int,
    bool)."""
    cast = {"float": float, "int": int, "string": str, "bool": bool}
    return MetadataValue.table(
        records=[
            TableRecord(
                {
                    name: None if row[name] is None else cast[kind](row[name])
                    for name, kind in columns.items()
                }
            )
            for row in rows
        ],
        schema=TableSchema(columns=[TableColumn(name, kind) for name, kind in columns.items()]),
    )

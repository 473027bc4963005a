"""Small helpers shared by the asset modules."""

from __future__ import annotations

import warnings
from datetime import date

from dagster import AssetExecutionContext, BackfillPolicy, BetaWarning

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

"""The series registry: every temperature series the exchange lists, with its verified station.

``series_registry`` discovers the series through the configured Kalshi API (Kalshi itself, or
the local exchange in sim mode), reconciles each with our station table (``core``), stores the
whole set, and adds a city partition for every city with a verified series: a series the
exchange starts listing becomes partitions with no code change. A series whose station cannot
be verified is listed, with the reason, and never traded (``trade_decisions`` reads the stored
registry).
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    asset,
)

from weather_trader.core.series_registry import RegistryEntry, reconcile
from weather_trader.defs.common import KINDS_TAG, metadata_table
from weather_trader.defs.partitions import CITY_PARTITIONS, add_city_partitions
from weather_trader.defs.resources import ClockResource, DatabaseResource, MarketDataResource
from weather_trader.sources.kalshi.discovery import discover_listings
from weather_trader.store.repo_registry import save_registry

REGISTRY_COLUMNS = {
    "series_ticker": "string",
    "city": "string",
    "kind": "string",
    "station": "string",
    "cli_product": "string",
    "utc_offset": "int",
    "verified": "bool",
    "reason": "string",
}
"""The metadata table's columns: the keys of ``weather-trader cities --json``."""
UNVERIFIED_CHECK = "every_series_verified"


@asset(
    group_name="markets",
    kinds=KINDS_TAG,
    pool="kalshi_api",
    description=(
        "Every temperature series the exchange lists (GET /series and the rules text of a "
        "recent event): city, high or low, settlement station, CLI product and UTC offset, "
        "verified against our station table or the reason it is not. Verified cities become "
        "city partitions; an unverified series is listed and never traded."
    ),
    check_specs=[
        AssetCheckSpec(
            UNVERIFIED_CHECK,
            asset="series_registry",
            description="Warns while a listed series' station cannot be verified (it is not "
            "traded); the metadata lists each one with its reason.",
        )
    ],
)
def series_registry(
    context: AssetExecutionContext,
    database: DatabaseResource,
    market_data: MarketDataResource,
    clock: ClockResource,
) -> MaterializeResult:
    """Discover, reconcile and store the series; add the verified cities' partitions.

    An empty discovery (the exchange answered but listed nothing) fails the run rather than
    replace the stored registry, which would stop all trading.
    """
    with market_data.exchange_reads() as reads:
        listings = discover_listings(reads)
    if not listings:
        raise Failure("the exchange listed no temperature series; the stored registry is kept")
    entries = reconcile(listings)
    with database.session() as session:
        save_registry(session, entries, clock.now())
    verified_cities = sorted({e.city for e in entries if e.verified and e.city})
    added = add_city_partitions(context.instance, verified_cities)
    unverified = [e for e in entries if not e.verified]
    for e in unverified:
        context.log.warning(f"{e.series_ticker} is listed but not traded: {e.reason}")
    if added:
        context.log.info(f"new city partitions: {', '.join(added)}")
    return MaterializeResult(
        metadata={
            "series": len(entries),
            "verified": len(entries) - len(unverified),
            "unverified": len(unverified),
            "cities_verified": len(verified_cities),
            "city_partitions": len(context.instance.get_dynamic_partitions(CITY_PARTITIONS)),
            "city_partitions_added": ", ".join(added) or "none",
            "registry": registry_table(entries),
        },
        check_results=[unverified_check(unverified)],
    )


def registry_table(entries: list[RegistryEntry]) -> object:
    """The metadata table of every series (one row each, as ``cities --json`` prints it)."""
    return metadata_table([e.as_json() for e in entries], REGISTRY_COLUMNS)


def unverified_check(unverified: list[RegistryEntry]) -> AssetCheckResult:
    """Passes when every series is verified; else a warning naming each one and its reason."""
    return AssetCheckResult(
        check_name=UNVERIFIED_CHECK,
        passed=not unverified,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "unverified": len(unverified),
            "reasons": "\n".join(f"{e.series_ticker}: {e.reason}" for e in unverified) or "none",
        },
    )

"""Bracket markets with their books, and our probability of each bracket next to the market's."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    MaterializeResult,
    asset,
)

from weather_trader.core.cities import KINDS
from weather_trader.core.climate_day import hours_elapsed, pipeline_as_of
from weather_trader.core.forecasting.cases import bound_observed_pmf
from weather_trader.core.forecasting.pmf import bracket_probs, pmf_from_normal
from weather_trader.core.quality import sums_to_one
from weather_trader.core.records import MarketSnapshot
from weather_trader.core.skill import pmf_from_extra
from weather_trader.defs.common import (
    KINDS_TAG,
    PARTITIONED,
    city_days,
    metadata_table,
    per_partition_results,
)
from weather_trader.defs.resources import ClockResource, DatabaseResource, MarketDataResource
from weather_trader.store import repo
from weather_trader.store.schemas import DistributionRecord


@asset(
    **PARTITIONED,
    group_name="markets",
    kinds=KINDS_TAG,
    pool="kalshi_api",
    description=(
        "The city-day's Kalshi high and low events: each bracket market's strikes, status, fee "
        "parameters and an order-book snapshot as of the pipeline instant."
    ),
)
def kalshi_markets(
    context: AssetExecutionContext,
    database: DatabaseResource,
    market_data: MarketDataResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Snapshot every market of the partition's events with its book."""
    feed, now = market_data.client(), clock.now()
    everything: list[MarketSnapshot] = []
    own: dict[str, dict[str, Any]] = {}
    for city, day, key in city_days(context):
        as_of = pipeline_as_of(city, day, now)
        snapshots = [s for kind in KINDS for s in feed.event_markets(city, day, kind, as_of)]
        with database.session() as session:
            repo.replace_markets(session, city, day, snapshots)
        everything += snapshots
        own[key] = _market_figures(snapshots)
    yield from per_partition_results(context, _market_figures(everything), own)


def _market_figures(snapshots: list[MarketSnapshot]) -> dict[str, Any]:
    """Events, markets and the mean bid-ask spread of ``snapshots``."""
    spreads = [float(s.yes_ask - s.yes_bid) for s in snapshots]
    return {
        "events": len({s.event_ticker for s in snapshots}),
        "markets": len(snapshots),
        "mean_spread": round(sum(spreads) / len(spreads), 4) if spreads else 0.0,
    }


BRACKET_PRICE_COLUMNS = {
    "kind": "string",
    "ticker": "string",
    "p_model": "float",
    "p_market": "float",
    "yes_bid": "float",
    "yes_ask": "float",
}


@asset(
    **PARTITIONED,
    deps=["temperature_distribution", "kalshi_markets"],
    group_name="markets",
    kinds=KINDS_TAG,
    description=(
        "P(YES) of every bracket from the weather distribution's integer pmf (bounded by the "
        "running max/min observed), next to the market's mid."
    ),
    check_specs=[
        AssetCheckSpec(
            "event_probabilities_sum_to_one",
            asset="bracket_probabilities",
            blocking=True,
            description="Each event's bracket probabilities sum to 1 before any renormalisation.",
        )
    ],
)
def bracket_probabilities(
    context: AssetExecutionContext, database: DatabaseResource, clock: ClockResource
) -> Iterator[MaterializeResult | AssetMaterialization]:
    """Price every bracket of every event with the partition's distribution."""
    now = clock.now()
    bad_sums: list[str] = []
    rows_written = 0
    gaps: list[float] = []
    own: dict[str, dict[str, Any]] = {}
    for city, day, key in city_days(context):
        as_of = pipeline_as_of(city, day, now)
        with database.session() as session:
            frames = []
            for kind in KINDS:
                dist = repo.distribution_for(session, city, day, kind)
                if dist is None or dist.as_of > as_of:
                    continue
                snapshots = repo.market_snapshots(session, city, day, kind, as_of=as_of)
                if not snapshots:
                    continue
                probs = priced_brackets(dist, snapshots)
                if not sums_to_one(probs):
                    bad_sums.append(f"{key}/{kind}")
                mids = [float(s.mid) for s in snapshots]
                gaps += [abs(p - m) for p, m in zip(probs, mids, strict=True)]
                frames.append(
                    pd.DataFrame(
                        {
                            "kind": kind,
                            "ticker": [s.ticker for s in snapshots],
                            "as_of": as_of,
                            "p_model": probs,
                            "p_market": mids,
                            "yes_bid": [s.yes_bid for s in snapshots],
                            "yes_ask": [s.yes_ask for s in snapshots],
                        }
                    )
                )
            if frames:
                priced = pd.concat(frames, ignore_index=True)
                written = repo.replace_bracket_probabilities(session, city, day, priced)
                rows_written += written
                own[key] = {
                    "brackets": written,
                    "as_of": as_of.isoformat(),
                    "bracket_prices": metadata_table(
                        priced.to_dict("records"), BRACKET_PRICE_COLUMNS
                    ),
                }
    yield from per_partition_results(
        context,
        {
            "brackets": rows_written,
            "mean_abs_model_minus_market": round(sum(gaps) / len(gaps), 4) if gaps else 0.0,
        },
        own,
        [
            AssetCheckResult(
                check_name="event_probabilities_sum_to_one",
                passed=not bad_sums,
                metadata={"failing_events": ", ".join(bad_sums[:20]) or "none"},
            )
        ],
    )


def priced_brackets(dist: DistributionRecord, snapshots: list[MarketSnapshot]) -> list[float]:
    """P(YES) of each market: the stored pmf's mass on its integers, after the observed bounds.

    A low is conditioned on its running minimum and the hour of the climate day (the minimum
    so far is final only at midnight LST: ``core.forecasting.cases.bound_observed_pmf``); a
    high is truncated at its running maximum. A distribution stored by the earlier normal
    predictor (no pmf in ``extra``) is priced as its normal's integer pmf,
    P(T=k) = P(k-0.5 <= X < k+0.5).
    """
    row = (
        pmf_from_extra(dist.extra)
        if "pmf" in dist.extra
        else pmf_from_normal(dist.mu, dist.sigma)[0]
    )
    hours = hours_elapsed(dist.city, dist.climate_date, dist.as_of)
    bounded = bound_observed_pmf(row, dist.kind, dist.floor, dist.cap, hours)
    return [float(p) for p in bracket_probs(bounded[0], [s.bracket for s in snapshots])]

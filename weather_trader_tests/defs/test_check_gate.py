"""A failed blocking check on a partition's forecasts or distribution stops later trading runs."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from weather_trader.core.forecasting.pmf import pmf_from_normal
from weather_trader.core.gating import block, blocked_reason, failed_check
from weather_trader.defs.check_gate import run_covers
from weather_trader.defs.forecasting import assets as forecasting_assets
from weather_trader.defs.forecasting.assets import predict_weather
from weather_trader.defs.resources import TradingConfigResource
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader_tests.defs.support import CITY, DAY, Pipeline, key

FORECAST = ["forecast_snapshots", "intraday_observations", "temperature_distribution"]
TRADING = ["kalshi_markets", "bracket_probabilities", "trade_decisions", "orders"]


def run(pipeline: Pipeline, selection: list[str]) -> dg.ExecuteInProcessResult:
    """One run (like forecast_job or trading_job) of ``selection`` for CITY's DAY."""
    return dg.materialize(
        pipeline.partitioned_assets(),
        selection=selection,
        partition_key=key(CITY, DAY),
        resources=pipeline.resources,
        instance=pipeline.instance,
        raise_on_error=False,
    )


def _far_too_hot(*args: Any, **kwargs: Any) -> Any:
    """The weather pmfs moved to 140 F and above: a mean no city ever sees."""
    pmfs = predict_weather(*args, **kwargs)
    hot = pmf_from_normal(145.0, 2.0)[0]
    return dict.fromkeys(pmfs, hot)


def test_a_bad_distribution_never_reaches_an_order_in_a_later_run(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(forecasting_assets, "predict_weather", _far_too_hot)
        forecast = run(pipeline, FORECAST)
    assert not forecast.success
    assert {e.check_name: e.passed for e in forecast.get_asset_check_evaluations()}[
        "distribution_is_sane"
    ] is False
    with session_scope(pipeline.engine) as session:  # stored, as a trading run would find it
        assert repo.distribution_for(session, CITY, DAY, "high").mu > 140

    trading = run(pipeline, TRADING)

    assert trading.success
    assert trading.dagster_run.tags["dagster/partition"] == key(CITY, DAY)  # the per-day limit
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        assert len(decisions) > 0
        assert (decisions["reason"] == blocked_reason("distribution_is_sane")).all()
        assert not decisions["taken"].any()
        assert repo.orders_for(session, city=CITY, day=DAY).empty
    metadata = trading.asset_materializations_for_node("trade_decisions")[0].metadata
    assert metadata["blocked_by_check"].value == "distribution_is_sane"

    # A passing forecast run lifts the block: the next trading run trades.
    assert run(pipeline, FORECAST).success
    trading = run(pipeline, TRADING)
    assert trading.success
    # A one-partition run reports that city-day's figures and its bracket prices as a table.
    priced = trading.asset_materializations_for_node("bracket_probabilities")[0].metadata
    table = priced["bracket_prices"].value
    assert priced["brackets"].value == len(table.records) > 0
    assert {c.name for c in table.schema.columns} >= {"ticker", "p_model", "p_market"}
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        assert decisions["taken"].any()
        assert not decisions["reason"].str.startswith("blocked_by_check").any()
        assert not repo.orders_for(session, city=CITY, day=DAY).empty


def test_a_failed_forecast_check_blocks_the_later_trading_run(pipeline: Pipeline) -> None:
    assert run(pipeline, FORECAST).success  # a distribution is stored
    strict = dg.materialize(
        pipeline.partitioned_assets(),
        selection=FORECAST,
        partition_key=key(CITY, DAY),
        resources={
            **pipeline.resources,
            "trading": TradingConfigResource(max_forecast_age_hours=0.001),
        },
        instance=pipeline.instance,
        raise_on_error=False,
    )
    assert not strict.success  # forecasts_fresh failed: the stored distribution is not replaced

    assert run(pipeline, TRADING).success
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        assert len(decisions) > 0
        assert (decisions["reason"] == blocked_reason("forecasts_fresh")).all()
        assert repo.orders_for(session, city=CITY, day=DAY).empty


def test_the_first_failed_check_blocks_and_unevaluated_ones_do_not() -> None:
    assert failed_check({"forecasts_fresh": None, "distribution_is_sane": True}) is None
    assert failed_check({"forecasts_fresh": False, "distribution_is_sane": False}) == (
        "distribution_is_sane"
    )
    assert block([], "x") == []


@pytest.mark.parametrize(
    ("tags", "covered"),
    [
        ({"dagster/partition": "NYC|2026-03-10"}, True),
        ({"dagster/partition": "NYC|2026-03-11"}, False),
        (
            {
                "dagster/asset_partition_range_start": "NYC|2026-03-01",
                "dagster/asset_partition_range_end": "NYC|2026-03-31",
            },
            True,
        ),
        (
            {
                "dagster/asset_partition_range_start": "CHI|2026-03-01",
                "dagster/asset_partition_range_end": "CHI|2026-03-31",
            },
            False,
        ),
        ({}, False),
    ],
)
def test_a_check_evaluation_counts_for_the_partitions_its_run_covered(
    tags: dict[str, str], covered: bool
) -> None:
    assert run_covers(tags, "NYC|2026-03-10") is covered


@pytest.mark.parametrize(
    ("start", "end", "covered"),
    [
        ("CHI|2026-03-01", "PHL|2026-03-31", True),  # NYC lies between, in the instance's order
        ("NYC|2026-03-01", "AUS|2026-03-31", True),
        ("AUS|2026-03-01", "PHL|2026-03-31", False),  # AUS was added after NYC
        ("CHI|2026-03-11", "PHL|2026-03-31", False),  # the day is outside the range
        ("CHI|2026-03-01", "XYZ|2026-03-31", False),  # not a city partition
    ],
)
def test_a_range_run_over_several_cities_covers_those_between_its_ends(
    start: str, end: str, covered: bool
) -> None:
    order = ["CHI", "NYC", "PHL", "AUS"]
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    assert run_covers(tags, "NYC|2026-03-10", order) is covered

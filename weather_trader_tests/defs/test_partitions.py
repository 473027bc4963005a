"""The city x climate-day partitions and every partition mapping of the asset graph."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from dagster import AllPartitionMapping, AssetKey, MultiPartitionKey, PartitionKeyRange

from weather_trader.core.cities import CITIES
from weather_trader.definitions import defs
from weather_trader.defs.automation import live_partitions
from weather_trader.defs.partitions import (
    CITY_PARTITIONS,
    FIRST_CLIMATE_DAY,
    add_city_partitions,
    city_day_key,
    city_day_partitions,
    city_day_ranges,
    date_partitions,
    registered_cities,
    split_key,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_key_format_is_city_pipe_date() -> None:
    key = city_day_key("NYC", date(2026, 11, 27))
    assert isinstance(key, MultiPartitionKey)
    assert str(key) == "NYC|2026-11-27"
    assert key.keys_by_dimension == {"city": "NYC", "date": "2026-11-27"}
    assert [d.name for d in city_day_partitions.partitions_defs] == ["city", "date"]


@pytest.mark.parametrize("city", sorted(CITIES))
def test_split_key_round_trips(city: str) -> None:
    day = date(2026, 2, 28)
    key = city_day_key(city, day)
    assert split_key(key) == (city, day)
    assert split_key(str(key)) == (city, day)
    assert city_day_key(*split_key(str(key))) == key


def test_split_key_rejects_a_malformed_key() -> None:
    with pytest.raises(ValueError):
        split_key("NYC-2026-11-27")
    with pytest.raises(ValueError):
        split_key("NYC|2026-13-01")


def test_the_city_dimension_is_the_instances() -> None:
    dimension = city_day_partitions.get_partitions_def_for_dimension("city")
    assert isinstance(dimension, dg.DynamicPartitionsDefinition)
    assert dimension.name == CITY_PARTITIONS
    with dg.DagsterInstance.ephemeral() as instance:
        assert add_city_partitions(instance, ["NYC", "DEN"]) == ["DEN", "NYC"]
        assert add_city_partitions(instance, ["NYC", "AUS"]) == ["AUS"]  # only the missing
        assert add_city_partitions(instance, ["AUS"]) == []
        with dg.partition_loading_context(dynamic_partitions_store=instance):
            assert dimension.get_partition_keys() == ["DEN", "NYC", "AUS"]  # as added
            assert city_day_partitions.has_partition_key("AUS|2026-03-10")
            assert not city_day_partitions.has_partition_key("LAX|2026-03-10")
        assert registered_cities(instance) == ["AUS", "DEN", "NYC"]


def test_every_city_of_the_test_instance_is_a_partition(instance: dg.DagsterInstance) -> None:
    dimension = city_day_partitions.get_partitions_def_for_dimension("city")
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        assert dimension.get_partition_keys() == sorted(CITIES)


def test_first_partition_is_the_first_climate_day(instance: dg.DagsterInstance) -> None:
    with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
        first = city_day_partitions.get_first_partition_key()
    assert split_key(first) == (min(CITIES), date.fromisoformat(FIRST_CLIMATE_DAY))


def test_end_offset_includes_tomorrow_but_not_the_day_after(instance: dg.DagsterInstance) -> None:
    """Computed from the definition: at any instant the last date is tomorrow (UTC)."""
    for hour in range(24):
        now = NOW.replace(hour=hour)
        today = now.date()
        with dg.partition_loading_context(effective_dt=now, dynamic_partitions_store=instance):
            assert date_partitions.get_last_partition_key() == str(today + timedelta(days=1))
            assert city_day_partitions.has_partition_key(str(city_day_key("LAX", today)))
            assert city_day_partitions.has_partition_key(
                str(city_day_key("NYC", today + timedelta(days=1)))
            )
            assert not city_day_partitions.has_partition_key(
                str(city_day_key("NYC", today + timedelta(days=2)))
            )


def test_live_partitions_always_exist(instance: dg.DagsterInstance) -> None:
    """Each city's today and tomorrow (in its standard time) are partitions at every hour,
    so the schedule and the trading sensor never request a key Dagster would reject."""
    start = datetime(2026, 3, 7, 0, 30, tzinfo=UTC)  # spans a DST change: must not matter
    for hours in range(0, 72):
        now = start + timedelta(hours=hours)
        with dg.partition_loading_context(effective_dt=now, dynamic_partitions_store=instance):
            keys = [str(key) for _, key in live_partitions(CITIES, now)]
            missing = [k for k in keys if not city_day_partitions.has_partition_key(k)]
        assert len(keys) == 2 * len(CITIES)
        assert not missing, f"{now}: {missing}"


# -- partition mappings -------------------------------------------------------------------------


EXPECTED_EDGES = {
    ("forecast_snapshots", "temperature_distribution"),
    ("weather_model", "temperature_distribution"),
    ("intraday_observations", "climate_reports"),
    ("temperature_distribution", "bracket_probabilities"),
    ("kalshi_markets", "bracket_probabilities"),
    ("bracket_probabilities", "trade_decisions"),
    ("forecast_snapshots", "trade_decisions"),
    ("trade_decisions", "orders"),
    ("orders", "settlements"),
    ("climate_reports", "settlements"),
    ("settlements", "forecast_scores"),
    ("bracket_probabilities", "forecast_scores"),
    ("ours_model", "trade_decisions"),
    ("forecast_evaluation", "trade_decisions"),
    ("series_registry", "trade_decisions"),
    ("weather_archive", "climatology_model"),
    ("weather_archive", "emos_model"),
    ("weather_archive", "xgboost_model"),
    ("climatology_model", "weather_model"),
    ("emos_model", "weather_model"),
    ("xgboost_model", "weather_model"),
    ("weather_model", "ours_model"),
    ("ours_model", "forecast_evaluation"),
}


def graph_edges() -> list[tuple[AssetKey, AssetKey]]:
    graph = defs.resolve_asset_graph()
    return sorted((parent, node.key) for node in graph.asset_nodes for parent in node.parent_keys)


def test_graph_has_exactly_the_designed_edges() -> None:
    edges = {(p.to_user_string(), c.to_user_string()) for p, c in graph_edges()}
    assert edges == EXPECTED_EDGES


def sample_keys(instance: dg.DagsterInstance) -> list[str]:
    """First, last and middle partitions, every city, and both ends of the date range."""
    with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
        keys = city_day_partitions.get_partition_keys()
        last_day = date.fromisoformat(date_partitions.get_last_partition_key())
    first_day = date.fromisoformat(FIRST_CLIMATE_DAY)
    picks = {keys[0], keys[-1], keys[len(keys) // 2]}
    for city in CITIES:
        picks |= {str(city_day_key(city, first_day)), str(city_day_key(city, last_day))}
    return sorted(picks)


def sample_ranges() -> list[PartitionKeyRange]:
    """A month of one city's days (what backfills run) and the ranges at both ends."""
    first = date.fromisoformat(FIRST_CLIMATE_DAY)
    last = NOW.date() + timedelta(days=1)
    return [
        PartitionKeyRange(
            str(city_day_key("NYC", date(2026, 3, 1))), str(city_day_key("NYC", date(2026, 3, 30)))
        ),
        PartitionKeyRange(
            str(city_day_key("AUS", first)), str(city_day_key("AUS", first + timedelta(days=6)))
        ),
        PartitionKeyRange(
            str(city_day_key("PHL", last - timedelta(days=6))), str(city_day_key("PHL", last))
        ),
    ]


EDGES = graph_edges()


@pytest.mark.parametrize(
    ("parent_key", "child_key"),
    EDGES,
    ids=[f"{p.to_user_string()}->{c.to_user_string()}" for p, c in EDGES],
)
def test_every_edge_maps_partitions(
    parent_key: AssetKey, child_key: AssetKey, instance: dg.DagsterInstance
) -> None:
    """Partitioned -> partitioned edges map each key (and each range) to itself, both ways;
    an unpartitioned parent feeds every child partition."""
    graph = defs.resolve_asset_graph()
    mapping = graph.get_partition_mapping(child_key, parent_key)
    if graph.get(child_key).partitions_def is None and graph.get(parent_key).partitions_def is None:
        return  # between the unpartitioned models: nothing to map
    if graph.get(child_key).partitions_def is None:
        # The unpartitioned model learns from every partition of the archive.
        assert graph.get(parent_key).partitions_def == city_day_partitions
        assert isinstance(mapping, AllPartitionMapping)
        with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
            up = graph.get_parent_partition_keys_for_child(None, parent_key, child_key)
            assert set(up.partitions_subset.get_partition_keys()) == set(
                city_day_partitions.get_partition_keys()
            )
        return
    assert graph.get(child_key).partitions_def == city_day_partitions
    if graph.get(parent_key).partitions_def is None:
        assert isinstance(mapping, AllPartitionMapping)
        with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
            children = graph.get_child_partition_keys_of_parent(None, parent_key, child_key)
            assert set(children) == set(city_day_partitions.get_partition_keys())
        return
    assert graph.get(parent_key).partitions_def == city_day_partitions
    with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
        for key in sample_keys(instance):
            up = graph.get_parent_partition_keys_for_child(key, parent_key, child_key)
            assert set(up.partitions_subset.get_partition_keys()) == {key}
            assert not up.required_but_nonexistent_subset.get_partition_keys()
            down = graph.get_child_partition_keys_of_parent(key, parent_key, child_key)
            assert set(down) == {key}
        for key_range in sample_ranges():
            keys = city_day_partitions.get_partition_keys_in_range(key_range)
            assert len(keys) in (7, 30)
            subset = city_day_partitions.subset_with_partition_keys(keys)
            up = mapping.get_upstream_mapped_partitions_result_for_partitions(
                subset, city_day_partitions, city_day_partitions
            )
            assert set(up.partitions_subset.get_partition_keys()) == set(keys)
            assert not up.required_but_nonexistent_subset.get_partition_keys()
            down = mapping.get_downstream_partitions_for_partitions(
                subset, city_day_partitions, city_day_partitions
            )
            assert set(down.get_partition_keys()) == set(keys)


def test_unpartitioned_model_feeds_every_distribution_partition(
    instance: dg.DagsterInstance,
) -> None:
    graph = defs.resolve_asset_graph()
    model, dist = AssetKey("weather_model"), AssetKey("temperature_distribution")
    assert graph.get(model).partitions_def is None
    assert isinstance(graph.get_partition_mapping(dist, model), AllPartitionMapping)
    with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):
        children = graph.get_child_partition_keys_of_parent(None, model, dist)
        assert set(children) == set(city_day_partitions.get_partition_keys())
        assert len(children) == len(CITIES) * (
            (NOW.date() + timedelta(days=1) - date.fromisoformat(FIRST_CLIMATE_DAY)).days + 1
        )
        parents = graph.get_parents_partitions(dist, "NYC|2026-03-10")
    assert model in {p.asset_key for p in parents.parent_partitions}


# -- range runs over the dynamic city dimension ---------------------------------------------------


def test_a_range_is_the_rectangle_of_cities_in_the_instances_order() -> None:
    """Dagster ranges the city dimension by the instance's order (as added), not by name: one
    range run can span several cities, and a range against that order is empty."""
    first, last = date(2026, 3, 1), date(2026, 3, 3)
    with dg.DagsterInstance.ephemeral() as instance:
        add_city_partitions(instance, ["DEN", "NYC"])
        add_city_partitions(instance, ["AUS"])  # discovered later: after NYC, not before DEN
        with dg.partition_loading_context(effective_dt=NOW, dynamic_partitions_store=instance):

            def cities_in(start: str, end: str) -> list[str]:
                keys = city_day_partitions.get_partition_keys_in_range(
                    PartitionKeyRange(str(city_day_key(start, first)), str(city_day_key(end, last)))
                )
                assert len(keys) % 3 == 0
                return sorted({split_key(k)[0] for k in keys})

            assert cities_in("DEN", "AUS") == ["AUS", "DEN", "NYC"]
            assert cities_in("NYC", "AUS") == ["AUS", "NYC"]
            assert cities_in("AUS", "DEN") == []  # alphabetical, but against the instance's order


def test_city_day_ranges_cover_exactly_the_cities_asked_for() -> None:
    first, last = date(2026, 3, 1), date(2026, 3, 2)
    with dg.DagsterInstance.ephemeral() as instance:
        add_city_partitions(instance, ["CHI", "DEN", "NYC"])
        add_city_partitions(instance, ["AUS"])

        def covered(ranges: list[tuple[MultiPartitionKey, MultiPartitionKey]]) -> list[str]:
            with dg.partition_loading_context(dynamic_partitions_store=instance):
                return sorted(
                    str(k)
                    for start, end in ranges
                    for k in city_day_partitions.get_partition_keys_in_range(
                        PartitionKeyRange(str(start), str(end))
                    )
                )

        everyone = city_day_ranges(instance, ["AUS", "CHI", "DEN", "NYC"], first, last)
        assert [(str(a), str(b)) for a, b in everyone] == [("CHI|2026-03-01", "AUS|2026-03-02")]
        assert len(covered(everyone)) == 8
        gap = city_day_ranges(instance, ["AUS", "CHI", "NYC"], first, last)  # DEN left out
        assert len(gap) == 2
        assert {split_key(k)[0] for k in covered(gap)} == {"AUS", "CHI", "NYC"}
        assert len(covered(gap)) == 6
        batched = city_day_ranges(instance, ["AUS", "CHI", "DEN", "NYC"], first, last, 3)
        assert [split_key(a)[0] for a, _ in batched] == ["CHI", "AUS"]
        assert covered(batched) == covered(everyone)
        with pytest.raises(ValueError, match="LAX"):
            city_day_ranges(instance, ["LAX", "NYC"], first, last)


def test_one_range_run_materialises_several_cities(instance: dg.DagsterInstance) -> None:
    """Through the run machinery (range tags, ``context.partition_keys``), not only the
    definition: what the demo and backfills launch."""
    seen: list[str] = []

    @dg.asset(partitions_def=city_day_partitions, backfill_policy=dg.BackfillPolicy.single_run())
    def probe(context) -> None:  # type: ignore[no-untyped-def]  # (a string annotation breaks it)
        seen.extend(str(k) for k in context.partition_keys)

    [(start, end)] = city_day_ranges(instance, sorted(CITIES), date(2026, 3, 1), date(2026, 3, 2))
    result = dg.materialize(
        [probe],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": str(start),
            "dagster/asset_partition_range_end": str(end),
        },
    )
    assert result.success
    assert sorted(seen) == sorted(
        str(city_day_key(c, d)) for c in CITIES for d in (date(2026, 3, 1), date(2026, 3, 2))
    )

"""The forecast schedule, the trading sensor and the climate-report sensor."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from dagster._core.storage.tags import PARTITION_NAME_TAG
from sqlalchemy import Engine

from weather_trader.cli import REPO_ROOT
from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.climate_day import climate_date_of
from weather_trader.core.records import BookLevel, ClimateReport, MarketSnapshot
from weather_trader.core.retrading import PRICE_MOVE_TRIGGER
from weather_trader.definitions import build_definitions
from weather_trader.defs.automation import (
    LIVE_REFRESH_AGE,
    climate_report_sensor,
    forecast_schedule,
    live_partitions,
    live_refresh_sensor,
    registry_schedule,
    registry_startup_sensor,
    trading_sensor,
)
from weather_trader.defs.partitions import (
    CITY_PARTITIONS,
    add_city_partitions,
    city_day_partitions,
    registered_cities,
    split_key,
)
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    SimWeatherResource,
)
from weather_trader.settings import Settings
from weather_trader.sim.reports import reports_for_days
from weather_trader.sim.world import build_sim
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.schemas import DistributionRecord
from weather_trader_tests.defs.support import key

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
"""15:00 in New York, 12:00 in Los Angeles: March 10 is every city's climate day."""
TODAY = date(2026, 3, 10)
TOMORROW = TODAY + timedelta(days=1)


# -- forecast schedule ---------------------------------------------------------------------------


@pytest.fixture
def stored_instance() -> Iterator[dg.DagsterInstance]:
    """A persistent (temp-dir) instance with every city partition: a schedule's context reads
    the instance from its reference, which an in-memory instance does not have."""
    with dg.instance_for_test() as inst:
        add_city_partitions(inst, CITIES)
        yield inst


def schedule_requests(at: datetime, instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    return list(forecast_schedule(context))


def test_forecast_schedule_requests_today_and_tomorrow_of_every_city(
    stored_instance: dg.DagsterInstance,
) -> None:
    at = datetime(2026, 6, 15, 5, 20, tzinfo=UTC)  # after midnight EST, before midnight CST

    requests = schedule_requests(at, stored_instance)

    keys = sorted(str(r.partition_key) for r in requests)
    expected = sorted(
        key(city, climate_date_of(city, at) + timedelta(days=d)) for city in CITIES for d in (0, 1)
    )
    assert keys == expected
    assert len(keys) == 2 * len(CITIES) == len(set(keys))
    assert {"NYC|2026-06-15", "NYC|2026-06-16", "CHI|2026-06-14", "CHI|2026-06-15"} <= set(keys)
    assert "CHI|2026-06-16" not in keys
    assert len({r.run_key for r in requests}) == len(requests)
    with dg.partition_loading_context(effective_dt=at, dynamic_partitions_store=stored_instance):
        assert all(city_day_partitions.has_partition_key(k) for k in keys)


def test_forecast_schedule_run_keys_are_stable_per_tick(
    stored_instance: dg.DagsterInstance,
) -> None:
    at = datetime(2026, 6, 15, 5, 20, tzinfo=UTC)
    first = {r.run_key for r in schedule_requests(at, stored_instance)}
    retried = {r.run_key for r in schedule_requests(at, stored_instance)}
    next_tick = {r.run_key for r in schedule_requests(at + timedelta(hours=3), stored_instance)}
    assert first == retried
    assert not first & next_tick


# -- trading sensor ------------------------------------------------------------------------------


@pytest.fixture
def sensor_resources(settings: Settings) -> dict[str, Any]:
    return {
        "database": DatabaseResource(url=settings.resolved_database_url),
        "weather": SimWeatherResource(sim_seed=settings.sim_seed),
        "clock": ClockResource(fixed_now=NOW.isoformat()),
    }


Tick = Callable[..., dg.SensorResult]


@pytest.fixture
def tick(instance: dg.DagsterInstance) -> Tick:
    """Evaluate a sensor once: ``tick(sensor, resources, cursor=None)``."""

    def evaluate(sensor: Any, resources: dict[str, Any], cursor: str | None = None) -> Any:
        return sensor(
            dg.build_sensor_context(resources=resources, cursor=cursor, instance=instance)
        )

    return evaluate


def store_distribution(engine: Engine, city: str, day: date, as_of: datetime, *kinds: str) -> None:
    with session_scope(engine) as session:
        for kind in kinds or KINDS:
            repo.replace_distribution(
                session,
                DistributionRecord(
                    city=city, climate_date=day, kind=kind, as_of=as_of, method="test",
                    model_version="test", mu=60.0, sigma=3.0, n_forecasts=5,
                ),
            )  # fmt: skip


def live_book(city: str, day: date, kind: str) -> list[MarketSnapshot]:
    return build_sim(Settings.from_env({}).sim_seed)[1].event_markets(city, day, kind, NOW)


def shifted(snapshot: MarketSnapshot, cents: int) -> MarketSnapshot:
    """The same market ten minutes earlier with its mid ``cents`` lower."""
    d = Decimal(cents) / 100

    def move(levels: tuple[BookLevel, ...], by: Decimal) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(price=lv.price + by, count=lv.count) for lv in levels)

    return snapshot.model_copy(
        update={
            "captured_at": NOW - timedelta(minutes=10),
            "yes_bids": move(snapshot.yes_bids, -d),
            "no_bids": move(snapshot.no_bids, d),
        }
    )


def requested(result: dg.SensorResult) -> dict[str, str]:
    """Partition key -> trigger tag of each run request."""
    return {str(r.partition_key): r.tags["trigger"] for r in result.run_requests}


def test_trading_sensor_waits_for_a_distribution(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    assert tick(trading_sensor, sensor_resources).run_requests == []
    store_distribution(engine, "NYC", TODAY, NOW, "high")  # the low is still missing
    result = tick(trading_sensor, sensor_resources)
    assert result.run_requests == []
    assert json.loads(result.cursor) == {}


def test_trading_sensor_requests_each_new_distribution_once(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    earlier = NOW - timedelta(hours=1)
    store_distribution(engine, "NYC", TODAY, earlier)
    store_distribution(engine, "NYC", TOMORROW, earlier)
    store_distribution(engine, "LAX", TODAY, earlier)
    store_distribution(engine, "CHI", TODAY - timedelta(days=1), earlier)  # not live any more

    first = tick(trading_sensor, sensor_resources)

    assert requested(first) == {
        "NYC|2026-03-10": "new_distribution",
        "NYC|2026-03-11": "new_distribution",
        "LAX|2026-03-10": "new_distribution",
    }
    assert len({r.run_key for r in first.run_requests}) == 3
    assert tick(trading_sensor, sensor_resources, first.cursor).run_requests == []

    store_distribution(engine, "NYC", TODAY, NOW)  # the forecast run produced a newer one
    third = tick(trading_sensor, sensor_resources, first.cursor)
    assert requested(third) == {"NYC|2026-03-10": "new_distribution"}
    assert third.run_requests[0].run_key not in {r.run_key for r in first.run_requests}


def test_trading_sensor_cursor_keeps_only_live_partitions(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    store_distribution(engine, "NYC", TODAY, NOW)
    old_cursor = json.dumps({"NYC|2026-03-08": "2026-03-08T12:00:00+00:00"})

    result = tick(trading_sensor, sensor_resources, old_cursor)

    assert json.loads(result.cursor) == {"NYC|2026-03-10": NOW.isoformat()}


def price(engine: Engine, books: list[MarketSnapshot], at: datetime) -> None:
    """Record the books as the trading run at ``at`` priced them."""
    rows = pd.DataFrame(
        {
            "kind": s.kind, "ticker": s.ticker, "as_of": at, "p_model": 0.5,
            "p_market": float(s.mid), "yes_bid": s.yes_bid, "yes_ask": s.yes_ask,
        }
        for s in books
    )  # fmt: skip
    with session_scope(engine) as session:
        repo.replace_bracket_probabilities(session, "NYC", TODAY, rows, kind="high")


@pytest.mark.parametrize(("cents", "moves"), [(0, False), (1, False), (2, True), (5, True)])
def test_trading_sensor_trades_a_price_move_the_feed_recorded(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick, cents: int, moves: bool
) -> None:
    store_distribution(engine, "NYC", TODAY, NOW - timedelta(hours=1))
    cursor = tick(trading_sensor, sensor_resources).cursor
    books = live_book("NYC", TODAY, "high")
    middle = next(s for s in books if s.yes_bid >= Decimal("0.10") and s.yes_ask <= Decimal("0.90"))
    # The last trading run priced the middle market `cents` lower, ten minutes ago ...
    earlier = [shifted(s, cents) if s.ticker == middle.ticker else s for s in books]
    price(engine, earlier, NOW - timedelta(minutes=10))
    # ... and the feed has recorded the books since.
    with session_scope(engine) as session:
        repo.replace_markets(session, "NYC", TODAY, books)
    assert Decimal(cents) / 100 >= PRICE_MOVE_TRIGGER or not moves

    result = tick(trading_sensor, sensor_resources, cursor)

    assert requested(result) == ({"NYC|2026-03-10": "price_move"} if moves else {})
    assert json.loads(result.cursor) == json.loads(cursor)


def test_trading_sensor_ignores_books_older_than_the_last_pricing(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    store_distribution(engine, "NYC", TODAY, NOW - timedelta(hours=1))
    cursor = tick(trading_sensor, sensor_resources).cursor
    books = live_book("NYC", TODAY, "high")
    with session_scope(engine) as session:
        repo.replace_markets(session, "NYC", TODAY, [shifted(s, 5) for s in books])
    price(engine, books, NOW)  # priced after the latest recorded book: nothing new to react to

    assert tick(trading_sensor, sensor_resources, cursor).run_requests == []


# -- climate report sensor -------------------------------------------------------------------------


def finals_by_partition(result: dg.SensorResult) -> dict[str, str]:
    return {str(r.partition_key): r.run_key for r in result.run_requests}


def store_reports_known_at(engine: Engine, city: str, day: date, at: datetime) -> None:
    source = build_sim(Settings.from_env({}).sim_seed)[0]
    with session_scope(engine) as session:
        repo.upsert_climate_reports(session, source.climate_reports(city, day, at))


def test_climate_report_sensor_settles_each_new_final(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    first = tick(climate_report_sensor, sensor_resources)

    days = (TODAY - timedelta(days=2), TODAY - timedelta(days=1))
    expected = {key(city, day) for city in CITIES for day in days}
    assert set(finals_by_partition(first)) == expected
    assert len({r.run_key for r in first.run_requests}) == len(expected)

    for city in CITIES:
        for day in days:
            store_reports_known_at(engine, city, day, NOW)
    assert tick(climate_report_sensor, sensor_resources).run_requests == []


def test_climate_report_sensor_waits_for_the_final(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    """Early on March 10 (UTC), Los Angeles' final for March 9 is not out yet."""
    early = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 08:00 EST, 05:00 PST
    resources = {**sensor_resources, "clock": ClockResource(fixed_now=early.isoformat())}
    partitions = set(finals_by_partition(tick(climate_report_sensor, resources)))
    assert "NYC|2026-03-09" in partitions
    assert "LAX|2026-03-09" not in partitions
    assert "LAX|2026-03-08" in partitions


def test_climate_report_sensor_notices_a_correction(
    engine: Engine, sensor_resources: dict[str, Any], tick: Tick
) -> None:
    world = build_sim(Settings.from_env({}).sim_seed)[0].world
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    corrections = [r for r in reports_for_days(world, "NYC", days) if r.correction]
    assert corrections, "the sim corrects about 1% of days"
    fix: ClimateReport = corrections[0]
    day = fix.climate_date
    at = fix.issued_at + timedelta(minutes=5)
    resources = {**sensor_resources, "clock": ClockResource(fixed_now=at.isoformat())}
    store_reports_known_at(engine, "NYC", day, fix.issued_at)  # everything before the fix

    result = finals_by_partition(tick(climate_report_sensor, resources))

    assert result[key("NYC", day)] == f"cli:{key('NYC', day)}:{fix.issued_at.isoformat()}"
    store_reports_known_at(engine, "NYC", day, at)
    assert key("NYC", day) not in finals_by_partition(tick(climate_report_sensor, resources))


def test_a_trading_run_has_a_maximum_runtime_so_a_dead_one_frees_its_slot() -> None:
    from weather_trader.defs.automation import TRADING_RUN_MAX_SECONDS, trading_job

    assert int(trading_job.tags["dagster/max_runtime"]) == TRADING_RUN_MAX_SECONDS


# -- start-up refresh, the automation sensor, one run per city-day --------------------------------


def test_live_refresh_sensor_pulls_every_live_partition_without_a_distribution(
    tick: Tick, sensor_resources: dict[str, Any]
) -> None:
    result = tick(live_refresh_sensor, sensor_resources)
    keys = {str(r.partition_key) for r in result.run_requests}
    assert keys == {str(k) for _, k in live_partitions(CITIES, NOW)}
    assert len(keys) == 2 * len(CITIES)


def test_live_refresh_sensor_pulls_only_missing_or_stale_distributions(
    tick: Tick, sensor_resources: dict[str, Any], engine: Engine
) -> None:
    for city, k in live_partitions(CITIES, NOW):
        day = date.fromisoformat(k.keys_by_dimension["date"])
        kinds = ("high",) if (city, day) == ("LAX", TOMORROW) else KINDS  # LAX lacks a low
        store_distribution(engine, city, day, NOW - timedelta(minutes=30), *kinds)
    store_distribution(engine, "NYC", TODAY, NOW - LIVE_REFRESH_AGE - timedelta(minutes=1))
    result = tick(live_refresh_sensor, sensor_resources)
    assert {str(r.partition_key) for r in result.run_requests} == {
        key("NYC", TODAY),
        key("LAX", TOMORROW),
    }
    # Keyed by the hour: a failed refresh is retried next hour, not every tick.
    assert result.run_requests[0].run_key.endswith(f"{NOW:%Y%m%dT%H}")


def test_automation_sensor_runs_by_default_over_every_asset(settings: Settings) -> None:
    built = build_definitions(settings)
    sensor = built.resolve_sensor_def("automation_sensor")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {s.name for s in built.sensors} >= {"automation_sensor", "live_refresh_sensor"}
    assert built.resolve_sensor_def("live_refresh_sensor").default_status == (
        dg.DefaultSensorStatus.RUNNING
    )


MONDAY = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


def test_weekly_retrain_fires_under_the_automation_sensor(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    built = build_definitions(settings)
    model = dg.AssetSelection.assets("weather_model")

    def evaluate(at: datetime, cursor: Any = None) -> Any:
        return dg.evaluate_automation_conditions(
            built, instance, asset_selection=model, evaluation_time=at, cursor=cursor
        )

    before = evaluate(MONDAY - timedelta(minutes=5))
    assert before.total_requested == 0
    # No archive backfill since the tick: the retrain fires anyway.
    tick_result = evaluate(MONDAY + timedelta(minutes=1), before.cursor)
    assert tick_result.get_num_requested(dg.AssetKey("weather_model")) == 1
    again = evaluate(MONDAY + timedelta(minutes=2), tick_result.cursor)
    assert again.total_requested == 0  # once per weekly tick


def test_distribution_follows_new_forecasts_under_the_automation_sensor(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    built = build_definitions(settings)
    now = datetime.now(UTC)
    keys = city_day_partitions.get_partition_keys(
        current_time=now, dynamic_partitions_store=instance
    )
    latest = max(keys, key=lambda k: k.keys_by_dimension["date"])
    distribution = dg.AssetKey("temperature_distribution")
    instance.report_runless_asset_event(dg.AssetMaterialization("weather_model"))
    for k in keys:
        if k.keys_by_dimension["date"] == latest.keys_by_dimension["date"]:
            for asset in ("forecast_snapshots", "temperature_distribution"):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=k))

    def evaluate(cursor: Any = None) -> Any:
        return dg.evaluate_automation_conditions(
            built,
            instance,
            asset_selection=dg.AssetSelection.assets(distribution),
            evaluation_time=datetime.now(UTC),
            cursor=cursor,
        )

    first = evaluate()
    assert first.total_requested == 0  # everything up to date
    instance.report_runless_asset_event(
        dg.AssetMaterialization("forecast_snapshots", partition=latest)
    )
    second = evaluate(first.cursor)
    assert second.get_requested_partitions(distribution) == {latest}


def test_one_run_per_city_day_is_configured_for_every_launch_path(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as dagster_instance:
        limits = dagster_instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {
        "key": PARTITION_NAME_TAG,
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in limits


# -- cities added at runtime, the registry's own automation ---------------------------------------


def test_automation_picks_up_a_city_partition_added_at_runtime(
    sensor_resources: dict[str, Any],
) -> None:
    """The schedule and the sensors read the cities from the instance on every tick: a city
    the registry adds is scheduled at the next tick, with no code change or reload."""
    at = datetime(2026, 6, 15, 5, 20, tzinfo=UTC)
    with dg.instance_for_test() as fresh:

        def cities_requested() -> tuple[set[str], set[str], set[str]]:
            schedule = {split_key(str(r.partition_key))[0] for r in schedule_requests(at, fresh)}
            context = dg.build_sensor_context(resources=sensor_resources, instance=fresh)
            refresh = {
                split_key(str(r.partition_key))[0]
                for r in live_refresh_sensor(context).run_requests
            }
            context = dg.build_sensor_context(resources=sensor_resources, instance=fresh)
            reports = {
                split_key(str(r.partition_key))[0]
                for r in climate_report_sensor(context).run_requests
            }
            return schedule, refresh, reports

        assert cities_requested() == (set(), set(), set())  # no registry yet: nothing to run
        assert add_city_partitions(fresh, ["NYC"]) == ["NYC"]
        assert cities_requested() == ({"NYC"}, {"NYC"}, {"NYC"})
        assert add_city_partitions(fresh, ["NYC", "DEN"]) == ["DEN"]
        assert cities_requested() == ({"NYC", "DEN"}, {"NYC", "DEN"}, {"NYC", "DEN"})
        # A partition of a code the station table does not know is never scheduled.
        fresh.add_dynamic_partitions(CITY_PARTITIONS, ["XYZ"])
        assert registered_cities(fresh) == ["DEN", "NYC"]
        assert cities_requested() == ({"NYC", "DEN"}, {"NYC", "DEN"}, {"NYC", "DEN"})


def test_trading_sensor_trades_a_city_added_at_runtime(
    engine: Engine, sensor_resources: dict[str, Any]
) -> None:
    store_distribution(engine, "DEN", TODAY, NOW - timedelta(hours=1))
    with dg.DagsterInstance.ephemeral() as fresh:
        add_city_partitions(fresh, ["NYC"])
        context = dg.build_sensor_context(resources=sensor_resources, instance=fresh)
        assert trading_sensor(context).run_requests == []
        add_city_partitions(fresh, ["DEN"])
        context = dg.build_sensor_context(resources=sensor_resources, instance=fresh)
        assert requested(trading_sensor(context)) == {"DEN|2026-03-10": "new_distribution"}


def test_registry_is_discovered_at_startup_then_daily(
    stored_instance: dg.DagsterInstance, sensor_resources: dict[str, Any]
) -> None:
    def startup() -> dg.SensorResult:
        context = dg.build_sensor_context(resources=sensor_resources, instance=stored_instance)
        return registry_startup_sensor(context)

    [first] = startup().run_requests
    assert first.run_key == f"registry:startup:{NOW:%Y%m%dT%H}"  # a failure retries hourly
    stored_instance.report_runless_asset_event(dg.AssetMaterialization("series_registry"))
    assert startup().run_requests == []
    assert registry_startup_sensor.job_name == registry_schedule.job_name == "registry_job"
    assert registry_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    at = datetime(2026, 6, 15, 13, 30, tzinfo=UTC)
    context = dg.build_schedule_context(instance=stored_instance, scheduled_execution_time=at)
    assert registry_schedule(context).run_key == "registry:20260615"

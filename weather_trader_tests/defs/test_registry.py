"""The series registry in Dagster: discovered series become city partitions with no code change,
and a series whose station cannot be verified is listed with its reason and never traded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import Kind
from weather_trader.core.gating import (
    UNVERIFIED_SERIES,
    reason_code,
    unverified_series_reason,
    withhold,
)
from weather_trader.core.ports import MarketData
from weather_trader.core.series_registry import RegistryEntry
from weather_trader.core.trading import MarketQuote, RiskLimits, RiskState, decide_event
from weather_trader.defs.automation import forecast_schedule
from weather_trader.defs.markets.registry import UNVERIFIED_CHECK, series_registry
from weather_trader.defs.partitions import CITY_PARTITIONS, split_key
from weather_trader.defs.resources import (
    ClockResource,
    DatabaseResource,
    MarketDataResource,
    SimMarketDataResource,
)
from weather_trader.settings import Settings
from weather_trader.sim.world import build_sim
from weather_trader.sources.kalshi.market_models import Event, Series
from weather_trader.store import repo, repo_registry
from weather_trader.store.db import session_scope
from weather_trader_tests.defs.support import CITY, DAY, Pipeline, key

NYC = ["KXHIGHNY", "KXLOWTNYC"]
OUR_PLACE, ANOTHER_PLACE = "Central Park, New York", "LaGuardia Airport, New York"


class _Listed:
    """The local exchange's reads, listing only some series; the rules of the ``moved`` ones
    name another station than ours (as a series moved to a new station would)."""

    def __init__(self, reads: Any, listed: set[str], moved: set[str]) -> None:
        self._reads, self._listed, self._moved = reads, listed, moved

    def temperature_series(self) -> list[Series]:
        return [s for s in self._reads.temperature_series() if s.ticker in self._listed]

    def events(self, *, series_ticker: str, **query: Any) -> list[Event]:
        events = self._reads.events(series_ticker=series_ticker, **query)
        if series_ticker not in self._moved:
            return events
        return [
            e.model_copy(
                update={
                    "markets": [
                        m.model_copy(
                            update={
                                "rules_primary": m.rules_primary.replace(OUR_PLACE, ANOTHER_PLACE)
                            }
                        )
                        for m in e.markets or ()
                    ]
                }
            )
            for e in events
        ]


class ListedSeries(MarketDataResource):
    """The sim exchange as discovery sees it, with ``listed`` series only."""

    sim_seed: int
    listed: list[str]
    moved: list[str]

    def client(self) -> MarketData:
        return build_sim(self.sim_seed)[1]

    @contextmanager
    def exchange_reads(self) -> Iterator[Any]:
        with SimMarketDataResource(sim_seed=self.sim_seed).exchange_reads() as reads:
            yield _Listed(reads, set(self.listed), set(self.moved))


def discover(
    settings: Settings,
    instance: dg.DagsterInstance,
    listed: list[str],
    moved: tuple[str, ...] = (),
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [series_registry],
        resources={
            "database": DatabaseResource(url=settings.resolved_database_url),
            "market_data": ListedSeries(
                sim_seed=settings.sim_seed, listed=listed, moved=list(moved)
            ),
            "clock": ClockResource(),
        },
        instance=instance,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [event] = result.asset_materializations_for_node("series_registry")
    return {k: v.value for k, v in event.metadata.items()}


def scheduled_cities(instance: dg.DagsterInstance) -> set[str]:
    at = datetime(2026, 6, 15, 5, 20, tzinfo=UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    return {split_key(str(r.partition_key))[0] for r in forecast_schedule(context)}


@pytest.fixture
def stored_instance() -> Iterator[dg.DagsterInstance]:
    """A persistent instance with no city partition yet (schedules need a persistent one)."""
    with dg.instance_for_test() as inst:
        yield inst


def test_a_series_the_exchange_starts_listing_becomes_partitions(
    settings: Settings, engine: Engine, stored_instance: dg.DagsterInstance
) -> None:
    instance = stored_instance
    assert scheduled_cities(instance) == set()

    first = discover(settings, instance, NYC)
    assert first.success
    assert instance.get_dynamic_partitions(CITY_PARTITIONS) == ["NYC"]
    assert metadata(first)["city_partitions_added"] == "NYC"
    assert scheduled_cities(instance) == {"NYC"}

    # Denver's high appears on the exchange: a partition, and scheduled, with no code change.
    second = discover(settings, instance, [*NYC, "KXHIGHDEN"])
    assert second.success
    assert instance.get_dynamic_partitions(CITY_PARTITIONS) == ["NYC", "DEN"]
    assert metadata(second)["city_partitions_added"] == "DEN"
    assert (metadata(second)["series"], metadata(second)["verified"]) == (3, 3)
    assert scheduled_cities(instance) == {"NYC", "DEN"}
    with session_scope(engine) as session:
        assert repo_registry.verified_series(session) == {
            ("NYC", "high"),
            ("NYC", "low"),
            ("DEN", "high"),
        }

    again = discover(settings, instance, [*NYC, "KXHIGHDEN"])
    assert metadata(again)["city_partitions_added"] == "none"
    assert instance.get_dynamic_partitions(CITY_PARTITIONS) == ["NYC", "DEN"]


def test_a_city_whose_only_series_is_unverified_gets_no_partition(
    settings: Settings, stored_instance: dg.DagsterInstance
) -> None:
    result = discover(settings, stored_instance, ["KXLOWTNYC"], moved=("KXLOWTNYC",))
    assert result.success  # listed, with its reason; a warning, not a failure
    assert stored_instance.get_dynamic_partitions(CITY_PARTITIONS) == []
    assert metadata(result)["unverified"] == 1


def test_an_empty_discovery_keeps_the_stored_registry(
    settings: Settings, engine: Engine, stored_instance: dg.DagsterInstance
) -> None:
    assert discover(settings, stored_instance, NYC).success
    result = discover(settings, stored_instance, [])
    assert not result.success
    with session_scope(engine) as session:
        assert {e.series_ticker for e in repo_registry.load_registry(session)} == set(NYC)


def test_an_unverified_series_is_listed_with_its_reason_and_never_traded(
    pipeline: Pipeline,
) -> None:
    result = discover(pipeline.settings, pipeline.instance, NYC, moved=("KXLOWTNYC",))
    assert result.success

    meta = metadata(result)
    rows = {r.data["series_ticker"]: r.data for r in meta["registry"].records}
    assert set(rows) == set(NYC)
    assert rows["KXHIGHNY"]["verified"] is True
    low = rows["KXLOWTNYC"]
    assert low["verified"] is False
    assert ANOTHER_PLACE in low["reason"]
    assert (low["city"], low["kind"], low["station"]) == ("NYC", "low", "KNYC")
    assert (meta["verified"], meta["unverified"]) == (1, 1)
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == UNVERIFIED_CHECK and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["reasons"].value == f"KXLOWTNYC: {low['reason']}"

    run = pipeline.run(key(CITY, DAY))
    assert run.success
    [decided] = run.asset_materializations_for_node("trade_decisions")
    assert decided.metadata["unverified_series"].value == "low"
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        orders = repo.orders_for(session, city=CITY, day=DAY)
    lows = decisions[decisions["kind"] == "low"]
    highs = decisions[decisions["kind"] == "high"]
    assert len(lows) > 0 and not lows["taken"].any() and (lows["count"] == 0).all()
    assert set(lows["reason"]) == {f"unverified_series: KXLOWTNYC: {low['reason']}"}
    assert not highs["reason"].str.startswith("unverified_series").any()
    assert not set(orders["ticker"]) & set(lows["ticker"])


# -- the rule (core.gating) ------------------------------------------------------------------------


def entry(ticker: str, city: str, kind: Kind, verified: bool, reason: str = "ok") -> RegistryEntry:
    return RegistryEntry(ticker, city, kind, "KNYC", "CLINYC", -5, verified, reason)


def test_only_a_verified_series_may_be_traded() -> None:
    high = entry("KXHIGHNY", "NYC", "high", True)
    low = entry("KXLOWTNYC", "NYC", "low", False, "rules name 'LaGuardia'")
    old = entry("HIGHNY", "NYC", "high", False, "series ticker HIGHNY but our table has KXHIGHNY")
    registry = [old, high, low]
    assert unverified_series_reason("NYC", "high", registry) is None  # one verified is enough
    assert unverified_series_reason("NYC", "low", registry) == (
        "unverified_series: KXLOWTNYC: rules name 'LaGuardia'"
    )
    assert unverified_series_reason("DEN", "high", registry) == (
        "unverified_series: the exchange lists no high series of DEN"
    )
    assert unverified_series_reason("NYC", "high", []) == (
        "unverified_series: no series registry discovered yet"
    )
    assert reason_code(unverified_series_reason("NYC", "low", registry) or "") == UNVERIFIED_SERIES


LIMITS = RiskLimits(
    max_order_cost=Decimal(50),
    max_event_exposure=Decimal(100),
    max_total_exposure=Decimal(500),
    daily_loss_limit=Decimal(100),
    kelly_fraction=0.25,
    min_edge=Decimal("0.02"),
    kill_switch=False,
)


def test_withheld_candidates_take_nothing_and_say_why() -> None:
    quotes = [
        MarketQuote(
            "T-B1", "EV", Bracket.between(40, 41), Decimal("0.10"), Decimal("0.12"), 50, 50
        ),
        MarketQuote("T-B2", "EV", Bracket.greater(41), Decimal("0.80"), Decimal("0.82"), 50, 50),
    ]
    decisions = decide_event(quotes, [0.6, 0.4], RiskState(Decimal(1000)), LIMITS)
    assert any(d.taken for d in decisions)
    withheld = withhold(decisions, "unverified_series: why")
    assert [d.reason for d in withheld] == ["unverified_series: why"] * len(decisions)
    assert not any(d.taken for d in withheld)
    assert all(d.count == 0 and d.cost == 0 and d.fee == 0 for d in withheld)

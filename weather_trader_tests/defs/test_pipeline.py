"""The partitioned graph end to end on the offline world: one partition, re-runs, ranges,
blocking checks, modes and a live (point-in-time) partition."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine, func, select

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import KINDS
from weather_trader.core.climate_day import climate_day_window, decision_time
from weather_trader.core.records import ClimateReport
from weather_trader.core.skill import pmf_summary
from weather_trader.definitions import build_definitions
from weather_trader.defs.forecasting.assets import predict_weather
from weather_trader.defs.forecasting.models import suite_chooser
from weather_trader.defs.partitions import split_key
from weather_trader.defs.resources import (
    BrokerResource,
    ClockResource,
    ModeUnavailableError,
    SimWeatherResource,
    TradingConfigResource,
    build_resources,
)
from weather_trader.kalshi_signing import generate_key_pair
from weather_trader.settings import Settings
from weather_trader.sim.broker import PaperBroker
from weather_trader.sim.exchange.clocked import ClockedBroker, ClockedMarketData
from weather_trader.sim.world import build_sim
from weather_trader.sources.kalshi.broker import KalshiBroker
from weather_trader.sources.kalshi.market_data import KalshiMarketData
from weather_trader.sources.live_weather import LiveWeatherSource, PointInTimeUnavailable
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import FillRow, ForecastRow
from weather_trader_tests.defs.support import (
    CITY,
    DAY,
    Pipeline,
    key,
    seed_history,
    settlement_rows,
)

PARTITIONED_ASSETS = {
    "forecast_snapshots",
    "intraday_observations",
    "climate_reports",
    "temperature_distribution",
    "kalshi_markets",
    "bracket_probabilities",
    "trade_decisions",
    "orders",
    "settlements",
    "forecast_scores",
}
PARTITIONED_CHECKS = {
    "forecasts_fresh",
    "forecasts_plausible",
    "all_sources_present",
    "observations_plausible",
    "reports_plausible",
    "report_matches_observations",
    "distribution_is_sane",
    "event_probabilities_sum_to_one",
    "positions_match_exchange",
}
DOWNSTREAM_OF_FORECASTS = {
    "temperature_distribution",
    "bracket_probabilities",
    "trade_decisions",
    "orders",
    "settlements",
    "forecast_scores",
}


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, set[str]]:
    """Asset name -> partition keys materialised in the run."""
    out: dict[str, set[str]] = {}
    for event in result.get_asset_materialization_events():
        out.setdefault(event.asset_key.to_user_string(), set()).add(event.partition)
    return out


def meta(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata of the asset's step (a range run reports it on every partition)."""
    events = result.asset_materializations_for_node(asset)
    values = [{k: v.value for k, v in e.metadata.items()} for e in events]
    assert values and all(v == values[0] for v in values)
    return values[0]


def run_meta(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The run totals a range run reports on the asset's output (its first materialisations)."""
    events = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in events[0].metadata.items()}


def partition_meta(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """Partition key -> metadata of the asset's latest materialisation of it in the run."""
    return {e.partition: e.metadata for e in result.asset_materializations_for_node(asset)}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def state(p: Pipeline) -> dict[str, Any]:
    """Everything a re-run must leave unchanged, as comparable plain values."""
    with session_scope(p.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        orders = repo.orders_for(session, city=CITY, day=DAY)
        return {
            "forecasts": session.scalar(select(func.count()).select_from(ForecastRow)),
            "distributions": [repo.distribution_for(session, CITY, DAY, k) for k in KINDS],
            "markets": [repo.market_snapshots(session, CITY, DAY, k) for k in KINDS],
            "probabilities": repo.bracket_probabilities_for(session, CITY, DAY).to_dict("records"),
            "decisions": decisions.to_dict("records"),
            "orders": orders.to_dict("records"),
            "fills": session.scalar(select(func.count()).select_from(FillRow)),
            "positions": repo.positions_for(session, city=CITY, day=DAY),
            "settlements": [
                (s.ticker, s.outcome_side, s.count, s.cost, s.fees, s.payout, s.pnl)
                for s in settlement_rows(p.engine, CITY, DAY)
            ],
            "pnl": repo.pnl_summary(session).to_dict("records"),
        }


# -- one partition --------------------------------------------------------------------------------


def test_one_partition_end_to_end(pipeline: Pipeline) -> None:
    result = pipeline.run(key(CITY, DAY))

    assert result.success
    assert materialized(result) == {name: {key(CITY, DAY)} for name in PARTITIONED_ASSETS}
    assert checks(result) == dict.fromkeys(PARTITIONED_CHECKS, True)
    as_of = decision_time(CITY, DAY)  # a replay decides at 10:00 LST the day before

    with session_scope(pipeline.engine) as session:
        forecasts = repo.forecasts_as_of(session, CITY, DAY, as_of)
        assert set(forecasts["kind"]) == set(KINDS)
        assert (forecasts["issued_at"] <= as_of).all()
        assert len(repo.observations_for(session, CITY, DAY)) == 24
        final = repo.final_report(session, CITY, DAY)
        assert final is not None and final.final

        events_by_kind = {}
        for kind in KINDS:
            dist = repo.distribution_for(session, CITY, DAY, kind)
            assert dist is not None
            assert dist.as_of == as_of
            assert dist.model_version == pipeline.model_version
            assert dist.n_forecasts == int((forecasts["kind"] == kind).sum())

            markets = repo.market_snapshots(session, CITY, DAY, kind)
            assert len(markets) >= 2
            assert {m.captured_at for m in markets} == {as_of}
            assert len({m.event_ticker for m in markets}) == 1
            events_by_kind[kind] = markets

            probs = repo.bracket_probabilities_for(session, CITY, DAY, kind)
            assert sorted(probs["ticker"]) == sorted(m.ticker for m in markets)
            assert math.isclose(math.fsum(probs["p_model"]), 1.0, abs_tol=1e-9)

        decisions = repo.decisions_for(session, CITY, DAY)
        n_markets = sum(len(m) for m in events_by_kind.values())
        assert len(decisions) == 2 * n_markets
        assert not decisions.duplicated(["ticker", "side"]).any()
        assert set(decisions["side"]) == {"yes", "no"}
        taken = decisions[decisions["taken"]]
        assert len(taken) > 0, f"the sim should offer {CITY} {DAY} at least one trade"
        assert (taken["count"] > 0).all()
        assert (decisions.loc[~decisions["taken"], "count"] == 0).all()

        orders = repo.orders_for(session, city=CITY, day=DAY)
        assert sorted(zip(orders["ticker"], orders["outcome_side"], strict=True)) == sorted(
            zip(taken["ticker"], taken["side"], strict=True)
        )
        assert orders["client_order_id"].is_unique
        assert (orders["count"].to_numpy() <= 100).all()

        positions = repo.positions_for(session, city=CITY, day=DAY)
        filled = orders[orders["filled_count"] > 0]
        assert len(positions) == len(filled) > 0
        brackets = {m.ticker: m for ms in events_by_kind.values() for m in ms}
    settlements = {
        (s.ticker, s.outcome_side): s for s in settlement_rows(pipeline.engine, CITY, DAY)
    }
    assert set(settlements) == {(p.ticker, p.outcome_side) for p in positions}
    for p in positions:
        s = settlements[(p.ticker, p.outcome_side)]
        market = brackets[p.ticker]
        value = final.value(p.kind)
        yes = Bracket(market.strike_type, market.floor_strike, market.cap_strike).settles_yes(value)
        assert s.settled_value == value
        assert s.settled_yes is yes
        assert s.count == p.count
        assert s.payout == (Decimal(p.count) if (p.outcome_side == "yes") == yes else 0)
        assert s.pnl == s.payout - s.cost - s.fees
        assert (s.cost, s.fees) == (p.cost, p.fees)
        assert p.settled and p.realized_pnl == s.pnl

    pnl = meta(result, "settlements")["pnl"]
    assert pnl == pytest.approx(float(sum(s.pnl for s in settlements.values())))
    assert meta(result, "orders")["orders_sent"] == len(orders)
    assert meta(result, "forecast_scores")["events_scored"] == len(KINDS)
    with session_scope(pipeline.engine) as session:
        events = repo.events_after(session, 0, limit=10_000)
    assert {"model", "distribution", "decision", "order", "settlement"} <= {e.topic for e in events}
    # The model version on the live feed and in Dagster is the one the distributions cite.
    (model_event,) = [e for e in events if e.topic == "model"]
    assert model_event.payload["version"] == pipeline.model_version
    assert pipeline.model_version.startswith(f"suite-{DAY - timedelta(days=2)}-")


def test_rerun_of_a_partition_is_idempotent(pipeline: Pipeline) -> None:
    first = pipeline.run(key(CITY, DAY))
    before = state(pipeline)
    second = pipeline.run(key(CITY, DAY))
    after = state(pipeline)

    assert second.success
    assert len(before["orders"]) > 0 and len(before["settlements"]) > 0
    for name in before:
        assert after[name] == before[name], name
    assert meta(second, "forecast_snapshots")["points_new"] == 0
    assert meta(second, "orders")["orders_sent"] == 0
    assert meta(second, "orders")["already_sent"] == meta(first, "orders")["orders_sent"]
    assert meta(second, "settlements")["pnl"] == meta(first, "settlements")["pnl"]


def test_rerun_of_a_partition_appends_no_duplicate_outbox_events(pipeline: Pipeline) -> None:
    def outbox() -> list[tuple[int, str, str | None, Any]]:
        with session_scope(pipeline.engine) as session:
            events = repo.events_after(session, 0, limit=100_000)
        return [(e.id, e.topic, e.city, e.payload) for e in events]

    assert pipeline.run(key(CITY, DAY)).success
    first = outbox()
    assert {"distribution", "decision", "order", "settlement"} <= {t for _, t, _, _ in first}
    assert pipeline.run(key(CITY, DAY)).success
    assert pipeline.run(key(CITY, DAY)).success
    assert outbox() == first  # the feed streams each logical event once


def test_observation_check_sees_the_runs_own_observations(pipeline: Pipeline) -> None:
    """A stored final that disagrees with the observations by > 3 F fails the (warning) check
    even on a first run: the observations are stored before the reports are checked."""
    source, _ = build_sim(pipeline.settings.sim_seed)
    (final,) = [r for r in source.climate_reports(CITY, DAY, datetime.now(UTC)) if r.final]
    wrong = final.model_copy(
        update={"max_f": final.max_f + 10, "correction": True,
                "issued_at": final.issued_at + timedelta(days=1)}
    )  # fmt: skip
    with session_scope(pipeline.engine) as session:
        repo.upsert_climate_reports(session, [ClimateReport(**wrong.model_dump())])

    result = pipeline.run(key(CITY, DAY))

    assert result.success  # the check warns, it does not block settlement
    assert checks(result)["report_matches_observations"] is False
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "report_matches_observations"
    ]  # fmt: skip
    assert evaluation.metadata["disagreements"].value == key(CITY, DAY)


# -- ranges ---------------------------------------------------------------------------------------


def range_snapshot(p: Pipeline, days: list[date]) -> list[Any]:
    with session_scope(p.engine) as session:
        return [
            [repo.decisions_for(session, CITY, day).to_dict("records") for day in days],
            repo.orders_for(session).to_dict("records"),
            repo.positions_for(session),
            repo.pnl_summary(session).to_dict("records"),
        ]


def test_range_run_through_pipeline_job_touches_every_day(pipeline: Pipeline) -> None:
    days = [DAY + timedelta(days=i) for i in range(3)]
    keys = {key(CITY, d) for d in days}
    job = pipeline.definitions.resolve_job_def("pipeline_job")
    tags = {
        "dagster/asset_partition_range_start": key(CITY, days[0]),
        "dagster/asset_partition_range_end": key(CITY, days[-1]),
    }

    result = job.execute_in_process(instance=pipeline.instance, tags=tags)

    assert result.success
    assert materialized(result) == {name: keys for name in PARTITIONED_ASSETS}
    assert checks(result) == dict.fromkeys(PARTITIONED_CHECKS, True)
    assert len(pipeline.instance.get_run_records()) == 2  # the model run and this one run
    assert run_meta(result, "forecast_snapshots")["partitions"] == len(days)
    pulled = partition_meta(result, "forecast_snapshots")
    assert run_meta(result, "forecast_snapshots")["points_pulled"] == sum(
        m["points_pulled"].value for m in pulled.values()
    )
    observed = partition_meta(result, "intraday_observations")
    assert run_meta(result, "intraday_observations")["observations"] == sum(
        m["observations"].value for m in observed.values()
    )
    sent = partition_meta(result, "orders")
    assert set(sent) == keys
    assert run_meta(result, "orders")["orders_sent"] == sum(
        m["orders_sent"].value for m in sent.values()
    )
    assert run_meta(result, "temperature_distribution")["distributions"] == 2 * len(days)
    # Each city-day's latest materialisation reports its own figures, not the run's totals.
    own = partition_meta(result, "bracket_probabilities")
    assert set(own) == keys
    markets = {k: m["markets"].value for k, m in partition_meta(result, "kalshi_markets").items()}
    assert run_meta(result, "kalshi_markets")["markets"] == sum(markets.values())
    assert set(markets) == keys and all(n > 0 for n in markets.values())
    pnl = {k: m["pnl"].value for k, m in partition_meta(result, "settlements").items()}
    assert set(pnl) == keys
    assert run_meta(result, "settlements")["pnl"] == pytest.approx(sum(pnl.values()))
    scored = partition_meta(result, "forecast_scores")
    assert (
        sum(m["events_scored"].value for m in scored.values())
        == (run_meta(result, "forecast_scores")["events_scored"])
    )
    with session_scope(pipeline.engine) as session:
        for k in keys:
            city, day = split_key(k)
            priced = repo.bracket_probabilities_for(session, city, day)
            assert own[k]["brackets"].value == len(priced)
            table = own[k]["bracket_prices"].value
            assert {r.data["ticker"] for r in table.records} == set(priced["ticker"])
            dist_table = partition_meta(result, "temperature_distribution")[k]["distribution"]
            assert {r.data["kind"] for r in dist_table.value.records} == set(KINDS)
            assert partition_meta(result, "trade_decisions")[k]["candidates"].value == len(
                repo.decisions_for(session, city, day)
            )
    with session_scope(pipeline.engine) as session:
        for day in days:
            for kind in KINDS:
                dist = repo.distribution_for(session, CITY, day, kind)
                assert dist is not None and dist.as_of == decision_time(CITY, day)
            assert len(repo.decisions_for(session, CITY, day)) > 0
            assert repo.final_report(session, CITY, day) is not None
        settled_days = {p.climate_date for p in repo.positions_for(session, city=CITY)}
        assert all(p.settled for p in repo.positions_for(session, city=CITY))
    # Ours (weather pooled with the market) sits close to the market, so not every day trades.
    assert settled_days <= set(days) and len(settled_days) >= 1

    # Replaying the same range changes nothing: same decisions, orders, positions and P&L.
    before = range_snapshot(pipeline, days)
    assert job.execute_in_process(instance=pipeline.instance, tags=tags).success
    assert range_snapshot(pipeline, days) == before


# -- blocking checks ------------------------------------------------------------------------------


def test_failing_blocking_check_stops_everything_downstream(pipeline: Pipeline) -> None:
    strict = TradingConfigResource(max_forecast_age_hours=0.001)

    result = pipeline.run(key(CITY, DAY), raise_on_error=False, trading=strict)

    assert not result.success
    assert checks(result)["forecasts_fresh"] is False
    done = set(materialized(result))
    assert "forecast_snapshots" in done
    assert not done & DOWNSTREAM_OF_FORECASTS


class _ImpossibleForecasts:
    """The sim source with one model answering in Kelvin and a provider that never answers."""

    sources = ("sim", "nws")

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[Any]:
        points = self.inner.forecasts(city, day, as_of)
        return [*points, points[0].model_copy(update={"value_f": points[0].value_f + 459.67})]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _ImpossibleWeather(SimWeatherResource):
    def client(self) -> Any:
        return _ImpossibleForecasts(super().client())


def test_impossible_forecast_blocks_trading_and_missing_source_warns(pipeline: Pipeline) -> None:
    result = pipeline.run(
        key(CITY, DAY),
        raise_on_error=False,
        weather=_ImpossibleWeather(sim_seed=pipeline.settings.sim_seed),
    )

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["forecasts_plausible"].passed is False
    assert evaluations["forecasts_plausible"].metadata["count"].value == 1
    assert evaluations["all_sources_present"].passed is False
    assert evaluations["all_sources_present"].metadata["problems"].value == f"{key(CITY, DAY)}/nws"
    assert not set(materialized(result)) & DOWNSTREAM_OF_FORECASTS
    with session_scope(pipeline.engine) as session:
        assert all(repo.distribution_for(session, CITY, DAY, k) is None for k in KINDS)
        assert repo.decisions_for(session, CITY, DAY).empty
        assert repo.orders_for(session, city=CITY).empty


# -- modes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["paper", "demo", "live"])
def test_real_modes_use_the_real_clients(mode: str, tmp_path: Path) -> None:
    key = tmp_path / "kalshi.pem"
    key.write_bytes(generate_key_pair()[0])
    env = {
        "WEATHER_TRADER_MODE": mode,
        "WEATHER_TRADER_HOME": str(tmp_path),
        "WEATHER_TRADER_USER_AGENT": "weather-trader-tests (ops@example.com)",
        "KALSHI_KEY_ID": "test-key",
        "KALSHI_PRIVATE_KEY_PATH": str(key),
    }
    settings = Settings.from_env(env)
    dg.Definitions.validate_loadable(build_definitions(settings))
    resources = build_resources(settings)

    weather = resources["weather"].client()
    assert isinstance(weather, LiveWeatherSource)
    # A replayed day asks for the past: live sources refuse before making any request (the
    # point-in-time archive answers that).
    with pytest.raises(PointInTimeUnavailable, match="backfill"):
        weather.forecasts(CITY, DAY, decision_time(CITY, DAY))
    market_data = resources["market_data"].client()
    assert isinstance(market_data, KalshiMarketData)
    assert not isinstance(market_data, ClockedMarketData)  # a real exchange is never wound
    assert market_data.client.base_url == settings.resolved_kalshi_api_url
    broker = resources["broker"].client()
    # Paper mode fills against the real books locally; demo and live send Kalshi orders.
    assert isinstance(broker, PaperBroker if mode == "paper" else KalshiBroker)


def test_sim_mode_with_a_local_exchange_trades_through_the_client(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"WEATHER_TRADER_HOME": str(tmp_path), "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2"}
    )
    resources = build_resources(settings)
    for name in ("market_data", "broker"):  # winding the clock and orders both sign
        with pytest.raises(ModeUnavailableError, match="exchange create-key"):
            resources[name].client()  # no key registered yet
    key = tmp_path / "local.pem"
    key.write_bytes(generate_key_pair()[0])
    keyed = build_resources(
        Settings.from_env(
            {
                "WEATHER_TRADER_HOME": str(tmp_path),
                "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2",
                "KALSHI_KEY_ID": "local",
                "KALSHI_PRIVATE_KEY_PATH": str(key),
            }
        )
    )
    market_data = keyed["market_data"].client()
    assert isinstance(market_data, ClockedMarketData)  # wound to each read's instant
    assert isinstance(market_data.inner, KalshiMarketData)
    assert isinstance(keyed["broker"].client(), ClockedBroker)


# -- a live partition -----------------------------------------------------------------------------


def test_live_partition_uses_now_and_nothing_published_later(pipeline: Pipeline) -> None:
    start, end = climate_day_window(CITY, DAY)
    now = start + timedelta(hours=15)  # 15:00 local standard time, inside the climate day
    assert start < now < end
    # The archive already holds runs for DAY issued after `now` (as a later replay would).
    seed_history(pipeline.engine, [CITY], DAY, DAY, reports=False)
    with session_scope(pipeline.engine) as session:
        everything = repo.forecasts_as_of(session, CITY, DAY, end + timedelta(days=2))
    assert (everything["issued_at"] > now).any()

    result = pipeline.run(key(CITY, DAY), clock=ClockResource(fixed_now=now.isoformat()))

    assert result.success
    assert checks(result)["forecasts_fresh"] is True
    version, suite = suite_chooser(
        pipeline.resources["database"], pipeline.resources["model_store"]
    ).at(now)
    with session_scope(pipeline.engine) as session:
        known = repo.forecasts_as_of(session, CITY, DAY, now)
        everything = repo.forecasts_as_of(session, CITY, DAY, end + timedelta(days=2))
        assert (known["issued_at"] <= now).all()
        point_in_time = predict_weather(suite, known, CITY, DAY, now)
        hindsight = predict_weather(suite, everything, CITY, DAY, now)
        for kind in KINDS:
            dist = repo.distribution_for(session, CITY, DAY, kind)
            assert dist is not None and dist.as_of == now and dist.model_version == version
            mu, sigma, extra = pmf_summary(point_in_time[kind])
            assert dist.mu == pytest.approx(mu) and dist.sigma == pytest.approx(sigma)
            assert dist.extra == extra
            assert dist.mu != pytest.approx(pmf_summary(hindsight[kind])[0])  # it could fail
            assert {m.captured_at for m in repo.market_snapshots(session, CITY, DAY, kind)} == {now}
        observations = repo.observations_for(session, CITY, DAY)
        assert 0 < len(observations) < 24
        assert all(start <= o.observed_at < now for o in observations)
        decisions = repo.decisions_for(session, CITY, DAY)
        assert len(decisions) > 0 and (decisions["as_of"] == now).all()
        orders = repo.orders_for(session, city=CITY, day=DAY)
        assert (orders["created_at"] == now).all()
        # The day is not over: nothing is final, nothing is settled.
        assert repo.final_report(session, CITY, DAY) is None
        assert not any(p.settled for p in repo.positions_for(session, city=CITY, day=DAY))
    assert settlement_rows(pipeline.engine, CITY, DAY) == []
    assert meta(result, "settlements")["awaiting_final_report"] == 1


def test_live_distribution_is_bounded_by_what_was_observed(pipeline: Pipeline) -> None:
    start, _ = climate_day_window(CITY, DAY)
    now = start + timedelta(hours=16)  # late afternoon: the day's high is mostly in
    result = pipeline.run(key(CITY, DAY), clock=ClockResource(fixed_now=now.isoformat()))
    assert result.success
    with session_scope(pipeline.engine) as session:
        running_max = max(o.temp_f for o in repo.observations_for(session, CITY, DAY))
        dist = repo.distribution_for(session, CITY, DAY, "high")
        assert dist is not None and dist.floor == running_max and dist.cap is None
        probs = repo.bracket_probabilities_for(session, CITY, DAY, "high")
        markets = {m.ticker: m for m in repo.market_snapshots(session, CITY, DAY, "high")}
    assert math.isclose(probs["p_model"].sum(), 1.0, abs_tol=1e-9)
    for ticker, p in zip(probs["ticker"], probs["p_model"], strict=True):
        _, hi = markets[ticker].bracket.integer_range()
        if hi is not None and hi + 0.5 <= running_max:
            assert p == 0.0  # the observed maximum already ruled this bracket out


# -- point in time --------------------------------------------------------------------------------


def test_a_replay_never_uses_a_model_trained_on_the_day_it_replays(pipeline: Pipeline) -> None:
    pipeline.train(DAY + timedelta(days=5))  # newer, but it has seen DAY's final report
    leaky = pipeline.model_version
    result = pipeline.run(key(CITY, DAY))
    assert result.success
    with session_scope(pipeline.engine) as session:
        used = {repo.distribution_for(session, CITY, DAY, k).model_version for k in KINDS}
    assert leaky not in used and used == {pipeline_model_before(pipeline)}


def pipeline_model_before(p: Pipeline) -> str:
    """The version trained by the fixture (through DAY - 2)."""
    with session_scope(p.engine) as session:
        versions = repo.model_versions(session, "weather_model")
    return next(
        v.version for v in versions if v.params["train_end"] == str(DAY - timedelta(days=2))
    )


def test_no_usable_model_fails_the_run_clearly(settings: Settings, engine: Engine,
                                               instance: dg.DagsterInstance) -> None:  # fmt: skip
    p = Pipeline(settings=settings, engine=engine, instance=instance)
    seed_history(engine, [CITY], DAY - timedelta(days=40), DAY + timedelta(days=3))
    p.train(DAY + timedelta(days=3))
    result = p.run(key(CITY, DAY), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no weather_model version usable" in failure.step_failure_data.error.cause.message


def test_a_replay_prices_the_book_of_its_instant_not_a_later_one(pipeline: Pipeline) -> None:
    assert pipeline.run(key(CITY, DAY)).success
    as_of = decision_time(CITY, DAY)
    _, market = build_sim(Settings.from_env({}).sim_seed)
    later = [
        s for k in KINDS for s in market.event_markets(CITY, DAY, k, as_of + timedelta(hours=30))
    ]
    with session_scope(pipeline.engine) as session:
        repo.replace_markets(session, CITY, DAY, later)  # e.g. stored by a live run
    assert pipeline.run(key(CITY, DAY)).success
    with session_scope(pipeline.engine) as session:
        probs = repo.bracket_probabilities_for(session, CITY, DAY)
        then = {
            s.ticker: s
            for k in KINDS
            for s in repo.market_snapshots(session, CITY, DAY, k, as_of=as_of)
        }
    assert {s.captured_at for s in then.values()} == {as_of}
    for ticker, bid in zip(probs["ticker"], probs["yes_bid"], strict=True):
        assert bid == then[ticker].yes_bid


class _CrashingBroker:
    def place(self, order: Any, book: Any, as_of: datetime) -> Any:
        raise ConnectionError("connection dropped while sending the order")


class CrashingBrokerResource(BrokerResource):
    """A broker whose connection drops after the order was recorded as pending."""

    def client(self) -> Any:
        return _CrashingBroker()


def test_an_order_left_pending_by_a_crash_is_sent_on_the_rerun(pipeline: Pipeline) -> None:
    crashed = pipeline.run(key(CITY, DAY), raise_on_error=False, broker=CrashingBrokerResource())
    assert not crashed.success
    with session_scope(pipeline.engine) as session:
        pending = repo.orders_for(session, city=CITY, day=DAY)
    assert pending["status"].tolist() == ["pending"]  # recorded, then the send failed
    rerun = pipeline.run(key(CITY, DAY))
    assert rerun.success
    assert meta(rerun, "orders")["orders_sent"] >= 1
    with session_scope(pipeline.engine) as session:
        orders = repo.orders_for(session, city=CITY, day=DAY).set_index("client_order_id")
    first = pending["client_order_id"].iloc[0]
    assert orders.loc[first, "status"] != "pending"
    assert orders.loc[first, "filled_count"] > 0


def test_live_trading_run_after_the_forecast_run_prices_the_new_book(pipeline: Pipeline) -> None:
    start, _ = climate_day_window(CITY, DAY)
    forecast_at, trade_at = start - timedelta(hours=6), start - timedelta(hours=5, minutes=50)

    def run(selection: list[str], at: datetime) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            pipeline.partitioned_assets(),
            selection=selection,
            partition_key=key(CITY, DAY),
            resources={**pipeline.resources, "clock": ClockResource(fixed_now=at.isoformat())},
            instance=pipeline.instance,
        )

    assert run(["forecast_snapshots", "temperature_distribution"], forecast_at).success
    trading = ["kalshi_markets", "bracket_probabilities", "trade_decisions", "orders"]
    assert run(trading, trade_at).success
    with session_scope(pipeline.engine) as session:
        probs = repo.bracket_probabilities_for(session, CITY, DAY)
        decisions = repo.decisions_for(session, CITY, DAY)
    assert len(probs) > 0 and (probs["as_of"] == trade_at).all()
    assert len(decisions) == 2 * len(probs) and (decisions["as_of"] == trade_at).all()

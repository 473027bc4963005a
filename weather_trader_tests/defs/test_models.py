"""The forecast models as versioned assets, their evaluation, and trading gated on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg
import numpy as np
from sqlalchemy import delete

from weather_trader.core.climate_day import decision_time
from weather_trader.core.forecasting.pmf import N_SUPPORT
from weather_trader.core.gating import NO_MEASURED_EDGE
from weather_trader.core.model_choice import training_known_at
from weather_trader.defs.forecasting.models import (
    EVALUATION,
    MODEL_ASSETS,
    WEATHER_ASSET,
    Evaluation,
    forecast_evaluation,
    load_suite,
)
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import ModelVersionRow
from weather_trader_tests.defs.support import CITY, DAY, Pipeline, key

TRAIN_END = DAY - timedelta(days=2)


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def test_each_model_is_a_versioned_asset_with_metrics(pipeline: Pipeline) -> None:
    result = pipeline.train(TRAIN_END)  # the fixture trained once already: same data
    meta = _metadata(result)
    assert set(meta) == set(MODEL_ASSETS)
    version = pipeline.model_version
    assert {m["version"] for m in meta.values()} == {version}
    assert all(m["known_at"] == training_known_at(TRAIN_END).isoformat() for m in meta.values())
    weather = meta[WEATHER_ASSET]
    assert weather["crps_oos"] > 0 and weather["cases_trained"] > 100
    assert weather["crps_oos"] <= weather["crps_oos_by_model"]["climatology"] + 1e-9
    assert weather["events_scored"] > 30  # the recorded sim market of the history days
    assert (
        sum(r.data["cases"] for r in weather["pit"].records)
        == weather["crps_oos_by_model"]["cases_scored"]
    )
    assert {"event_brier_ours", "event_brier_market", "pool"} <= set(meta["ours_model"])
    assert meta["emos_model"]["fitted"] is True
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "beats_climatology": True
    }
    with session_scope(pipeline.engine) as session:
        for name in MODEL_ASSETS:
            (stored,) = [v for v in repo.model_versions(session, name) if v.version == version]
            assert stored.params["known_at"] == training_known_at(TRAIN_END).isoformat()
            assert stored.metrics["beats_baseline"] is True
    # The five artifacts make one suite that predicts integer pmfs.
    suite = load_suite(pipeline.resources["model_store"], version)
    assert set(suite.components) == {"climatology", "emos", "xgboost"}
    assert suite.pool.n_events > 0


def test_the_newest_known_suite_is_used_not_the_newest_created(pipeline: Pipeline) -> None:
    fixture_version = pipeline.model_version
    pipeline.train(DAY - timedelta(days=10))  # created last, but known earlier
    assert pipeline.model_version != fixture_version
    assert pipeline.run(key(CITY, DAY)).success
    with session_scope(pipeline.engine) as session:
        dist = repo.distribution_for(session, CITY, DAY, "high")
    assert dist is not None and dist.model_version == fixture_version
    assert dist.method == "weather-suite" and len(dist.extra["pmf"]) < N_SUPPORT
    assert np.isclose(sum(dist.extra["pmf"]), 1.0)


def test_evaluation_measures_ours_against_the_market_per_city_and_instant(
    pipeline: Pipeline,
) -> None:
    config = {"train_end": str(TRAIN_END), "min_events": 30}
    result = dg.materialize(
        [forecast_evaluation],
        resources=pipeline.resources,
        instance=pipeline.instance,
        run_config={"ops": {EVALUATION: {"config": config}}},
    )
    assert result.success
    meta = _metadata(result)[EVALUATION]
    rows = [r.data for r in meta["edges"].records]
    # Markets were recorded for NYC only, at the two default instants.
    assert {(r["city"], r["instant"]) for r in rows} == {
        (CITY, "D-1 16:00"),
        (CITY, "D 08:00"),
    }
    assert all(r["events"] > 30 for r in rows)
    assert all(0 < r["brier_ours"] < 2 and 0 < r["brier_market"] < 2 for r in rows)
    with session_scope(pipeline.engine) as session:
        stored = repo.latest_model_version(session, EVALUATION)
    assert stored is not None and stored.version == meta["version"]
    evaluation = Evaluation(stored)
    assert [i.label for i in evaluation.instants] == ["D-1 16:00", "D 08:00"]
    edge = evaluation.edges[(CITY, "D-1 16:00")]
    assert edge.events == next(r["events"] for r in rows if r["instant"] == "D-1 16:00")
    assert stored.params["known_at"] == training_known_at(TRAIN_END).isoformat()


def _forget_evaluations(pipeline: Pipeline) -> None:
    with session_scope(pipeline.engine) as session:
        session.execute(delete(ModelVersionRow).where(ModelVersionRow.name == EVALUATION))


def _decide(pipeline: Pipeline, require: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        pipeline.partitioned_assets(),
        partition_key=key(CITY, DAY),
        resources=pipeline.resources,
        instance=pipeline.instance,
        run_config={"ops": {"trade_decisions": {"config": {"require_measured_edge": require}}}},
    )


def test_no_measured_edge_takes_nothing_and_says_why(pipeline: Pipeline) -> None:
    _forget_evaluations(pipeline)
    pipeline.record_evaluation(TRAIN_END, brier_ours=0.531, brier_market=0.520, events=112)

    result = _decide(pipeline)

    assert result.success
    # A replay decides at 10:00 the day before: D-1 16:00 is the nearest instant.
    why = "no_measured_edge: ours 0.531 vs market 0.520 event Brier over 112 events at D-1 16:00"
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
        assert repo.orders_for(session, city=CITY, day=DAY).empty
    assert not decisions["taken"].any()
    gated = decisions[decisions["reason"] == why]
    assert len(gated) > 0  # the model wanted these trades
    assert set(decisions["reason"]) <= {why, "no_edge", "no_liquidity"}
    (meta,) = result.asset_materializations_for_node("trade_decisions")
    assert meta.metadata["edge_gate"].value == why
    assert meta.metadata[f"reason_{NO_MEASURED_EDGE}"].value == len(gated)


def test_without_any_evaluation_nothing_is_traded_on_model_edge(pipeline: Pipeline) -> None:
    _forget_evaluations(pipeline)
    assert _decide(pipeline).success
    with session_scope(pipeline.engine) as session:
        decisions = repo.decisions_for(session, CITY, DAY)
    assert not decisions["taken"].any()
    reasons = set(decisions["reason"]) - {"no_edge", "no_liquidity"}
    assert reasons == {
        f"{NO_MEASURED_EDGE}: no forecast_evaluation known at "
        f"{decision_time(CITY, DAY).isoformat()}"
    }


def test_a_measured_edge_lets_ours_trade_and_the_gate_can_be_turned_off(
    pipeline: Pipeline,
) -> None:
    result = _decide(pipeline)  # the fixture's evaluation: ours 0.40 vs market 0.50
    with session_scope(pipeline.engine) as session:
        traded = repo.decisions_for(session, CITY, DAY)
    assert traded["taken"].any()
    assert not traded["reason"].str.startswith(NO_MEASURED_EDGE).any()
    (meta,) = result.asset_materializations_for_node("trade_decisions")
    assert meta.metadata["edge_gate"].value == "measured edge"

    _forget_evaluations(pipeline)
    pipeline.record_evaluation(TRAIN_END, brier_ours=0.6, brier_market=0.5)
    result = _decide(pipeline, require=False)
    with session_scope(pipeline.engine) as session:
        ungated = repo.decisions_for(session, CITY, DAY)
    assert ungated["taken"].any()  # off: the verdict is only reported
    (meta,) = result.asset_materializations_for_node("trade_decisions")
    assert meta.metadata["edge_gate"].value.startswith(NO_MEASURED_EDGE)
    assert meta.metadata["require_measured_edge"].value is False

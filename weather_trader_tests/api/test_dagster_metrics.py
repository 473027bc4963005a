"""``/metrics`` exports Dagster's waiting and running runs and its pool slots.

Read from a real Dagster instance on a temp ``DAGSTER_HOME`` written from the repository's
``dagster.yaml``; the sidecar only opens the instance, never the code location.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from api.dagster_runs import DagsterRunReader, DagsterRunsSnapshot, TickFailures
from api.metrics import DomainSnapshot, SidecarMetrics
from weather_trader.home import prepare_home
from weather_trader.settings import Settings
from weather_trader_tests.api.conftest import SettingsFactory, TestClient

ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(
        GrpcServerCodeLocationOrigin("localhost", 4000, location_name="weather_trader"),
        "__repository__",
    ),
    "trading_job",
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _no_domain() -> DomainSnapshot:
    raise RuntimeError("no database in this test")


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent-before-prepare-home")
    monkeypatch.delenv("WEATHER_TRADER_DAGSTER_POSTGRES_URL", raising=False)
    yield prepare_home(Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")}))


def test_runs_by_status_and_pool_slots_come_from_the_instance(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        for _ in range(3):  # submitted, waiting in the run coordinator's queue
            create_run_for_test(
                instance,
                job_name="trading_job",
                status=dg.DagsterRunStatus.QUEUED,
                remote_job_origin=ORIGIN,
            )
        holder = create_run_for_test(
            instance, job_name="trading_job", status=dg.DagsterRunStatus.STARTED
        )
        waiter = create_run_for_test(
            instance, job_name="trading_job", status=dg.DagsterRunStatus.STARTED
        )
        create_run_for_test(instance, job_name="forecast_job", status=dg.DagsterRunStatus.SUCCESS)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("kalshi_api")
        assert storage.claim_concurrency_slot("kalshi_api", holder.run_id, "orders").is_claimed
        assert not storage.claim_concurrency_slot("kalshi_api", waiter.run_id, "orders").is_claimed

    reader = DagsterRunReader.from_env()
    assert reader is not None and reader.dagster_home == dagster_home
    try:
        samples = _samples(SidecarMetrics(_no_domain, reader).render().decode())
    finally:
        reader.close()

    assert samples[("weather_trader_dagster_up", ())] == 1
    runs = {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "weather_trader_dagster_runs"
    }
    assert runs == {"queued": 3, "not_started": 0, "starting": 0, "started": 2, "canceling": 0}
    pool = (("pool", "kalshi_api"),)
    assert samples[("weather_trader_dagster_pool_slots", pool)] == 1
    assert samples[("weather_trader_dagster_pool_claimed_slots", pool)] == 1
    assert samples[("weather_trader_dagster_pool_pending_steps", pool)] == 1  # the waiter


def test_an_unreadable_instance_reports_dagster_down() -> None:
    def broken() -> DagsterRunsSnapshot:
        raise OSError("storage gone")

    samples = _samples(SidecarMetrics(_no_domain, broken).render().decode())

    assert samples[("weather_trader_dagster_up", ())] == 0
    assert not any(name == "weather_trader_dagster_runs" for name, _ in samples)


def test_without_dagster_home_the_families_are_exported_empty(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert DagsterRunReader.from_env() is None
    with TestClient(create_app(make_settings())) as client:
        text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("dagster_up", "dagster_runs", "dagster_pool_slots"):
        assert families[f"weather_trader_{name}"].samples == []
    monkeypatch.setenv("DAGSTER_HOME", "/srv/dagster")
    samples = _samples(SidecarMetrics(_no_domain, dagster_from_env=False).render().decode())
    assert ("weather_trader_dagster_up", ()) not in samples


def test_finished_runs_durations_and_each_citys_last_trading_success(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        create_run_for_test(
            instance,
            job_name="trading_job",
            status=dg.DagsterRunStatus.SUCCESS,
            tags={"dagster/partition": "NYC|2026-11-21"},
        )
        create_run_for_test(instance, job_name="trading_job", status=dg.DagsterRunStatus.FAILURE)
        create_run_for_test(instance, job_name="forecast_job", status=dg.DagsterRunStatus.SUCCESS)

    reader = DagsterRunReader.from_env()
    assert reader is not None
    try:
        samples = _samples(SidecarMetrics(_no_domain, reader).render().decode())
    finally:
        reader.close()

    finished = {
        (dict(labels)["dagster_job"], dict(labels)["status"]): value
        for (name, labels), value in samples.items()
        if name == "weather_trader_dagster_finished_runs_total"
    }
    assert finished[("trading_job", "success")] == 1
    assert finished[("trading_job", "failure")] == 1
    assert finished[("forecast_job", "success")] == 1
    assert finished[("model_job", "failure")] == 0  # every known job is present
    assert (
        samples[("weather_trader_dagster_run_duration_seconds", (("dagster_job", "trading_job"),))]
        >= 0
    )
    assert (
        "weather_trader_dagster_last_success_timestamp_seconds",
        (("dagster_job", "forecast_job"),),
    ) in (samples)
    nyc = samples[("weather_trader_trading_last_success_age_seconds", (("city", "NYC"),))]
    assert 0 <= nyc < 600
    # A city whose trading never succeeded is infinitely stale, so its alert can fire.
    assert samples[
        ("weather_trader_trading_last_success_age_seconds", (("city", "CHI"),))
    ] == float("inf")


def test_tick_failures_are_exported_per_sensor_and_schedule() -> None:
    snapshot = DagsterRunsSnapshot(
        runs={},
        ticks={
            "trading_sensor": TickFailures("sensor", 20, 3),
            "forecast_schedule": TickFailures("schedule", 2, 0),
        },
    )
    samples = _samples(SidecarMetrics(_no_domain, lambda: snapshot).render().decode())
    key = (("instigator", "trading_sensor"), ("type", "sensor"))
    assert samples[("weather_trader_dagster_tick_failures", key)] == 3
    assert samples[("weather_trader_dagster_ticks", key)] == 20


def test_tick_failures_are_read_from_the_instance(dagster_home: Path) -> None:
    from dagster._core.remote_origin import RemoteInstigatorOrigin
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        SensorInstigatorData,
        TickData,
        TickStatus,
    )
    from dagster._utils.error import SerializableErrorInfo

    origin = RemoteInstigatorOrigin(ORIGIN.repository_origin, "trading_sensor")
    with dg.DagsterInstance.get() as instance:
        state = InstigatorState(
            origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING, SensorInstigatorData()
        )
        instance.add_instigator_state(state)
        for status in (TickStatus.FAILURE, TickStatus.SKIPPED, TickStatus.FAILURE):
            failed = status == TickStatus.FAILURE
            instance.create_tick(
                TickData(
                    instigator_origin_id=state.instigator_origin_id,
                    instigator_name="trading_sensor",
                    instigator_type=InstigatorType.SENSOR,
                    status=status,
                    timestamp=1_800_000_000.0,
                    selector_id=state.selector_id,
                    error=SerializableErrorInfo("boom", [], "Exception") if failed else None,
                    skip_reason=None if failed else "nothing to do",
                )
            )
    reader = DagsterRunReader.from_env()
    assert reader is not None
    try:
        samples = _samples(SidecarMetrics(_no_domain, reader).render().decode())
    finally:
        reader.close()
    key = (("instigator", "trading_sensor"), ("type", "sensor"))
    assert samples[("weather_trader_dagster_tick_failures", key)] == 2
    assert samples[("weather_trader_dagster_ticks", key)] == 3

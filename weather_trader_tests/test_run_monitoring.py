"""A killed trading run's ``kalshi_api`` pool slot is freed, so the next trading run proceeds.

A real Dagster instance on a temp ``DAGSTER_HOME`` written by ``prepare_home`` from the
repository's ``dagster.yaml``. A run claims the pool's only slot and dies; marking it failed
does not free the slot by itself: the daemon's run monitoring does, once
``free_slots_after_run_end_seconds`` have passed (the same iteration the daemon runs, with its
clock moved past the grace period instead of sleeping).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.monitoring import concurrency as slots_daemon
from dagster._time import get_current_datetime

from weather_trader.home import prepare_home
from weather_trader.settings import Settings

POOL = "kalshi_api"
STEP = "orders"


@dataclass(frozen=True)
class _Workspace:
    """What the slot-freeing iteration reads of the daemon's workspace: the instance."""

    instance: dg.DagsterInstance


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent-before-prepare-home")
    monkeypatch.delenv("WEATHER_TRADER_DAGSTER_POSTGRES_URL", raising=False)
    prepare_home(Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")}))
    with dg.DagsterInstance.get() as inst:
        yield inst


def _free_ended_runs_slots(instance: dg.DagsterInstance, now: datetime) -> None:
    """One pass of the monitoring daemon's slot-freeing iteration, at ``now``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slots_daemon, "get_current_datetime", lambda: now)
        for error in slots_daemon.execute_concurrency_slots_iteration(
            _Workspace(instance),  # type: ignore[arg-type]
            logging.getLogger("test.run_monitoring"),
        ):
            assert error is None


def test_the_instance_runs_the_monitoring_daemon(instance: dg.DagsterInstance) -> None:
    assert instance.run_monitoring_enabled
    settings = instance.run_monitoring_settings
    assert settings["free_slots_after_run_end_seconds"] > 0
    assert instance.run_monitoring_start_timeout_seconds == settings["start_timeout_seconds"]
    assert instance.run_monitoring_cancel_timeout_seconds == settings["cancel_timeout_seconds"]
    assert settings["poll_interval_seconds"] > 0
    assert "MONITORING" in instance.get_required_daemon_types()
    assert instance.event_log_storage.supports_global_concurrency_limits


def test_a_killed_runs_pool_slot_is_freed_and_the_next_run_proceeds(
    instance: dg.DagsterInstance,
) -> None:
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(POOL)
    assert storage.get_concurrency_info(POOL).slot_count == 1  # pools.default_limit

    dead = create_run_for_test(instance, job_name="trading_job", status=DagsterRunStatus.STARTED)
    assert storage.claim_concurrency_slot(POOL, dead.run_id, STEP).is_claimed
    # The run worker is killed while holding the slot: the next trading run waits.
    waiting = create_run_for_test(instance, job_name="trading_job", status=DagsterRunStatus.STARTED)
    assert not storage.claim_concurrency_slot(POOL, waiting.run_id, STEP).is_claimed

    # Marking the dead run failed ends it but leaves its slot held ...
    instance.report_run_failed(dead)
    record = instance.get_run_record_by_id(dead.run_id)
    assert record is not None and record.dagster_run.status == DagsterRunStatus.FAILURE
    assert not storage.check_concurrency_claim(POOL, waiting.run_id, STEP).is_claimed
    grace = instance.run_monitoring_settings["free_slots_after_run_end_seconds"]

    # ... within the grace period the daemon leaves it (a run's own cleanup may still come) ...
    _free_ended_runs_slots(instance, get_current_datetime())
    assert dead.run_id in storage.get_concurrency_run_ids()
    assert not storage.check_concurrency_claim(POOL, waiting.run_id, STEP).is_claimed

    # ... and after it frees the slot: the waiting step's next poll claims it.
    _free_ended_runs_slots(instance, get_current_datetime() + timedelta(seconds=grace + 1))
    assert dead.run_id not in storage.get_concurrency_run_ids()
    assert storage.claim_concurrency_slot(POOL, waiting.run_id, STEP).is_claimed
    info = storage.get_concurrency_info(POOL)
    assert (info.slot_count, info.active_slot_count) == (1, 1)
    assert info.claimed_slots[0].run_id == waiting.run_id

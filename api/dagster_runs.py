"""What the sidecar reads of Dagster's instance: runs waiting or running, and pool slots.

The sidecar never imports the code location (``weather_trader.defs``): it opens the Dagster
instance that ``DAGSTER_HOME`` names (``weather-trader dev`` sets it for the sidecar) and reads
run counts and pool slots from its storage, as the Dagster UI does. Without ``DAGSTER_HOME``
there is nothing to read and the Dagster gauges stay empty.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance

DAGSTER_HOME_ENV = "DAGSTER_HOME"
RUN_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
"""Run statuses that hold or wait for capacity (exported, lower-cased, as ``status``)."""
FINISHED_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
"""Run statuses of a finished run (exported, lower-cased, per job)."""
JOBS = (
    "forecast_job",
    "trading_job",
    "settlement_job",
    "model_job",
    "archive_backfill_job",
    "pipeline_job",
)
"""The code location's jobs (``defs/automation.py``), named here because the sidecar never
imports ``defs``; a job seen in recent runs but missing here is exported too."""
TRADING_JOB = "trading_job"
RECENT_RUNS = 500
"""How many of the latest successful trading runs are read for each city's last success."""
RECENT_TICKS = 20
"""How many of each sensor's and schedule's latest ticks are read for failures."""


@dataclass(frozen=True)
class PoolSlots:
    """One concurrency pool: its limit, the slots held, and the steps waiting for one."""

    limit: int
    claimed: int
    pending: int


@dataclass(frozen=True)
class TickFailures:
    """One sensor's or schedule's latest ticks: how many were read and how many failed."""

    kind: str
    ticks: int
    failures: int


@dataclass(frozen=True)
class DagsterRunsSnapshot:
    """What the sidecar exports of the instance.

    Attributes:
        runs: Runs per unfinished status (lower-case).
        pools: The concurrency pools' slots.
        finished: Finished runs by ``(job, status)`` (lower-case status), all time.
        last_duration: Seconds from start to end of each job's latest finished run.
        last_success: Unix end time of each job's latest successful run.
        trading_success: Unix end time of the latest successful trading run per city.
        ticks: Latest ticks of each sensor and schedule, by name.
    """

    runs: Mapping[str, int]
    pools: Mapping[str, PoolSlots] = field(default_factory=dict)
    finished: Mapping[tuple[str, str], int] = field(default_factory=dict)
    last_duration: Mapping[str, float] = field(default_factory=dict)
    last_success: Mapping[str, float] = field(default_factory=dict)
    trading_success: Mapping[str, float] = field(default_factory=dict)
    ticks: Mapping[str, TickFailures] = field(default_factory=dict)


class DagsterRunReader:
    """Reads :class:`DagsterRunsSnapshot` from the instance in ``dagster_home``.

    The instance is opened on the first read (importing Dagster only then) and kept.

    Args:
        dagster_home: The instance folder (with its ``dagster.yaml``).
    """

    def __init__(self, dagster_home: Path) -> None:
        self.dagster_home = dagster_home
        self._instance: DagsterInstance | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DagsterRunReader | None:
        """A reader of ``$DAGSTER_HOME``'s instance, or None when the variable is unset."""
        home = (os.environ if environ is None else environ).get(DAGSTER_HOME_ENV, "")
        return cls(Path(home)) if home else None

    def _open(self) -> DagsterInstance:
        with self._lock:
            if self._instance is None:
                from dagster import DagsterInstance

                self._instance = DagsterInstance.from_config(str(self.dagster_home))
            return self._instance

    def __call__(self) -> DagsterRunsSnapshot:
        """Count the unfinished runs by status and read every configured pool's slots."""
        from dagster import DagsterRunStatus, RunsFilter

        instance = self._open()
        runs = {
            status.lower(): instance.get_runs_count(RunsFilter(statuses=[DagsterRunStatus[status]]))
            for status in RUN_STATUSES
        }
        pools: dict[str, PoolSlots] = {}
        storage = instance.event_log_storage
        if storage.supports_global_concurrency_limits:
            for name in sorted(storage.get_concurrency_keys()):
                info = storage.get_concurrency_info(name)
                pools[name] = PoolSlots(
                    limit=info.slot_count,
                    claimed=info.active_slot_count,
                    pending=info.pending_step_count,
                )
        finished, duration, success = self._finished(instance)
        return DagsterRunsSnapshot(
            runs=runs,
            pools=pools,
            finished=finished,
            last_duration=duration,
            last_success=success,
            trading_success=self._trading_success(instance),
            ticks=self._ticks(instance),
        )

    @staticmethod
    def _finished(
        instance: DagsterInstance,
    ) -> tuple[dict[tuple[str, str], int], dict[str, float], dict[str, float]]:
        from dagster import DagsterRunStatus, RunsFilter

        finished: dict[tuple[str, str], int] = {}
        duration: dict[str, float] = {}
        success: dict[str, float] = {}
        statuses = [DagsterRunStatus[s] for s in FINISHED_STATUSES]
        recent = instance.get_run_records(RunsFilter(statuses=statuses), limit=100)
        jobs = sorted(set(JOBS) | {r.dagster_run.job_name for r in recent})
        for job in jobs:
            for status in FINISHED_STATUSES:
                finished[(job, status.lower())] = instance.get_runs_count(
                    RunsFilter(job_name=job, statuses=[DagsterRunStatus[status]])
                )
            (last,) = instance.get_run_records(
                RunsFilter(job_name=job, statuses=statuses), limit=1
            ) or (None,)
            if last is not None:
                start = last.start_time or last.create_timestamp.timestamp()
                end = last.end_time or last.update_timestamp.timestamp()
                duration[job] = max(0.0, end - start)
            (ok,) = instance.get_run_records(
                RunsFilter(job_name=job, statuses=[DagsterRunStatus.SUCCESS]), limit=1
            ) or (None,)
            if ok is not None:
                success[job] = ok.end_time or ok.update_timestamp.timestamp()
        return finished, duration, success

    @staticmethod
    def _trading_success(instance: DagsterInstance) -> dict[str, float]:
        from dagster import DagsterRunStatus, RunsFilter
        from dagster._core.storage.tags import PARTITION_NAME_TAG

        out: dict[str, float] = {}
        records = instance.get_run_records(
            RunsFilter(job_name=TRADING_JOB, statuses=[DagsterRunStatus.SUCCESS]),
            limit=RECENT_RUNS,
        )
        for record in records:
            key = record.dagster_run.tags.get(PARTITION_NAME_TAG, "")
            city = key.split("|", 1)[0]
            if not city:
                continue
            end = record.end_time or record.update_timestamp.timestamp()
            out[city] = max(out.get(city, 0.0), end)
        return out

    @staticmethod
    def _ticks(instance: DagsterInstance) -> dict[str, TickFailures]:
        from dagster._core.scheduler.instigation import TickStatus

        out: dict[str, TickFailures] = {}
        for state in instance.all_instigator_state():
            ticks = instance.get_ticks(
                state.instigator_origin_id, state.selector_id, limit=RECENT_TICKS
            )
            failed = sum(1 for t in ticks if t.status == TickStatus.FAILURE)
            out[state.instigator_name] = TickFailures(
                kind=state.instigator_type.value.lower(), ticks=len(ticks), failures=failed
            )
        return out

    def close(self) -> None:
        """Dispose of the instance if it was opened."""
        with self._lock:
            if self._instance is not None:
                self._instance.dispose()
                self._instance = None

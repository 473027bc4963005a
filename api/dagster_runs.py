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


@dataclass(frozen=True)
class PoolSlots:
    """One concurrency pool: its limit, the slots held, and the steps waiting for one."""

    limit: int
    claimed: int
    pending: int


@dataclass(frozen=True)
class DagsterRunsSnapshot:
    """Runs per unfinished status (lower-case) and the concurrency pools' slots."""

    runs: Mapping[str, int]
    pools: Mapping[str, PoolSlots] = field(default_factory=dict)


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
        return DagsterRunsSnapshot(runs=runs, pools=pools)

    def close(self) -> None:
        """Dispose of the instance if it was opened."""
        with self._lock:
            if self._instance is not None:
                self._instance.dispose()
                self._instance = None

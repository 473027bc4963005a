"""Recent Dagster runs for the log page, with links into the Dagster UI.

Like :mod:`api.dagster_runs`, this opens the instance ``DAGSTER_HOME`` names (read-only, through
``DagsterInstance``, never raw SQL) and never imports the code location. Without
``DAGSTER_HOME`` there are no runs to show.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance

DAGSTER_UI_URL_ENV = "WEATHER_TRADER_DAGSTER_UI_URL"
DEFAULT_DAGSTER_UI_URL = "http://127.0.0.1:3000"
"""Where ``weather-trader dev`` serves the Dagster UI."""


@dataclass(frozen=True)
class RunView:
    """One Dagster run as the log page lists it."""

    run_id: str
    job: str
    status: str
    partition: str | None
    trigger: str | None
    started_at: datetime | None
    ended_at: datetime | None
    url: str


def dagster_ui_url(environ: dict[str, str] | None = None) -> str:
    """The Dagster UI's base URL (``WEATHER_TRADER_DAGSTER_UI_URL``, default ``:3000``)."""
    env = os.environ if environ is None else environ
    return (env.get(DAGSTER_UI_URL_ENV) or DEFAULT_DAGSTER_UI_URL).rstrip("/")


_instances: dict[str, Any] = {}
_lock = threading.Lock()


def _instance(home: Path) -> DagsterInstance:
    with _lock:
        instance = _instances.get(str(home))
        if instance is None:
            from dagster import DagsterInstance

            instance = DagsterInstance.from_config(str(home))
            _instances[str(home)] = instance
        return instance


def _at(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def recent_runs(
    limit: int = 50, *, status: str | None = None, environ: dict[str, str] | None = None
) -> list[RunView] | None:
    """The latest runs of the instance in ``$DAGSTER_HOME``, newest first.

    Args:
        limit: How many runs.
        status: Only runs of this Dagster status (``FAILURE``, ``SUCCESS``, ...).
        environ: The environment to read ``DAGSTER_HOME`` from (the process's by default).

    Returns:
        The runs, or None when ``DAGSTER_HOME`` is not set.
    """
    env = os.environ if environ is None else environ
    home = env.get("DAGSTER_HOME", "")
    if not home:
        return None
    from dagster import DagsterRunStatus, RunsFilter

    filters = RunsFilter(statuses=[DagsterRunStatus[status]]) if status else None
    base = dagster_ui_url(dict(env))
    out = []
    for record in _instance(Path(home)).get_run_records(filters=filters, limit=limit):
        run = record.dagster_run
        out.append(
            RunView(
                run_id=run.run_id,
                job=run.job_name,
                status=run.status.value,
                partition=run.tags.get("dagster/partition"),
                trigger=run.tags.get("trigger") or run.tags.get("dagster/sensor_name"),
                started_at=_at(record.start_time),
                ended_at=_at(record.end_time),
                url=f"{base}/runs/{run.run_id}",
            )
        )
    return out

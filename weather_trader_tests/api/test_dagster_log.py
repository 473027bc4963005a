"""The log page's Dagster runs, read from a real instance in a temp DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from api import dagster_log


@dg.asset
def tiny() -> int:
    return 1


def test_recent_runs_link_into_the_dagster_ui(tmp_path: Path) -> None:
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert dg.materialize([tiny], instance=instance).success
    environ = {"DAGSTER_HOME": str(tmp_path), dagster_log.DAGSTER_UI_URL_ENV: "http://ui:3000/"}

    (run,) = dagster_log.recent_runs(10, environ=environ) or []
    failed = dagster_log.recent_runs(10, status="FAILURE", environ=environ)

    assert run.status == "SUCCESS" and run.job == "__ephemeral_asset_job__"
    assert run.url == f"http://ui:3000/runs/{run.run_id}"
    assert run.started_at is not None and run.ended_at is not None
    assert failed == []
    assert dagster_log.recent_runs(environ={}) is None
    assert dagster_log.dagster_ui_url({}) == dagster_log.DEFAULT_DAGSTER_UI_URL

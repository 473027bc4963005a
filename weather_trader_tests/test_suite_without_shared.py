"""A clone without ``../shared`` beside it passes: the suite collects, real-data tests skip.

One pytest subprocess with the shared folder hidden (``WEATHER_TRADER_SHARED_DIR`` pointing at
a missing folder) collects the whole suite and runs one test per way of reaching the shared
folder (the ``realdata_dir`` fixture, :func:`~weather_trader_tests.shared_data.require_realdata`
inside a test, Kalshi's spec); each must be skipped with the shared-data reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from weather_trader_tests.shared_data import (
    REALDATA_ENV,
    REPO_ROOT,
    SHARED_DIR_ENV,
    SKIP_REASON,
)

SENTINELS: dict[str, str] = {
    "test_central_park_records_match_155_years_of_ghcn": "core.test_cities",
    "test_table_layout_matches_a_real_cli": "sim.test_reports",
    "test_nyc_normals_follow_noaa_1991_2020": "sim.test_climatology",
    "test_expected_table_covers_every_real_file": "sources.test_cli_report",
    "test_forecasts_from_every_source": "sources.live_weather.test_source",
    "test_event_markets_from_recorded_2026_markets": "sources.kalshi.test_adapters",
    "test_checks_catch_a_nonconforming_body": "sim.exchange.test_cli_and_conformance",
    "test_exchange_status_and_series_with_fees": "sim.exchange.test_markets",
}
"""Test function -> its module under ``weather_trader_tests``: tests that need the shared
folder, one for each way they reach it."""


def test_the_suite_collects_and_skips_real_data_tests_without_the_shared_folder(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (REALDATA_ENV, "PYTEST_ADDOPTS")}
    env[SHARED_DIR_ENV] = str(tmp_path / "no-shared-here")
    env.pop("WEATHER_TRADER_TEST_POSTGRES_URL", None)  # SQLite only: nothing selected needs it
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "weather_trader_tests",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            " or ".join(SENTINELS),
            f"--junitxml={report}",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # 2 = collection errors, 1 = failures

    cases = ET.parse(report).getroot().iter("testcase")
    outcomes: dict[tuple[str, str], list[str]] = {}
    for case in cases:
        module = case.get("classname", "").removeprefix("weather_trader_tests.")
        name = case.get("name", "").split("[")[0]
        skipped = case.find("skipped")
        message = skipped.get("message", "") if skipped is not None else "not skipped"
        outcomes.setdefault((module, name), []).append(message)
    for name, module in SENTINELS.items():
        messages = outcomes.get((module, name))
        assert messages, f"{module}::{name} was not collected; the sentinel list is stale"
        for message in messages:
            assert message.startswith(SKIP_REASON), f"{module}::{name}: {message}"

"""``weather-trader dev`` stops every child process on SIGTERM, SIGINT and SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The dev command with its children replaced by three `sleep`s, each pid printed once started.
FAKE_DEV = """
import subprocess, sys
from weather_trader import cli

def start(settings, processes):
    for _ in range(3):
        processes.append(subprocess.Popen(["sleep", "300"]))
        print("child", processes[-1].pid, flush=True)

cli._start_dev_processes = start
raise SystemExit(cli.main(["dev"]))
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_dev_stops_all_its_children_on_a_stop_signal(tmp_path: Path, signum: int) -> None:
    env = {**os.environ, "WEATHER_TRADER_HOME": str(tmp_path / "home")}
    env.pop("DATABASE_URL", None)
    env.pop("WEATHER_TRADER_MODE", None)
    dev = subprocess.Popen(
        [sys.executable, "-c", FAKE_DEV], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert dev.stdout is not None
        children = [int(dev.stdout.readline().split()[1]) for _ in range(3)]
        assert all(_alive(pid) for pid in children)
        dev.send_signal(signum)
        assert dev.wait(timeout=30) == 0
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()

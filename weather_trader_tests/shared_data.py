"""The shared folder beside the repo, and the one way tests reach it (skipping without it).

``../shared`` (relative to the repo root, not part of the repo) holds the recorded real data
(``realdata/``) and Kalshi's OpenAPI spec (``kalshi/openapi-v3.13.0.yaml``). Tests never open
it directly: they take the ``realdata_dir`` fixture (``conftest.py``) or call
:func:`require_realdata` / :func:`require_kalshi_spec` inside the test, which return the path
or skip the test with a reason starting with :data:`SKIP_REASON` naming what is missing. Never
call them at module level (that would skip, or break, collection of the whole module).

``WEATHER_TRADER_SHARED_DIR`` names another shared folder (a missing one such as
``/nonexistent`` hides it: ``test_suite_without_shared`` runs the suite that way);
``WEATHER_TRADER_REALDATA`` overrides the real-data folder alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR_ENV = "WEATHER_TRADER_SHARED_DIR"
REALDATA_ENV = "WEATHER_TRADER_REALDATA"
KALSHI_SPEC = Path("kalshi") / "openapi-v3.13.0.yaml"
SKIP_REASON = "shared test data not found"
"""Start of every skip reason given for a missing shared folder or file."""


def shared_dir() -> Path:
    """``$WEATHER_TRADER_SHARED_DIR``, else ``<repo>/../shared``."""
    override = os.environ.get(SHARED_DIR_ENV)
    return Path(override) if override else (REPO_ROOT / ".." / "shared").resolve()


def realdata_path() -> Path:
    """``$WEATHER_TRADER_REALDATA``, else ``<shared>/realdata`` (it may not exist)."""
    override = os.environ.get(REALDATA_ENV)
    return Path(override) if override else shared_dir() / "realdata"


def kalshi_spec_path() -> Path:
    """Kalshi's OpenAPI spec in the shared folder (it may not exist)."""
    return shared_dir() / KALSHI_SPEC


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(
            f"{SKIP_REASON}: {what} {path} is missing (expected ../shared beside the repo, "
            f"or set {SHARED_DIR_ENV})"
        )
    return path


def require_realdata(*relative: str) -> Path:
    """The real-data folder, or ``relative`` inside it; skips the test when it is missing."""
    folder = _require(realdata_path(), "real data folder")
    return _require(folder.joinpath(*relative), "real data file") if relative else folder


def require_kalshi_spec() -> Path:
    """Kalshi's OpenAPI spec; skips the test when it is missing."""
    return _require(kalshi_spec_path(), "Kalshi OpenAPI spec")

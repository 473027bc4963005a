"""The import rules between the layers (docs/architecture.md section 1) hold.

The rules are import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``); this test
runs them as ``lint-imports`` would, from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from importlinter.api import read_configuration

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"

# One contract per rule of docs/architecture.md section 1: deleting one to get a green run
# must fail here too.
EXPECTED_CONTRACTS = {
    "core-is-pure",
    "kalshi-signing-is-a-leaf",
    "kalshi-urls-are-a-leaf",
    "settings-is-a-leaf",
    "sources-import-only-core",
    "store-imports-only-core",
    "sim-imports-only-core",
    "services-import-only-lower-layers",
    "defs-import-only-lower-layers",
    "dagster-only-in-the-wiring",
    "package-never-imports-api",
    "api-reads-store-and-settings",
}

# `lint-imports` itself, run by this interpreter (no reliance on a script on PATH).
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def test_every_layer_rule_is_a_contract() -> None:
    config = read_configuration(str(PYPROJECT))
    assert config["session_options"]["root_packages"] == ["weather_trader", "api"]
    ids = {c["id"] for c in config["contracts_options"]}
    assert ids >= EXPECTED_CONTRACTS, f"contracts missing: {sorted(EXPECTED_CONTRACTS - ids)}"


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"import contracts broken (lint-imports):\n{output}"
    assert ", 0 broken." in output, output

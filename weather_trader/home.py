"""The home folder: Dagster's instance, the SQLite domain database and the model store."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from weather_trader.settings import Settings

# The repository's dagster.yaml is the instance template (SQLite storage under DAGSTER_HOME).
DAGSTER_YAML_TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"
POSTGRES_STORAGE = {"postgres": {"postgres_url": {"env": "WEATHER_TRADER_DAGSTER_POSTGRES_URL"}}}


def prepare_home(settings: Settings) -> Path:
    """Create the home folders and Dagster's ``dagster.yaml``; point ``DAGSTER_HOME`` at it.

    Dagster storage is SQLite under ``DAGSTER_HOME`` unless
    ``WEATHER_TRADER_DAGSTER_POSTGRES_URL`` is set, in which case dagster-postgres is used.

    Returns:
        The Dagster home folder.
    """
    dagster_home = settings.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    settings.model_store.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(DAGSTER_YAML_TEMPLATE.read_text()) or {}
    if settings.dagster_postgres_url:
        config["storage"] = POSTGRES_STORAGE
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home

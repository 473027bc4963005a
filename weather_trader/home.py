"""The home folder: Dagster's instance, the SQLite domain database and the model store."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from weather_trader.settings import Settings
from weather_trader.store.db import psycopg2_url

# The repository's dagster.yaml is the instance template (SQLite storage under DAGSTER_HOME).
DAGSTER_YAML_TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"
DAGSTER_POSTGRES_URL_ENV = "WEATHER_TRADER_DAGSTER_POSTGRES_URL"
POSTGRES_STORAGE = {"postgres": {"postgres_url": {"env": DAGSTER_POSTGRES_URL_ENV}}}


def prepare_home(settings: Settings) -> Path:
    """Create the home folders and Dagster's ``dagster.yaml``; point ``DAGSTER_HOME`` at it.

    Dagster storage is SQLite under ``DAGSTER_HOME`` unless
    ``WEATHER_TRADER_DAGSTER_POSTGRES_URL`` is set, in which case dagster-postgres is used: the
    file names the variable (the URL and its password stay out of it), and the variable is set
    for this process and its children to the settings' URL with the psycopg2 driver.

    Returns:
        The Dagster home folder.
    """
    dagster_home = settings.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    settings.model_store.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(DAGSTER_YAML_TEMPLATE.read_text()) or {}
    if settings.dagster_postgres_url:
        config["storage"] = POSTGRES_STORAGE
        os.environ[DAGSTER_POSTGRES_URL_ENV] = psycopg2_url(settings.dagster_postgres_url)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home

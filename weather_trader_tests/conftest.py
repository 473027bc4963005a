"""Shared pytest fixtures for the weather_trader test suite."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from weather_trader.store.db import make_engine, migrate
from weather_trader.store.models import Base
from weather_trader_tests.shared_data import require_realdata


@pytest.fixture(scope="session")
def realdata_dir() -> Path:
    """The shared real recorded data (``../shared/realdata``); skips the test without it."""
    return require_realdata()


@pytest.fixture(autouse=True)
def _settings_from_a_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment: a developer's shell (or the Makefile's
    ``WEATHER_TRADER_HOME``) must not change what a test sees."""
    from api.settings import ApiSettings
    from weather_trader.settings import Settings

    for var in {**Settings.env_vars(), **ApiSettings.env_vars()}:
        monkeypatch.delenv(var, raising=False)


POSTGRES_URL_ENV = "WEATHER_TRADER_TEST_POSTGRES_URL"
DATABASE_BACKENDS = ["sqlite", *(["postgres"] if os.environ.get(POSTGRES_URL_ENV) else [])]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A freshly created, migrated Postgres database for this test session (dropped after).

    The server comes from ``WEATHER_TRADER_TEST_POSTGRES_URL``; the test database gets a unique
    name on it, so concurrent sessions and the server's own databases are never touched.
    """
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    name = f"wt_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database file that tests copy (migrating once is faster)."""
    path = tmp_path_factory.mktemp("sqlite_template") / "weather_trader.db"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    eng.dispose()  # checkpoints the WAL into the file
    return path


@pytest.fixture(params=DATABASE_BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty domain database: SQLite (a temp file) and, when
    ``WEATHER_TRADER_TEST_POSTGRES_URL`` is set, Postgres (one database per test session,
    emptied after every test)."""
    if request.param == "sqlite":
        path = tmp_path / "weather_trader.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
        return
    eng = make_engine(request.getfixturevalue("postgres_url"))
    try:
        yield eng
    finally:
        eng.dispose()  # close the test's connections (a failed test may leave one open)
        eng = make_engine(request.getfixturevalue("postgres_url"))
        with eng.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        eng.dispose()

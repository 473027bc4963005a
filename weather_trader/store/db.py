"""Engine, session and migration helpers for the domain database.

The same code runs on SQLite (the default: a file in the project's home folder) and Postgres
(production, ``DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_TIMEOUT_SECONDS = 30


class StoreError(Exception):
    """A domain-database operation failed or was asked to store inconsistent data."""


def psycopg2_url(url: str) -> str:
    """``url`` with the psycopg2 driver when it names none (``postgresql://...``).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; the project ships psycopg2.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with per-backend settings.

    SQLite gets foreign keys on, WAL journaling (file databases) and a busy timeout;
    Postgres gets ``pool_pre_ping`` so stale pooled connections are replaced; a plain
    ``postgresql://`` URL uses the psycopg2 driver.

    Args:
        url: A SQLAlchemy database URL (``sqlite:///...`` or ``postgresql://...``).

    Returns:
        The engine.

    Raises:
        StoreError: If the URL's backend is neither SQLite nor Postgres.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS})
        in_memory = parsed.database in (None, "", ":memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_TIMEOUT_SECONDS * 1000}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if backend == "postgresql":
        return create_engine(psycopg2_url(url), pool_pre_ping=True)
    raise StoreError(f"unsupported database backend {backend!r} in {parsed!r}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any exception.

    Args:
        engine: The engine to bind the session to.

    Yields:
        The session; objects stay usable after the commit (``expire_on_commit=False``).
    """
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine_or_url: Engine | str) -> None:
    """Upgrade the domain database to the newest schema (Alembic ``upgrade head``).

    Args:
        engine_or_url: An engine, or a URL for which one is made with :func:`make_engine`.
    """
    owned = isinstance(engine_or_url, str)
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if owned:
            engine.dispose()

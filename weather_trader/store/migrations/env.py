"""Alembic environment of the domain database.

Run programmatically by :func:`weather_trader.store.db.migrate`, which passes an open connection
in ``config.attributes["connection"]``; the ``alembic`` CLI works too with ``DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from alembic import context

from weather_trader.store.db import make_engine
from weather_trader.store.models import Base

target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(os.environ["DATABASE_URL"])
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()

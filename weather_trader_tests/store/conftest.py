"""Fixtures for the domain-database tests (the ``engine`` fixture lives one level up)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated test database; the test commits what it wants kept."""
    with Session(engine, expire_on_commit=False) as s:
        yield s

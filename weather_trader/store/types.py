"""Column types shared by the ORM models and the Alembic migrations.

They keep the same Python values on SQLite and Postgres: money is ``Decimal`` with four
places and datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator

MONEY = Numeric(12, 4, asdecimal=True)
"""Dollars (prices, costs, fees, P&L): ``NUMERIC(12, 4)``, read back as ``Decimal``."""

COUNT = Numeric(14, 2, asdecimal=True)
"""Contract counts of book levels (Kalshi sends fixed-point ``*_fp`` strings)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Binding a naive datetime raises ``ValueError``. Values are stored in UTC (SQLite keeps
    them as naive UTC text, which sorts correctly) and always come back aware in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

"""Helpers shared by the repository modules (private to ``weather_trader.store``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from pydantic_core import to_jsonable_python
from sqlalchemy import Delete, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from weather_trader.core.cities import KINDS
from weather_trader.store.db import StoreError
from weather_trader.store.models import Base

INSERT_CHUNK = 500
MONEY_PLACES = Decimal("0.0001")


def dialect_name(session: Session) -> str:
    """The session's database dialect name (``sqlite`` or ``postgresql``)."""
    return session.get_bind().dialect.name


def insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> int:
    """Insert ``rows``, skipping any that violate a unique constraint; return rows inserted."""
    dialect = dialect_name(session)
    if dialect == "sqlite":
        insert = sqlite.insert
    elif dialect == "postgresql":
        insert = postgresql.insert
    else:
        raise StoreError(f"unsupported dialect {dialect!r}")
    if not rows:
        return 0
    table = model.__table__
    stmt = insert(table).on_conflict_do_nothing().returning(table.c[_pk_name(model)])
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        inserted += len(session.execute(stmt, list(rows[start : start + INSERT_CHUNK])).all())
    return inserted


def _pk_name(model: type[Base]) -> str:
    (column,) = model.__table__.primary_key.columns
    return column.name


def partition_delete(model: Any, city: str, day: date, kind: str | None = None) -> Delete:
    """A DELETE of one city-day partition (optionally only one ``kind``) of ``model``."""
    stmt = delete(model).where(model.city == city, model.climate_date == day)
    if kind is not None:
        stmt = stmt.where(model.kind == kind)
    return stmt


def check_kind(kind: str | None) -> None:
    """Raise StoreError unless ``kind`` is None, ``high`` or ``low``."""
    if kind is not None and kind not in KINDS:
        raise StoreError(f"kind must be one of {KINDS}, got {kind!r}")


def require_columns(rows: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise StoreError naming the columns ``rows`` lacks."""
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise StoreError(f"{what}: missing columns {missing}; got {list(rows.columns)}")


def partition_rows(
    rows: pd.DataFrame, columns: Sequence[str], kind: str | None, what: str
) -> list[dict[str, Any]]:
    """Validate a partition DataFrame and return its rows as dicts (NaN/NaT become None).

    Raises:
        StoreError: On missing columns, an unknown kind, or a row of another kind than
            ``kind`` when one is given.
    """
    check_kind(kind)
    require_columns(rows, columns, what)
    records = []
    for raw in rows[list(columns)].to_dict("records"):
        record = {k: (None if is_missing(v) else v) for k, v in raw.items()}
        if "kind" in record:
            check_kind(record["kind"])
            if kind is not None and record["kind"] != kind:
                raise StoreError(f"{what}: row of kind {record['kind']!r} when replacing {kind!r}")
        records.append(record)
    return records


def is_missing(value: Any) -> bool:
    """True for None, NaN and NaT (pandas' missing markers)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def money(value: Any, what: str = "amount") -> Decimal:
    """Convert a dollar amount (Decimal, int, float or numeric string) to a 4-place Decimal.

    Raises:
        StoreError: For a missing or non-finite value.
    """
    if is_missing(value):
        raise StoreError(f"{what} is missing")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise StoreError(f"{what} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise StoreError(f"{what} is not finite: {value!r}")
    return amount.quantize(MONEY_PLACES)


def optional_money(value: Any, what: str = "amount") -> Decimal | None:
    """Like :func:`money` but None (or NaN) stays None."""
    return None if is_missing(value) else money(value, what)


def aware(value: Any, what: str = "datetime") -> datetime:
    """Convert a datetime or pandas Timestamp to an aware ``datetime``.

    Raises:
        StoreError: For a missing or naive value.
    """
    if is_missing(value):
        raise StoreError(f"{what} is missing")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise StoreError(f"{what} is not a datetime: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what} must be timezone-aware, got {value!r}")
    return value


def jsonable(value: Any) -> Any:
    """Normalise ``value`` to plain JSON types (Decimal -> str, date/datetime -> ISO str)."""
    return to_jsonable_python(value)


def frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns`` (also when there are no rows)."""
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def typed(df: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Cast columns of a query result: ``"datetime"`` gives UTC datetimes, else ``astype``."""
    for column, dtype in types.items():
        if dtype == "datetime":
            df[column] = pd.to_datetime(df[column], utc=True)
        else:
            df[column] = df[column].astype(dtype)
    return df

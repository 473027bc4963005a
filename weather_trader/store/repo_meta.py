"""Repository functions for settings, the live-feed event outbox and model versions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from weather_trader.store._util import aware, dialect_name, jsonable
from weather_trader.store.db import StoreError
from weather_trader.store.models import EventRow, ModelVersionRow, SettingRow
from weather_trader.store.schemas import EventRecord, ModelVersionRecord

EVENTS_LOCK_KEY = 0x77746576
"""Postgres advisory-lock key serialising event appends (ids then follow commit order)."""


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    """The JSON value of setting ``key``, or ``default`` when it is not set."""
    row = session.get(SettingRow, key)
    return default if row is None else row.value


def set_setting(session: Session, key: str, value: Any, now: datetime | None = None) -> None:
    """Set setting ``key`` to ``value`` (normalised to JSON: Decimal and dates become strings).

    Args:
        session: The session (the caller's transaction).
        key: Setting name.
        value: Any JSON-serialisable value.
        now: Update time (aware); defaults to the current time.
    """
    updated_at = aware(now, "now") if now is not None else datetime.now(UTC)
    row = session.get(SettingRow, key)
    if row is None:
        session.add(SettingRow(key=key, value=jsonable(value), updated_at=updated_at))
    else:
        row.value = jsonable(value)
        row.updated_at = updated_at
    session.flush()


EventKey = str | Sequence[Any]
"""An event's logical identity: a string, or parts joined with ``|`` (see :func:`event_key`)."""

EVENT_KEY_LENGTH = 255
"""Width of ``events.dedupe_key``; a longer key is stored as its topic and SHA-256."""


def _key_part(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        value = aware(value, "event key instant").astimezone(UTC)
    return "" if value is None else str(jsonable(value))


def event_key(topic: str, city: str | None, climate_date: date | None, identity: EventKey) -> str:
    """The ``dedupe_key`` of an event: topic, city, climate day and its logical identity.

    Instants are written in UTC, so one instant gives one key whatever its time zone; a key
    longer than the column is replaced by the topic and the SHA-256 of the full key.
    """
    parts = [identity] if isinstance(identity, str) else list(identity)
    key = "|".join(_key_part(p) for p in (topic, city, climate_date, *parts))
    if len(key) <= EVENT_KEY_LENGTH:
        return key
    return f"{topic}|sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def append_event(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    city: str | None = None,
    climate_date: date | None = None,
    key: EventKey | None = None,
) -> int | None:
    """Append an event to the live-feed outbox in the caller's transaction, once per key.

    Append it in the same transaction as the data it describes, as late as possible: on
    Postgres the append takes a transaction-level lock so that ids follow commit order (a
    reader resuming after id N never misses a later commit with a smaller id).

    Args:
        session: The session (the caller's transaction).
        topic: Event topic, e.g. ``decision``, ``fill``, ``settlement``, ``distribution``.
        payload: JSON-serialisable body (Decimal and dates become strings).
        city: City code, if the event concerns one.
        climate_date: Climate day, if the event concerns one.
        key: The event's logical identity within topic, city and day (e.g. a decision's
            ticker, side and ``as_of``). An event whose key (:func:`event_key`) is already
            stored is skipped, so re-runs do not repeat the feed; None always appends.

    Returns:
        The new event's id, or None when an event with the same key was already stored.
    """
    dialect = dialect_name(session)
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
    row = {
        "created_at": datetime.now(UTC),
        "topic": topic,
        "city": city,
        "climate_date": climate_date,
        "payload": jsonable(payload),
        "dedupe_key": None if key is None else event_key(topic, city, climate_date, key),
    }
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        raise StoreError(f"unsupported dialect {dialect!r}")
    table = EventRow.__table__
    stmt = insert(table).values(**row)
    if row["dedupe_key"] is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
    return session.execute(stmt.returning(table.c.id)).scalar_one_or_none()


def events_after(session: Session, last_id: int, limit: int = 500) -> list[EventRecord]:
    """Events with id greater than ``last_id``, oldest first, at most ``limit`` of them."""
    rows = session.scalars(
        select(EventRow).where(EventRow.id > last_id).order_by(EventRow.id).limit(limit)
    )
    return [
        EventRecord(
            id=r.id,
            created_at=r.created_at,
            topic=r.topic,
            city=r.city,
            climate_date=r.climate_date,
            payload=r.payload,
        )
        for r in rows
    ]


def save_model_version(session: Session, record: ModelVersionRecord) -> None:
    """Store a model version, replacing the stored one of the same name and version."""
    row = session.scalars(
        select(ModelVersionRow).where(
            ModelVersionRow.name == record.name, ModelVersionRow.version == record.version
        )
    ).one_or_none()
    if row is None:
        row = ModelVersionRow(name=record.name, version=record.version)
        session.add(row)
    row.created_at = record.created_at
    row.params = jsonable(record.params)
    row.metrics = jsonable(record.metrics)
    session.flush()


def model_versions(session: Session, name: str) -> list[ModelVersionRecord]:
    """Every stored version of model ``name``, most recently created first."""
    rows = session.scalars(
        select(ModelVersionRow)
        .where(ModelVersionRow.name == name)
        .order_by(ModelVersionRow.created_at.desc(), ModelVersionRow.id.desc())
    )
    return [
        ModelVersionRecord(
            name=row.name,
            version=row.version,
            created_at=row.created_at,
            params=row.params,
            metrics=row.metrics,
        )
        for row in rows
    ]


def latest_model_version(session: Session, name: str) -> ModelVersionRecord | None:
    """The most recently created version of model ``name``, or None."""
    versions = model_versions(session, name)
    return versions[0] if versions else None

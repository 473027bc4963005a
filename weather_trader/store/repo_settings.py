"""Operator settings stored over the environment's defaults, with their audit trail.

Each overridden field is one row of the ``settings`` table under ``operator.<field>``; each
change appends a ``settings_audit`` row (who, when, field, old and new value, credentials
redacted) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weather_trader.core.operator_settings import OperatorSettings, merge, redact
from weather_trader.store.models import SettingRow, SettingsAuditRow

PREFIX = "operator."
NOTIFIER_CURSOR_KEY = "notifier.last_event_id"
"""Where the notification tailer keeps the last outbox event it handled."""


@dataclass(frozen=True)
class AuditEntry:
    """One change of one setting (credentials redacted)."""

    changed_at: datetime
    username: str
    field: str
    old_value: Any
    new_value: Any


def stored_overrides(session: Session) -> dict[str, Any]:
    """The stored operator values (JSON), by field name."""
    rows = session.scalars(select(SettingRow).where(SettingRow.key.startswith(PREFIX)))
    return {row.key.removeprefix(PREFIX): row.value for row in rows}


def stored_settings(session: Session, defaults: OperatorSettings) -> OperatorSettings:
    """The effective operator settings: the stored values over ``defaults``.

    Raises:
        OperatorSettingsError: If a stored value is invalid.
    """
    return merge(defaults, stored_overrides(session))


def save_settings(
    session: Session,
    changes: Mapping[str, tuple[Any, Any]],
    username: str,
    now: datetime,
) -> None:
    """Store the new values of ``changes`` (field -> (old, new) JSON) and audit each one."""
    for field, (old, new) in changes.items():
        key = PREFIX + field
        row = session.get(SettingRow, key)
        if row is None:
            session.add(SettingRow(key=key, value=new, updated_at=now))
        else:
            row.value = new
            row.updated_at = now
        session.add(
            SettingsAuditRow(
                changed_at=now,
                username=username,
                field=field,
                old_value=redact(field, old),
                new_value=redact(field, new),
            )
        )
    session.flush()


def settings_audit(session: Session, limit: int = 100) -> list[AuditEntry]:
    """The latest ``limit`` changes, newest first."""
    rows = session.scalars(
        select(SettingsAuditRow)
        .order_by(SettingsAuditRow.changed_at.desc(), SettingsAuditRow.id.desc())
        .limit(limit)
    )
    return [AuditEntry(r.changed_at, r.username, r.field, r.old_value, r.new_value) for r in rows]


def notifier_cursor(session: Session) -> int | None:
    """The last outbox event id the notifier handled, None before its first run."""
    row = session.get(SettingRow, NOTIFIER_CURSOR_KEY)
    return None if row is None else int(row.value)


def set_notifier_cursor(session: Session, event_id: int, now: datetime) -> None:
    """Remember that the notifier handled every event up to ``event_id``."""
    row = session.get(SettingRow, NOTIFIER_CURSOR_KEY)
    if row is None:
        session.add(SettingRow(key=NOTIFIER_CURSOR_KEY, value=event_id, updated_at=now))
    else:
        row.value = event_id
        row.updated_at = now
    session.flush()

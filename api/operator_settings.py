"""The operator settings as the sidecar reads and changes them (stored over the defaults).

Pages and routes call :func:`current_operator_settings`; changes go through
:func:`change_operator_settings`, which stores them, audits them and announces them on the
outbox (topic ``settings``) in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from api.deps import get_engine, get_settings
from weather_trader.core.operator_settings import (
    OperatorSettings,
    SettingsPatch,
    apply_patch,
    redact,
)
from weather_trader.store import repo, repo_settings
from weather_trader.store.db import session_scope


def read_operator_settings(engine: Engine, defaults: OperatorSettings) -> OperatorSettings:
    """The effective settings in the database behind ``engine``."""
    with session_scope(engine) as session:
        return repo_settings.stored_settings(session, defaults)


def current_operator_settings(app: FastAPI) -> OperatorSettings:
    """The effective operator settings (blocking: call from a thread in async code)."""
    return read_operator_settings(get_engine(app), get_settings(app).operator_defaults)


def change_operator_settings(
    app: FastAPI, patch: SettingsPatch, username: str
) -> tuple[OperatorSettings, list[str]]:
    """Apply ``patch`` for ``username``: store, audit and announce; return the new settings
    and the fields that changed (blocking).

    Raises:
        OperatorSettingsError: If the result is invalid (nothing is stored).
    """
    defaults = get_settings(app).operator_defaults
    now = datetime.now(UTC)
    with session_scope(get_engine(app)) as session:
        current = repo_settings.stored_settings(session, defaults)
        new, changes = apply_patch(current, patch)
        if changes:
            repo_settings.save_settings(session, changes, username, now)
            repo.append_event(
                session,
                "settings",
                {
                    "by": username,
                    "changed": {
                        field: redact(field, new_value) for field, (_, new_value) in changes.items()
                    },
                },
            )
    return new, sorted(changes)

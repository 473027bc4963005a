"""Settings of the sidecar, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from weather_trader.settings import Settings, explain, values_from_env

API_ENV_VARS: dict[str, str] = {
    "WEATHER_TRADER_API_POLL_INTERVAL": "poll_interval",
    "WEATHER_TRADER_API_WS_QUEUE_SIZE": "ws_queue_size",
    "WEATHER_TRADER_API_WS_HELLO_TIMEOUT": "ws_hello_timeout",
}
"""Sidecar-only environment variables -> :class:`ApiSettings` fields."""


class ApiSettingsError(ValueError):
    """An environment variable holds a value the sidecar cannot use (the message names it)."""


class ApiSettings(BaseModel):
    """Everything the sidecar needs to run.

    Attributes:
        database_url: SQLAlchemy URL of the domain database.
        home: The project's home folder (default database location).
        poll_interval: Seconds between two polls of the ``events`` outbox.
        bankroll: Bankroll in dollars (the trading rule's ``WEATHER_TRADER_BANKROLL``).
        daily_loss_limit: Daily realized loss limit in dollars (exported for alerting).
        ws_queue_size: Events buffered per WebSocket client before it is dropped as too slow.
        ws_hello_timeout: Seconds to wait for a first ``{"last_event_id": N}`` message when the
            client did not pass ``?last_event_id=``; without one the feed starts at the head.
        recent_decisions: How many latest decisions the overview shows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str
    home: Path = Path(".weather_trader")
    poll_interval: float = Field(default=0.5, gt=0, le=60)
    bankroll: Decimal = Field(default=Decimal("1000"), ge=0)
    daily_loss_limit: Decimal = Field(default=Decimal("100"), gt=0)
    ws_queue_size: int = Field(default=1000, ge=1)
    ws_hello_timeout: float = Field(default=0.5, ge=0)
    recent_decisions: int = Field(default=20, ge=1, le=500)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """Build settings from environment variables.

        The project-wide variables (``DATABASE_URL``, ``WEATHER_TRADER_HOME`` default
        ``./.weather_trader``, ``WEATHER_TRADER_BANKROLL``, ``WEATHER_TRADER_DAILY_LOSS_LIMIT``)
        are read through :class:`weather_trader.settings.Settings`; the sidecar's own ones are
        ``WEATHER_TRADER_API_POLL_INTERVAL`` (seconds), ``WEATHER_TRADER_API_WS_QUEUE_SIZE`` and
        ``WEATHER_TRADER_API_WS_HELLO_TIMEOUT`` (seconds).

        Args:
            environ: The environment to read; ``os.environ`` when omitted.

        Raises:
            ApiSettingsError: If a variable is set to an invalid value.
        """
        env = os.environ if environ is None else environ
        try:
            project = Settings.from_env(env)
        except ValueError as exc:
            raise ApiSettingsError(str(exc)) from None
        values: dict[str, object] = {
            "home": project.home,
            "database_url": project.resolved_database_url,
            "bankroll": project.bankroll,
            "daily_loss_limit": project.daily_loss_limit,
            **values_from_env(API_ENV_VARS, env),
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ApiSettingsError(
                f"invalid sidecar settings: {explain(exc, API_ENV_VARS)}"
            ) from None

    def redacted_database_url(self) -> str:
        """The database URL with any password masked, safe to log."""
        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable database url>"

"""Settings of the sidecar, read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from weather_trader.core.operator_settings import OperatorSettings
from weather_trader.settings import EnvSettings, Settings, env


def _operator_defaults() -> OperatorSettings:
    return OperatorSettings.defaults_from(Settings.from_env())


class ApiSettingsError(ValueError):
    """An environment variable holds a value the sidecar cannot use (the message names it)."""


class ApiSettings(EnvSettings):
    """Everything the sidecar needs to run.

    The project-wide values (database, home, bankroll, loss limit) come from
    :class:`weather_trader.settings.Settings` through :meth:`from_env`, so they have one default.

    Attributes:
        database_url: SQLAlchemy URL of the domain database.
        home: The project's home folder (default database location).
        bankroll: Bankroll in dollars (the trading rule's ``WEATHER_TRADER_BANKROLL``).
        daily_loss_limit: Daily realized loss limit in dollars (exported for alerting).
        poll_interval: Seconds between two polls of the ``events`` outbox.
        ws_queue_size: Events buffered per WebSocket client before it is dropped as too slow.
        ws_hello_timeout: Seconds to wait for a first ``{"last_event_id": N}`` message when the
            client did not pass ``?last_event_id=``; without one the feed starts at the head.
        recent_decisions: How many latest decisions the overview shows.
        session_hours: How long a login lasts.
        login_max_failures: Failed logins per username and address before 429.
        login_window_seconds: The window those failures are counted over (and the lock-out).
        trust_forwarded_proto: Believe ``X-Forwarded-Proto`` (only behind a TLS proxy you run)
            when deciding whether the session cookie is ``Secure``.
        metrics_token: Bearer token ``/metrics`` requires; mandatory when serving beyond
            loopback.
        notify_interval: Seconds between two reads of the outbox by the notifier.
        operator_defaults: The operator settings' defaults (the environment's trading values).
    """

    # The project-wide fields have no variable of their own: the prefix keeps the environment
    # source from reading e.g. HOME into ``home``. Tests and tools build it by field name.
    model_config = SettingsConfigDict(env_prefix="WEATHER_TRADER_API_", validate_by_name=True)

    database_url: str
    home: Path = Settings.model_fields["home"].default
    bankroll: Decimal = Field(default=Settings.model_fields["bankroll"].default, ge=0)
    daily_loss_limit: Decimal = Field(
        default=Settings.model_fields["daily_loss_limit"].default, gt=0
    )
    poll_interval: float = env("WEATHER_TRADER_API_POLL_INTERVAL", 0.5, gt=0, le=60)
    ws_queue_size: int = env("WEATHER_TRADER_API_WS_QUEUE_SIZE", 1000, ge=1)
    ws_hello_timeout: float = env("WEATHER_TRADER_API_WS_HELLO_TIMEOUT", 0.5, ge=0)
    recent_decisions: int = env("WEATHER_TRADER_API_RECENT_DECISIONS", 20, ge=1, le=500)
    session_hours: float = env("WEATHER_TRADER_API_SESSION_HOURS", 12.0, gt=0, le=24 * 30)
    login_max_failures: int = env("WEATHER_TRADER_API_LOGIN_MAX_FAILURES", 5, ge=1, le=1000)
    login_window_seconds: float = env("WEATHER_TRADER_API_LOGIN_WINDOW_SECONDS", 900.0, gt=0)
    trust_forwarded_proto: bool = env("WEATHER_TRADER_API_TRUST_FORWARDED_PROTO", False)
    metrics_token: SecretStr | None = env("WEATHER_TRADER_API_METRICS_TOKEN", None, min_length=16)
    notify_interval: float = env("WEATHER_TRADER_API_NOTIFY_INTERVAL", 5.0, gt=0, le=3600)
    operator_defaults: OperatorSettings = Field(default_factory=_operator_defaults)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """Build settings from the process environment, overridden by ``environ`` when given.

        Raises:
            ApiSettingsError: If a variable is set to an invalid value.
        """
        environ = environ or {}
        try:
            project = Settings.from_env(environ)
        except ValueError as exc:
            raise ApiSettingsError(str(exc)) from None
        try:
            return cls(
                database_url=project.resolved_database_url,
                home=project.home,
                bankroll=project.bankroll,
                daily_loss_limit=project.daily_loss_limit,
                operator_defaults=OperatorSettings.defaults_from(project),
                **cls.values_from(environ),
            )
        except ValidationError as exc:
            raise ApiSettingsError(f"invalid sidecar settings: {cls.explain(exc)}") from None

    def redacted_database_url(self) -> str:
        """The database URL with any password masked, safe to log."""
        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable database url>"

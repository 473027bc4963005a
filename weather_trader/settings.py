"""Every setting of weather-trader, read from the environment and validated in one place.

A leaf module: it imports from the package only Kalshi's URL constants (themselves a leaf),
so anything may read settings.
A wrong value fails loudly at start-up with the variable's name, never falls back silently.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from weather_trader.sources.kalshi.urls import DEMO_BASE_URL, PROD_BASE_URL

Mode = Literal["sim", "paper", "demo", "live"]
KalshiTier = Literal["basic", "advanced", "premier", "paragon", "prime"]
"""Kalshi's API tiers (``sources.kalshi.ratelimit.TIERS``): the client's token buckets."""

KALSHI_API_URLS: dict[str, str] = {
    "paper": PROD_BASE_URL,
    "live": PROD_BASE_URL,
    "demo": DEMO_BASE_URL,
}
"""Kalshi's REST base per mode; sim mode uses ``KALSHI_API_URL`` (a local exchange) when set."""

TLS_MODES: frozenset[str] = frozenset({"demo", "live"})
"""Modes that send signed orders: their Kalshi URL must be HTTPS unless it is loopback."""


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_url(url: str) -> bool:
    """True for an ``https://`` URL, or any URL whose host is loopback (a local exchange)."""
    parts = urlsplit(url)
    return parts.scheme.lower() == "https" or is_loopback_host(parts.hostname)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def env(variable: str, default: Any = ..., **constraints: Any) -> Any:
    """A field read from the environment variable ``variable`` (its validation alias)."""
    return Field(default, validation_alias=variable, **constraints)


class EnvSettings(BaseSettings):
    """Settings whose fields each name their environment variable (the field's alias).

    Empty variables count as unset. Build from the process environment with ``cls()``, or
    from an explicit mapping (over the process environment) with :meth:`from_env`.
    """

    # Fields are given by their variable's name only, also as keywords: one spelling each.
    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_ignore_empty=True, case_sensitive=True
    )

    @classmethod
    def env_vars(cls) -> dict[str, str]:
        """Environment variable -> field name, for every field read from the environment."""
        return {
            str(field.validation_alias): name
            for name, field in cls.model_fields.items()
            if isinstance(field.validation_alias, str)
        }

    @classmethod
    def values_from(cls, environ: Mapping[str, str]) -> dict[str, str]:
        """The variables of this class set (non-empty) in ``environ``, by variable name."""
        return {var: environ[var] for var in cls.env_vars() if environ.get(var, "") != ""}

    @classmethod
    def explain(cls, exc: ValidationError) -> str:
        """A validation error in terms of the environment variables the user actually set."""
        names = {name: var for var, name in cls.env_vars().items()}
        return "; ".join(
            f"{names.get(str(err['loc'][0]), err['loc'][0])}: {err['msg']}"
            if err["loc"]
            else err["msg"].removeprefix("Value error, ")  # a rule across several settings
            for err in exc.errors()
        )


class Settings(EnvSettings):
    """Validated configuration of the Dagster code location, the CLI and the tools.

    The defaults here are the only ones: resources, the sidecar and the README read them.
    """

    mode: Mode = env("WEATHER_TRADER_MODE", "sim")
    home: Path = env("WEATHER_TRADER_HOME", Path(".weather_trader"))
    database_url: str | None = env("DATABASE_URL", None)
    dagster_postgres_url: str | None = env("WEATHER_TRADER_DAGSTER_POSTGRES_URL", None)
    sim_seed: int = env("WEATHER_TRADER_SIM_SEED", 7)
    bankroll: Decimal = env("WEATHER_TRADER_BANKROLL", Decimal("1000"), gt=0)
    kelly_fraction: Decimal = env("WEATHER_TRADER_KELLY_FRACTION", Decimal("0.25"), gt=0, le=1)
    min_edge: Decimal = env("WEATHER_TRADER_MIN_EDGE", Decimal("0.03"), ge=0)
    max_order_cost: Decimal = env("WEATHER_TRADER_MAX_ORDER_COST", Decimal("25"), gt=0)
    max_event_exposure: Decimal = env("WEATHER_TRADER_MAX_EVENT_EXPOSURE", Decimal("50"), gt=0)
    max_total_exposure: Decimal = env("WEATHER_TRADER_MAX_TOTAL_EXPOSURE", Decimal("400"), gt=0)
    daily_loss_limit: Decimal = env("WEATHER_TRADER_DAILY_LOSS_LIMIT", Decimal("100"), gt=0)
    kill_switch: bool = env("WEATHER_TRADER_KILL_SWITCH", False)
    max_forecast_age_hours: float = env("WEATHER_TRADER_MAX_FORECAST_AGE_HOURS", 18.0, gt=0)
    feed_metrics_port: int = env("WEATHER_TRADER_FEED_METRICS_PORT", 9101, ge=0, le=65535)
    user_agent: str = env("WEATHER_TRADER_USER_AGENT", "")
    open_meteo_api_key: SecretStr | None = env("OPEN_METEO_API_KEY", None)
    visual_crossing_api_key: SecretStr | None = env("VISUAL_CROSSING_API_KEY", None)
    kalshi_api_url: str | None = env("KALSHI_API_URL", None, pattern=r"^https?://")
    kalshi_key_id: str | None = env("KALSHI_KEY_ID", None)
    kalshi_private_key_path: Path | None = env("KALSHI_PRIVATE_KEY_PATH", None)
    kalshi_private_key_passphrase: SecretStr | None = env("KALSHI_PRIVATE_KEY_PASSPHRASE", None)
    kalshi_api_tier: KalshiTier = env("KALSHI_API_TIER", "basic")

    @model_validator(mode="after")
    def _modes_have_what_they_need(self) -> Settings:
        # NWS and IEM ask every client to identify itself with a way to reach its operator.
        if self.mode != "sim" and not self.user_agent.strip():
            raise ValueError(
                "WEATHER_TRADER_USER_AGENT must name the app and a contact "
                '(e.g. "weather-trader (you@example.com)") outside sim mode'
            )
        # Without a key file, demo/live sign with the key stored encrypted in the database
        # (`weather-trader kalshi-key set`); its absence fails the first signed request.
        if (
            self.mode in ("demo", "live")
            and self.kalshi_private_key_path
            and not self.kalshi_key_id
        ):
            raise ValueError("KALSHI_PRIVATE_KEY_PATH needs KALSHI_KEY_ID (the key's id)")
        # Signed orders and the key id must not cross the network in clear text.
        url = self.kalshi_api_url
        if self.mode in TLS_MODES and url is not None and not is_secure_url(url):
            raise ValueError(
                f"WEATHER_TRADER_MODE={self.mode} needs an https:// KALSHI_API_URL outside "
                f"loopback (127.0.0.0/8, ::1, localhost), got {urlsplit(url).scheme}://"
                f"{urlsplit(url).hostname}"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the process environment, overridden by ``environ`` when given.

        Raises:
            SettingsError: Naming each variable whose value is invalid.
        """
        try:
            return cls(**cls.values_from(environ or {}))
        except ValidationError as exc:
            raise SettingsError(f"invalid settings: {cls.explain(exc)}") from None

    @property
    def resolved_kalshi_api_url(self) -> str | None:
        """Kalshi's REST base for the mode; None in sim mode without a local exchange."""
        return self.kalshi_api_url or KALSHI_API_URLS.get(self.mode)

    @property
    def resolved_home(self) -> Path:
        """The home folder as an absolute path."""
        return self.home.expanduser().resolve()

    @property
    def dagster_home(self) -> Path:
        """Dagster's instance folder inside the home."""
        return self.resolved_home / "dagster"

    @property
    def model_store(self) -> Path:
        """Where trained model artifacts are kept."""
        return self.resolved_home / "models"

    @property
    def resolved_database_url(self) -> str:
        """``DATABASE_URL``, or the SQLite file ``weather_trader.db`` in the home (created)."""
        if self.database_url:
            return self.database_url
        self.resolved_home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.resolved_home / 'weather_trader.db'}"


ENV_VARS: dict[str, str] = Settings.env_vars()
"""Environment variable -> Settings field. The README's configuration table mirrors this."""

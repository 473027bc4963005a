"""Every setting of weather-trader, read from the environment and validated in one place.

A wrong value fails loudly at start-up with the variable's name, never falls back silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from weather_trader.sources.kalshi.urls import DEMO_BASE_URL, PROD_BASE_URL
from weather_trader.store.db import default_database_url

Mode = Literal["sim", "paper", "demo", "live"]

# Environment variable -> Settings field. The README's configuration table mirrors this.
ENV_VARS: dict[str, str] = {
    "WEATHER_TRADER_MODE": "mode",
    "WEATHER_TRADER_HOME": "home",
    "DATABASE_URL": "database_url",
    "WEATHER_TRADER_DAGSTER_POSTGRES_URL": "dagster_postgres_url",
    "WEATHER_TRADER_SIM_SEED": "sim_seed",
    "WEATHER_TRADER_BANKROLL": "bankroll",
    "WEATHER_TRADER_KELLY_FRACTION": "kelly_fraction",
    "WEATHER_TRADER_MIN_EDGE": "min_edge",
    "WEATHER_TRADER_MAX_ORDER_COST": "max_order_cost",
    "WEATHER_TRADER_MAX_EVENT_EXPOSURE": "max_event_exposure",
    "WEATHER_TRADER_MAX_TOTAL_EXPOSURE": "max_total_exposure",
    "WEATHER_TRADER_DAILY_LOSS_LIMIT": "daily_loss_limit",
    "WEATHER_TRADER_KILL_SWITCH": "kill_switch",
    "WEATHER_TRADER_MAX_FORECAST_AGE_HOURS": "max_forecast_age_hours",
    "WEATHER_TRADER_USER_AGENT": "user_agent",
    "OPEN_METEO_API_KEY": "open_meteo_api_key",
    "KALSHI_API_URL": "kalshi_api_url",
    "KALSHI_KEY_ID": "kalshi_key_id",
    "KALSHI_PRIVATE_KEY_PATH": "kalshi_private_key_path",
    "KALSHI_PRIVATE_KEY_PASSPHRASE": "kalshi_private_key_passphrase",
}
KALSHI_API_URLS: dict[str, str] = {
    "paper": PROD_BASE_URL,
    "live": PROD_BASE_URL,
    "demo": DEMO_BASE_URL,
}
"""Kalshi's REST base per mode; sim mode uses ``KALSHI_API_URL`` (a local exchange) when set."""


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseModel):
    """Validated configuration. Build it with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = "sim"
    home: Path = Path(".weather_trader")
    database_url: str | None = None
    dagster_postgres_url: str | None = None
    sim_seed: int = 7
    bankroll: Decimal = Field(default=Decimal("1000"), gt=0)
    kelly_fraction: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    min_edge: Decimal = Field(default=Decimal("0.03"), ge=0)
    max_order_cost: Decimal = Field(default=Decimal("25"), gt=0)
    max_event_exposure: Decimal = Field(default=Decimal("50"), gt=0)
    max_total_exposure: Decimal = Field(default=Decimal("400"), gt=0)
    daily_loss_limit: Decimal = Field(default=Decimal("100"), gt=0)
    kill_switch: bool = False
    max_forecast_age_hours: float = Field(default=18.0, gt=0)
    user_agent: str = ""
    open_meteo_api_key: SecretStr | None = None
    kalshi_api_url: str | None = Field(default=None, pattern=r"^https?://")
    kalshi_key_id: str | None = None
    kalshi_private_key_path: Path | None = None
    kalshi_private_key_passphrase: SecretStr | None = None

    @model_validator(mode="after")
    def _modes_have_what_they_need(self) -> Settings:
        # NWS and IEM ask every client to identify itself with a way to reach its operator.
        if self.mode != "sim" and not self.user_agent.strip():
            raise ValueError(
                "WEATHER_TRADER_USER_AGENT must name the app and a contact "
                '(e.g. "weather-trader (you@example.com)") outside sim mode'
            )
        if self.mode in ("demo", "live") and not (
            self.kalshi_key_id and self.kalshi_private_key_path
        ):
            raise ValueError(
                f"WEATHER_TRADER_MODE={self.mode} trades on Kalshi: set KALSHI_KEY_ID and "
                "KALSHI_PRIVATE_KEY_PATH"
            )
        return self

    @property
    def resolved_kalshi_api_url(self) -> str | None:
        """Kalshi's REST base for the mode; None in sim mode without a local exchange."""
        return self.kalshi_api_url or KALSHI_API_URLS.get(self.mode)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); unset variables keep defaults.

        Raises:
            SettingsError: Naming each variable whose value is invalid.
        """
        env = os.environ if environ is None else environ
        try:
            return cls(**values_from_env(ENV_VARS, env))
        except ValidationError as exc:
            raise SettingsError(f"invalid settings: {explain(exc, ENV_VARS)}") from None

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
        """``DATABASE_URL`` or the SQLite file in the home folder (created if missing)."""
        return self.database_url or default_database_url(self.resolved_home)


def values_from_env(env_vars: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Field values for the variables of ``env_vars`` (variable -> field) set in ``environ``."""
    return {field: environ[var] for var, field in env_vars.items() if environ.get(var, "") != ""}


def explain(exc: ValidationError, env_vars: Mapping[str, str]) -> str:
    """A validation error in terms of the environment variables the user actually set."""
    field_to_var = {field: var for var, field in env_vars.items()}
    return "; ".join(
        f"{field_to_var.get(str(err['loc'][0]), err['loc'][0])}: {err['msg']}"
        if err["loc"]
        else err["msg"].removeprefix("Value error, ")  # a rule across several settings
        for err in exc.errors()
    )

"""Sidecar settings from the environment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from api.settings import ApiSettings, ApiSettingsError


def test_from_env_defaults_to_sqlite_in_home(tmp_path: Path) -> None:
    home = tmp_path / "home"

    settings = ApiSettings.from_env({"WEATHER_TRADER_HOME": str(home)})

    assert settings.database_url == f"sqlite:///{(home / 'weather_trader.db').resolve()}"
    assert settings.home == home
    assert settings.poll_interval == 0.5
    assert settings.bankroll == Decimal("1000")


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    settings = ApiSettings.from_env(
        {
            "DATABASE_URL": "postgresql://trader:s3cret@db/wt",
            "WEATHER_TRADER_HOME": str(tmp_path),
            "WEATHER_TRADER_BANKROLL": "2500",
            "WEATHER_TRADER_DAILY_LOSS_LIMIT": "75",
            "WEATHER_TRADER_API_POLL_INTERVAL": "1.5",
            "WEATHER_TRADER_API_WS_QUEUE_SIZE": "50",
            "WEATHER_TRADER_API_WS_HELLO_TIMEOUT": "0",
        }
    )

    assert settings.database_url == "postgresql://trader:s3cret@db/wt"
    assert settings.bankroll == Decimal("2500")
    assert settings.daily_loss_limit == Decimal("75")
    assert settings.poll_interval == 1.5
    assert settings.ws_queue_size == 50
    assert settings.ws_hello_timeout == 0
    assert "s3cret" not in settings.redacted_database_url()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEATHER_TRADER_API_POLL_INTERVAL", "-1"),
        ("WEATHER_TRADER_API_WS_QUEUE_SIZE", "many"),
        ("WEATHER_TRADER_BANKROLL", "lots"),
    ],
)
def test_from_env_rejects_bad_values_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ApiSettingsError, match=variable):
        ApiSettings.from_env({"WEATHER_TRADER_HOME": str(tmp_path), variable: value})

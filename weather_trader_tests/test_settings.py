"""Settings from the environment, and the home folder with Dagster's instance configuration."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import make_url

from weather_trader.home import DAGSTER_YAML_TEMPLATE, prepare_home
from weather_trader.settings import ENV_VARS, Settings, SettingsError
from weather_trader.store.db import psycopg2_url
from weather_trader_tests.conftest import POSTGRES_URL_ENV

# One valid, non-default value per variable, and the value it must parse to.
VALID: dict[str, tuple[str, Any]] = {
    "WEATHER_TRADER_MODE": ("paper", "paper"),
    "WEATHER_TRADER_HOME": ("/srv/weather", Path("/srv/weather")),
    "DATABASE_URL": ("postgresql://wt@db/wt", "postgresql://wt@db/wt"),
    "WEATHER_TRADER_DAGSTER_POSTGRES_URL": ("postgresql://wt@db/dagster", "postgresql://wt@db/dagster"),
    "WEATHER_TRADER_SIM_SEED": ("11", 11),
    "WEATHER_TRADER_BANKROLL": ("2500.50", Decimal("2500.50")),
    "WEATHER_TRADER_KELLY_FRACTION": ("0.5", Decimal("0.5")),
    "WEATHER_TRADER_MIN_EDGE": ("0.05", Decimal("0.05")),
    "WEATHER_TRADER_MAX_ORDER_COST": ("10", Decimal("10")),
    "WEATHER_TRADER_MAX_EVENT_EXPOSURE": ("60", Decimal("60")),
    "WEATHER_TRADER_MAX_TOTAL_EXPOSURE": ("500", Decimal("500")),
    "WEATHER_TRADER_DAILY_LOSS_LIMIT": ("75", Decimal("75")),
    "WEATHER_TRADER_KILL_SWITCH": ("true", True),
    "WEATHER_TRADER_MAX_FORECAST_AGE_HOURS": ("6.5", 6.5),
    "WEATHER_TRADER_FEED_METRICS_PORT": ("9111", 9111),
    "WEATHER_TRADER_USER_AGENT": ("wt (ops@example.com)", "wt (ops@example.com)"),
    "OPEN_METEO_API_KEY": ("om-key", SecretStr("om-key")),
    "VISUAL_CROSSING_API_KEY": ("vc-key", SecretStr("vc-key")),
    "KALSHI_API_URL": ("http://127.0.0.1:8700/trade-api/v2", "http://127.0.0.1:8700/trade-api/v2"),
    "KALSHI_KEY_ID": ("key-1", "key-1"),
    "KALSHI_PRIVATE_KEY_PATH": ("/srv/kalshi.pem", Path("/srv/kalshi.pem")),
    "KALSHI_PRIVATE_KEY_PASSPHRASE": ("pass", SecretStr("pass")),
    "KALSHI_API_TIER": ("prime", "prime"),
}  # fmt: skip
# Settings a mode needs besides itself.
NEEDS = {"WEATHER_TRADER_MODE": {"WEATHER_TRADER_USER_AGENT": "wt (ops@example.com)"}}
INVALID = [
    ("WEATHER_TRADER_MODE", "backtest"),
    ("WEATHER_TRADER_SIM_SEED", "seven"),
    ("WEATHER_TRADER_BANKROLL", "0"),
    ("WEATHER_TRADER_BANKROLL", "lots"),
    ("WEATHER_TRADER_KELLY_FRACTION", "0"),
    ("WEATHER_TRADER_KELLY_FRACTION", "1.5"),
    ("WEATHER_TRADER_MIN_EDGE", "-0.01"),
    ("WEATHER_TRADER_MAX_ORDER_COST", "0"),
    ("WEATHER_TRADER_MAX_EVENT_EXPOSURE", "-1"),
    ("WEATHER_TRADER_MAX_TOTAL_EXPOSURE", "0"),
    ("WEATHER_TRADER_DAILY_LOSS_LIMIT", "0"),
    ("WEATHER_TRADER_KILL_SWITCH", "maybe"),
    ("WEATHER_TRADER_MAX_FORECAST_AGE_HOURS", "0"),
    ("WEATHER_TRADER_MAX_FORECAST_AGE_HOURS", "soon"),
    ("WEATHER_TRADER_FEED_METRICS_PORT", "70000"),
    ("KALSHI_API_URL", "api.kalshi.com"),
    ("KALSHI_API_TIER", "platinum"),
]
FREE_TEXT = {
    "WEATHER_TRADER_HOME", "DATABASE_URL", "WEATHER_TRADER_DAGSTER_POSTGRES_URL",
    "WEATHER_TRADER_USER_AGENT", "OPEN_METEO_API_KEY", "KALSHI_KEY_ID", "KALSHI_PRIVATE_KEY_PATH",
    "KALSHI_PRIVATE_KEY_PASSPHRASE", "VISUAL_CROSSING_API_KEY",
}  # fmt: skip


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.mode, s.home, s.database_url, s.dagster_postgres_url) == (
        "sim",
        Path(".weather_trader"),
        None,
        None,
    )
    assert (s.sim_seed, s.bankroll, s.kelly_fraction, s.min_edge) == (
        7,
        Decimal("1000"),
        Decimal("0.25"),
        Decimal("0.03"),
    )
    assert (s.max_order_cost, s.max_event_exposure, s.max_total_exposure) == (
        Decimal("25"),
        Decimal("50"),
        Decimal("400"),
    )
    assert (s.daily_loss_limit, s.kill_switch, s.max_forecast_age_hours) == (
        Decimal("100"),
        False,
        18.0,
    )


def test_every_variable_has_a_test_value() -> None:
    assert set(VALID) == set(ENV_VARS)
    assert set(ENV_VARS.values()) == set(Settings.model_fields)
    assert {var for var, _ in INVALID} == set(ENV_VARS) - FREE_TEXT


@pytest.mark.parametrize("var", sorted(ENV_VARS))
def test_each_variable_is_parsed(var: str) -> None:
    raw, expected = VALID[var]
    field = ENV_VARS[var]
    value = getattr(Settings.from_env({var: raw, **NEEDS.get(var, {})}), field)
    assert value == expected
    assert value != getattr(Settings.from_env({}), field)


def test_all_variables_together() -> None:
    s = Settings.from_env({var: raw for var, (raw, _) in VALID.items()})
    assert {field: getattr(s, field) for field in ENV_VARS.values()} == {
        ENV_VARS[var]: expected for var, (_, expected) in VALID.items()
    }


def test_empty_variables_count_as_unset() -> None:
    assert Settings.from_env(dict.fromkeys(ENV_VARS, "")) == Settings.from_env({})


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHER_TRADER_BANKROLL", "1234")
    assert Settings.from_env().bankroll == Decimal("1234")


@pytest.mark.parametrize(("var", "raw"), INVALID)
def test_invalid_values_name_the_variable(var: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=var) as exc:
        Settings.from_env({var: raw})
    assert str(exc.value).startswith("invalid settings: ")
    others = set(ENV_VARS) - {var}
    assert not any(f"{other}:" in str(exc.value) for other in others)


def test_every_invalid_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"WEATHER_TRADER_MODE": "x", "WEATHER_TRADER_BANKROLL": "-1"})
    assert "WEATHER_TRADER_MODE" in str(exc.value)
    assert "WEATHER_TRADER_BANKROLL" in str(exc.value)


def test_real_modes_need_a_contact_and_trading_modes_a_key() -> None:
    with pytest.raises(SettingsError, match="WEATHER_TRADER_USER_AGENT must name"):
        Settings.from_env({"WEATHER_TRADER_MODE": "paper"})
    agent = {"WEATHER_TRADER_USER_AGENT": "wt (ops@example.com)"}
    for mode in ("demo", "live"):
        with pytest.raises(SettingsError, match="KALSHI_PRIVATE_KEY_PATH needs KALSHI_KEY_ID"):
            Settings.from_env(
                {"WEATHER_TRADER_MODE": mode, "KALSHI_PRIVATE_KEY_PATH": "/k.pem", **agent}
            )
        # No key file: the key stored encrypted in the database signs (checked at run time).
        assert Settings.from_env({"WEATHER_TRADER_MODE": mode, **agent}).kalshi_key_id is None
    key = {"KALSHI_KEY_ID": "k", "KALSHI_PRIVATE_KEY_PATH": "/k.pem"}
    live = Settings.from_env({"WEATHER_TRADER_MODE": "live", **agent, **key})
    assert live.resolved_kalshi_api_url == "https://api.elections.kalshi.com/trade-api/v2"
    demo = Settings.from_env({"WEATHER_TRADER_MODE": "demo", **agent, **key})
    assert demo.resolved_kalshi_api_url == "https://demo-api.kalshi.co/trade-api/v2"
    assert Settings.from_env({}).resolved_kalshi_api_url is None  # sim: the in-process market


TRADING = {
    "WEATHER_TRADER_USER_AGENT": "wt (ops@example.com)",
    "KALSHI_KEY_ID": "k",
    "KALSHI_PRIVATE_KEY_PATH": "/k.pem",
}


@pytest.mark.parametrize("mode", ["demo", "live"])
@pytest.mark.parametrize(
    "url",
    [
        "http://api.elections.kalshi.com/trade-api/v2",
        "http://10.0.0.5:8700/trade-api/v2",
        "http://localhost.example.com/trade-api/v2",
        "http://127.0.0.1.nip.io/trade-api/v2",
    ],
)
def test_trading_modes_refuse_clear_text_kalshi_urls_off_loopback(mode: str, url: str) -> None:
    with pytest.raises(SettingsError, match="needs an https:// KALSHI_API_URL") as exc:
        Settings.from_env({"WEATHER_TRADER_MODE": mode, "KALSHI_API_URL": url, **TRADING})
    assert "KALSHI_PRIVATE_KEY" not in str(exc.value)


@pytest.mark.parametrize("mode", ["demo", "live"])
@pytest.mark.parametrize(
    "url",
    [
        "https://api.elections.kalshi.com/trade-api/v2",
        "https://10.0.0.5:8700/trade-api/v2",
        "http://127.0.0.1:8700/trade-api/v2",
        "http://127.8.9.10:8700/trade-api/v2",
        "http://localhost:8700/trade-api/v2",
        "http://[::1]:8700/trade-api/v2",
    ],
)
def test_trading_modes_accept_https_or_loopback(mode: str, url: str) -> None:
    settings = Settings.from_env({"WEATHER_TRADER_MODE": mode, "KALSHI_API_URL": url, **TRADING})
    assert settings.resolved_kalshi_api_url == url


@pytest.mark.parametrize("mode", ["sim", "paper"])
def test_non_trading_modes_keep_plain_http(mode: str) -> None:
    url = "http://exchange.internal:8700/trade-api/v2"
    settings = Settings.from_env({"WEATHER_TRADER_MODE": mode, "KALSHI_API_URL": url, **TRADING})
    assert settings.kalshi_api_url == url


def test_secrets_never_show_in_a_repr() -> None:
    s = Settings.from_env(
        {"OPEN_METEO_API_KEY": "om-secret", "KALSHI_PRIVATE_KEY_PASSPHRASE": "pp-secret"}
    )
    assert "om-secret" not in repr(s) and "pp-secret" not in repr(s)
    assert s.open_meteo_api_key is not None
    assert s.open_meteo_api_key.get_secret_value() == "om-secret"


def test_settings_are_frozen_and_closed() -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({}).mode = "live"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Settings(unknown=1)  # type: ignore[call-arg]


def test_derived_paths(tmp_path: Path) -> None:
    s = Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "wt")})
    assert s.resolved_home == (tmp_path / "wt").resolve()
    assert s.dagster_home == s.resolved_home / "dagster"
    assert s.model_store == s.resolved_home / "models"
    assert s.resolved_database_url == f"sqlite:///{s.resolved_home / 'weather_trader.db'}"
    assert (
        Settings.from_env({"DATABASE_URL": "postgresql://x/y"}).resolved_database_url
        == "postgresql://x/y"
    )


# -- the home folder and Dagster's instance --------------------------------------------------------


@pytest.fixture
def dagster_home_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``prepare_home`` points ``DAGSTER_HOME`` at the new folder; restore it after the test."""
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent-before-prepare-home")
    monkeypatch.delenv("WEATHER_TRADER_DAGSTER_POSTGRES_URL", raising=False)


@dg.asset
def tiny() -> int:
    return 1


def test_prepare_home_uses_sqlite_storage_by_default(
    tmp_path: Path, dagster_home_env: None
) -> None:
    settings = Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")})

    dagster_home = prepare_home(settings)

    assert dagster_home == settings.dagster_home
    assert os.environ["DAGSTER_HOME"] == str(dagster_home)
    assert settings.model_store.is_dir()
    written = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    assert written == yaml.safe_load(DAGSTER_YAML_TEMPLATE.read_text())
    assert "storage" not in written  # Dagster's default: SQLite files under DAGSTER_HOME
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert instance.root_directory == str(dagster_home)
        result = dg.materialize([tiny], instance=instance)
        assert instance.get_run_by_id(result.run_id).is_success
    assert (dagster_home / "history" / "runs.db").exists()


def test_prepare_home_is_repeatable(tmp_path: Path, dagster_home_env: None) -> None:
    settings = Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")})
    first = prepare_home(settings)
    (settings.model_store / "keep.json").write_text("{}")
    assert prepare_home(settings) == first
    assert (settings.model_store / "keep.json").exists()


def test_prepare_home_writes_postgres_storage_when_configured(
    tmp_path: Path, dagster_home_env: None
) -> None:
    url = "postgresql://dagster:s3cret@db.example:5432/dagster"
    settings = Settings.from_env(
        {"WEATHER_TRADER_HOME": str(tmp_path / "home"), "WEATHER_TRADER_DAGSTER_POSTGRES_URL": url}
    )

    text = (prepare_home(settings) / "dagster.yaml").read_text()

    written = yaml.safe_load(text)
    template = yaml.safe_load(DAGSTER_YAML_TEMPLATE.read_text())
    assert written["storage"] == {
        "postgres": {"postgres_url": {"env": "WEATHER_TRADER_DAGSTER_POSTGRES_URL"}}
    }
    assert {k: v for k, v in written.items() if k != "storage"} == template
    assert "s3cret" not in text  # the URL (with its password) stays in the environment
    # ... which now holds the settings' URL, with the driver the project ships.
    assert os.environ["WEATHER_TRADER_DAGSTER_POSTGRES_URL"] == (
        "postgresql+psycopg2://dagster:s3cret@db.example:5432/dagster"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg2://u:p@h:5432/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ],
)
def test_psycopg2_url(url: str, expected: str) -> None:
    assert psycopg2_url(url) == expected


@pytest.fixture
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server for Dagster's storage (dropped after)."""
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    import psycopg2

    name = f"wt_dagster_{uuid.uuid4().hex[:12]}"
    admin_dsn = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield make_url(admin_dsn).set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def test_dagster_instance_on_postgres_storage_works(
    tmp_path: Path,
    dagster_home_env: None,
    fresh_postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEATHER_TRADER_DAGSTER_POSTGRES_URL", fresh_postgres_database)
    settings = Settings.from_env({**os.environ, "WEATHER_TRADER_HOME": str(tmp_path / "home")})
    assert settings.dagster_postgres_url == fresh_postgres_database

    dagster_home = prepare_home(settings)

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = dg.materialize([tiny], instance=instance)
        run_id = result.run_id
    with dg.DagsterInstance.from_config(str(dagster_home)) as reopened:
        run = reopened.get_run_by_id(run_id)
        assert run is not None and run.is_success
        event = reopened.get_latest_materialization_event(dg.AssetKey("tiny"))
        assert event is not None and event.run_id == run_id
    assert not (dagster_home / "history").exists()  # nothing went to local SQLite files

"""The whole code location loads: assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster import AssetCheckKey, AssetKey

from weather_trader.definitions import build_definitions, defs
from weather_trader.defs.partitions import city_day_partitions
from weather_trader.settings import Settings

GROUPS = {
    "forecast_snapshots": "weather",
    "intraday_observations": "weather",
    "climate_reports": "weather",
    "weather_archive": "weather",
    "climatology_model": "forecasting",
    "emos_model": "forecasting",
    "xgboost_model": "forecasting",
    "weather_model": "forecasting",
    "ours_model": "forecasting",
    "forecast_evaluation": "forecasting",
    "temperature_distribution": "forecasting",
    "kalshi_markets": "markets",
    "bracket_probabilities": "markets",
    "series_registry": "markets",
    "trade_decisions": "trading",
    "orders": "trading",
    "settlements": "trading",
    "forecast_scores": "trading",
    "backtest_report": "backtest",
}
BACKTEST = {"backtest_report"}
REGISTRY = {"series_registry"}
MODELS = {
    "climatology_model",
    "emos_model",
    "xgboost_model",
    "weather_model",
    "ours_model",
    "forecast_evaluation",
}
CHECKS = {
    ("forecast_snapshots", "forecasts_fresh"): True,
    ("forecast_snapshots", "forecasts_plausible"): True,
    ("forecast_snapshots", "all_sources_present"): False,
    ("intraday_observations", "observations_plausible"): True,
    ("climate_reports", "reports_plausible"): True,
    ("weather_model", "beats_climatology"): True,
    ("temperature_distribution", "distribution_is_sane"): True,
    ("bracket_probabilities", "event_probabilities_sum_to_one"): True,
    ("climate_reports", "report_matches_observations"): False,
    ("orders", "positions_match_exchange"): False,
    ("series_registry", "every_series_verified"): False,
}
JOB_ASSETS = {
    "forecast_job": {"forecast_snapshots", "intraday_observations", "temperature_distribution"},
    "trading_job": {"kalshi_markets", "bracket_probabilities", "trade_decisions", "orders"},
    "settlement_job": {"climate_reports", "settlements", "forecast_scores"},
    "pipeline_job": set(GROUPS) - MODELS - BACKTEST - REGISTRY - {"weather_archive"},
    "model_job": MODELS,
    "archive_backfill_job": {"weather_archive"},
    "backtest_job": BACKTEST,
    "registry_job": REGISTRY,
}
RESOURCES = {"database", "weather", "market_data", "broker", "trading", "clock", "model_store"}


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    return defs.resolve_asset_graph()


def test_module_definitions_are_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_definitions_for_explicit_settings_are_loadable(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"WEATHER_TRADER_HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    )
    built = build_definitions(settings)
    dg.Definitions.validate_loadable(built)
    assert set(built.resources) == RESOURCES
    # Given explicitly (not the environment's DATABASE_URL), the URL is bound as given.
    assert built.resources["database"].url == settings.database_url
    assert built.resources["model_store"].path == str(tmp_path.resolve() / "models")
    # Nothing is touched until a resource is used: loading the location writes no files.
    assert not any(tmp_path.iterdir())


def test_every_expected_asset_exists(graph: dg.AssetGraph) -> None:
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(GROUPS)


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_asset_has_description_kinds_and_group(graph: dg.AssetGraph, name: str) -> None:
    node = graph.get(AssetKey(name))
    assert node.description and len(node.description) > 30
    assert "python" in node.kinds and len(node.kinds) >= 2
    assert node.group_name == GROUPS[name]
    assert node.is_materializable


@pytest.mark.parametrize("name", sorted(set(GROUPS) - MODELS - BACKTEST - REGISTRY))
def test_partitioned_assets_share_one_definition_and_run_ranges(
    graph: dg.AssetGraph, name: str
) -> None:
    node = graph.get(AssetKey(name))
    assert node.partitions_def == city_day_partitions
    assert node.backfill_policy == dg.BackfillPolicy.single_run()


@pytest.mark.parametrize("name", sorted(MODELS - {"forecast_evaluation"}))
def test_models_are_unpartitioned_and_retrained_weekly(graph: dg.AssetGraph, name: str) -> None:
    node = graph.get(AssetKey(name))
    assert node.partitions_def is None
    assert "weekly_retrain(0 6 * * 1" in str(node.automation_condition.get_label())


def test_evaluation_follows_the_models(graph: dg.AssetGraph) -> None:
    node = graph.get(AssetKey("forecast_evaluation"))
    assert node.partitions_def is None
    assert AssetKey("ours_model") in node.parent_keys
    assert node.automation_condition.get_label() == "eager"


def test_distribution_follows_its_inputs_eagerly(graph: dg.AssetGraph) -> None:
    condition = graph.get(AssetKey("temperature_distribution")).automation_condition
    assert condition is not None and condition.get_label() == "eager"


def test_rate_limited_apis_use_pools(graph: dg.AssetGraph) -> None:
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert {k for k, v in pools.items() if v == {"weather_api"}} == {
        "forecast_snapshots",
        "intraday_observations",
        "climate_reports",
        "weather_archive",
    }
    assert {k for k, v in pools.items() if v == {"kalshi_api"}} == {
        "kalshi_markets",
        "orders",
        "series_registry",
    }


def test_forecast_archive_has_a_freshness_policy(graph: dg.AssetGraph) -> None:
    policy = graph.get(AssetKey("forecast_snapshots")).freshness_policy
    assert policy is not None
    assert policy.fail_window.to_timedelta().total_seconds() == 12 * 3600


def test_asset_checks_exist_and_blocking_ones_block(graph: dg.AssetGraph) -> None:
    keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert keys == set(CHECKS)
    for (asset, name), blocking in CHECKS.items():
        node = graph.get(AssetCheckKey(AssetKey(asset), name))
        assert node.blocking is blocking, (asset, name)
        assert node.description


def test_jobs_resolve_with_their_selections() -> None:
    names = {job.name for job in defs.resolve_all_job_defs()}
    assert set(JOB_ASSETS) <= names
    for name, assets in JOB_ASSETS.items():
        job = defs.resolve_job_def(name)
        selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        assert selected == assets, name
        unpartitioned = name in ("model_job", "backtest_job", "registry_job")
        expected_partitions = None if unpartitioned else city_day_partitions
        assert job.partitions_def == expected_partitions, name


def test_schedule_targets_the_forecast_job() -> None:
    schedule = defs.resolve_schedule_def("forecast_schedule")
    assert schedule.job_name == "forecast_job"
    assert schedule.cron_schedule == "20 */3 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_registry_is_rediscovered_daily() -> None:
    schedule = defs.resolve_schedule_def("registry_schedule")
    assert schedule.job_name == "registry_job"
    assert schedule.cron_schedule == "30 9 * * *"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_registry_is_unpartitioned_and_gates_trading(graph: dg.AssetGraph) -> None:
    node = graph.get(AssetKey("series_registry"))
    assert node.partitions_def is None
    assert AssetKey("series_registry") in graph.get(AssetKey("trade_decisions")).parent_keys


@pytest.mark.parametrize(
    ("sensor", "job", "interval", "required"),
    [
        ("trading_sensor", "trading_job", 60, {"database", "clock"}),
        ("climate_report_sensor", "settlement_job", 300, {"database", "weather", "clock"}),
        ("approval_sensor", "trading_job", 30, {"database", "clock"}),
        ("registry_startup_sensor", "registry_job", 60, {"clock"}),
    ],
)
def test_sensors_target_their_jobs(sensor: str, job: str, interval: int, required: set) -> None:
    sensor_def = defs.resolve_sensor_def(sensor)
    assert sensor_def.job_name == job
    assert sensor_def.minimum_interval_seconds == interval
    assert sensor_def.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor_def.required_resource_keys == required
    assert required <= set(defs.resources)


def test_every_required_resource_is_bound() -> None:
    needed = set()
    for assets_def in defs.assets:
        needed |= assets_def.required_resource_keys
    assert needed - {"io_manager"} <= set(defs.resources)  # io_manager: Dagster's default
    assert set(defs.resources) == RESOURCES


def _config_values(resource: dg.ConfigurableResource) -> list[str]:
    """Every config value of a resource, nested resources included, as shown in the UI."""
    values = []
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if isinstance(value, dg.ConfigurableResource):
            values += _config_values(value)
        elif isinstance(value, dg.EnvVar):
            values.append(f"EnvVar({value.env_var_name})")
        elif value is not None:
            values.append(str(value))
    return values


@pytest.mark.parametrize("mode", ["sim", "paper", "live"])
def test_no_resource_config_shows_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    key = tmp_path / "key.pem"
    secrets = {
        "DATABASE_URL": "postgresql+psycopg://trader:s3cr3t-pw@db.example/trading",
        "KALSHI_PRIVATE_KEY_PASSPHRASE": "pass-phrase-xyz",
        "OPEN_METEO_API_KEY": "om-key-123",
    }
    environ = {
        **secrets,
        "WEATHER_TRADER_HOME": str(tmp_path),
        "WEATHER_TRADER_MODE": mode,
        "WEATHER_TRADER_USER_AGENT": "weather-trader-test (ops@example.com)",
        "KALSHI_KEY_ID": "key-id",
        "KALSHI_PRIVATE_KEY_PATH": str(key),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    resources = build_definitions(Settings.from_env()).resources
    shown = [v for r in resources.values() for v in _config_values(r)]
    for secret in secrets.values():
        assert not any(secret in value for value in shown), secret
    assert resources["database"].url == dg.EnvVar("DATABASE_URL")
    # Dagster resolves the variable when the resource is initialised for a run.
    assert resources["database"].process_config_and_initialize().url == secrets["DATABASE_URL"]

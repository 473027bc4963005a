"""The deployment files hold together: ``dagster.yaml``'s run queue, the Helm values for a
Kubernetes cluster (``deploy/helm/values.yaml``) and the monitoring compose file
(``monitoring/docker-compose.yml``).

Neither Helm nor docker runs here: the files are parsed and the keys that matter are checked
against the code (module name, the settings the app requires, secrets only from Kubernetes
secrets, the limits of ``dagster.yaml``) and the repository (every mounted path exists).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator

from weather_trader.home import prepare_home
from weather_trader.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DAGSTER_YAML = REPO / "dagster.yaml"
HELM_VALUES = REPO / "deploy" / "helm" / "values.yaml"
DEPLOY_README = REPO / "deploy" / "README.md"
MONITORING = REPO / "monitoring"
COMPOSE = MONITORING / "docker-compose.yml"

SECRET_VARS = {
    "DATABASE_URL",
    "WEATHER_TRADER_DAGSTER_POSTGRES_URL",
    "KALSHI_KEY_ID",
    "KALSHI_PRIVATE_KEY_PASSPHRASE",
    "OPEN_METEO_API_KEY",
}
"""Settings that carry credentials: never a literal in a deployment file."""


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --- dagster.yaml: the queued run coordinator ------------------------------------------------


@pytest.fixture
def dagster_home_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent-before-prepare-home")
    monkeypatch.delenv("WEATHER_TRADER_DAGSTER_POSTGRES_URL", raising=False)


def test_instance_queues_runs_within_the_concurrency_limits(
    tmp_path: Path, dagster_home_env: None
) -> None:
    """The instance ``weather-trader`` writes (``prepare_home``) loads, queues every run with
    the QueuedRunCoordinator and applies the limits of ``concurrency:`` (runs and pools)."""
    config = _load(DAGSTER_YAML)
    runs, pools = config["concurrency"]["runs"], config["concurrency"]["pools"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # Dagster refuses limits in both places; they live in `concurrency:`.
    assert not {"max_concurrent_runs", "tag_concurrency_limits"} & set(
        config["run_coordinator"].get("config", {})
    )

    home = prepare_home(Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        effective = instance.get_concurrency_config()
        queue = effective.run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == runs["max_concurrent_runs"]
        assert list(queue.tag_concurrency_limits) == runs["tag_concurrency_limits"]
        coordinator = config["run_coordinator"]["config"]
        assert queue.max_user_code_failure_retries == coordinator["max_user_code_failure_retries"]
        assert effective.pool_config.default_pool_limit == pools["default_limit"]


def test_repository_dagster_yaml_loads_as_is(tmp_path: Path) -> None:
    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)


# --- deploy/helm/values.yaml -----------------------------------------------------------------


@pytest.fixture(scope="module")
def helm() -> dict[str, Any]:
    return _load(HELM_VALUES)


@pytest.fixture(scope="module")
def user_deployment(helm: dict[str, Any]) -> dict[str, Any]:
    user = helm["dagster-user-deployments"]
    assert user["enabled"] is True
    (deployment,) = user["deployments"]
    return deployment


def _secret_keys_in_readme() -> set[str]:
    """The keys deploy/README.md puts in the weather-trader-secrets secret."""
    text = DEPLOY_README.read_text()
    block = text[text.index("secret generic weather-trader-secrets") :]
    block = block[: block.index("kubectl", 1)]
    return set(re.findall(r"--from-literal=([A-Z_]+)=", block))


def test_user_code_serves_the_code_location(user_deployment: dict[str, Any]) -> None:
    args = user_deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "weather_trader.definitions"
    assert importlib.util.find_spec(module) is not None
    image = user_deployment["image"]
    assert image["tag"] and str(image["tag"]) != "latest"
    assert user_deployment["includeConfigInLaunchedRuns"]["enabled"] is True


def test_secrets_come_from_kubernetes_secrets(
    helm: dict[str, Any], user_deployment: dict[str, Any]
) -> None:
    literal = {e["name"] for e in user_deployment["env"]}
    assert not literal & SECRET_VARS, "credentials must come from envSecrets, not env"
    secrets = {s["name"] for s in user_deployment["envSecrets"]}
    assert "weather-trader-secrets" in secrets
    launcher = helm["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert {s["name"] for s in launcher["config"]["k8sRunLauncher"]["envSecrets"]} >= secrets
    # The README's secret holds the domain database URL and the Kalshi credentials.
    assert _secret_keys_in_readme() >= {
        "DATABASE_URL",
        "KALSHI_KEY_ID",
        "KALSHI_PRIVATE_KEY_PASSPHRASE",
    }
    assert _secret_keys_in_readme() <= set(Settings.env_vars())
    # Dagster's own Postgres password: from the chart's secret, never in the values.
    assert helm["global"]["postgresqlSecretName"]
    assert helm["generatePostgresqlPasswordSecret"] is False
    assert not helm["postgresql"]["postgresqlPassword"]
    # No literal anywhere looks like a URL with a password.
    assert not re.search(r"://[^/\s:@]+:[^@\s]+@", HELM_VALUES.read_text())


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_the_deployment_env_makes_valid_settings(
    user_deployment: dict[str, Any], mode: str
) -> None:
    """The literal env plus the secret's keys satisfy the settings' checks (non-sim needs a
    user agent; live needs the Kalshi key id and a key file, mounted from a secret)."""
    env = {e["name"]: str(e["value"]) for e in user_deployment["env"]}
    assert set(env) <= set(Settings.env_vars()), "unknown setting in the Helm env"
    secrets = {key: f"placeholder-{key.lower()}" for key in _secret_keys_in_readme()}
    secrets["DATABASE_URL"] = "postgresql://wt:secret@postgres:5432/weather_trader"
    settings = Settings.from_env({**env, **secrets, "WEATHER_TRADER_MODE": mode})
    assert settings.resolved_database_url.startswith("postgresql")
    assert settings.kalshi_private_key_path is not None
    key_dir = PurePosixPath(str(settings.kalshi_private_key_path)).parent
    mounts = {m["mountPath"]: m["name"] for m in user_deployment["volumeMounts"]}
    volumes = {v["name"]: v for v in user_deployment["volumes"]}
    assert "secret" in volumes[mounts[str(key_dir)]], "the Kalshi key comes from a secret"
    # The model store (WEATHER_TRADER_HOME) is shared by every run pod.
    home_volume = volumes[mounts[str(settings.home)]]
    assert "persistentVolumeClaim" in home_volume


def test_queue_and_pools_match_dagster_yaml(helm: dict[str, Any]) -> None:
    local = _load(DAGSTER_YAML)["concurrency"]
    daemon = helm["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] is True and coordinator["type"] == "QueuedRunCoordinator"
    # The chart refuses limits in both places (as Dagster does): they live in `concurrency`.
    queued = coordinator["config"]["queuedRunCoordinator"]
    assert "maxConcurrentRuns" not in queued and "tagConcurrencyLimits" not in queued
    concurrency = helm["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] >= local["runs"]["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == local["runs"]["tag_concurrency_limits"]
    assert concurrency["pools"]["defaultLimit"] == local["pools"]["default_limit"]
    assert daemon["runMonitoring"]["enabled"] is True


# --- monitoring/docker-compose.yml -----------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


def _binds(service: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """Container path -> (host path, mode) of the service's bind mounts (./ relative)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        if source.startswith("."):
            binds[target] = ((COMPOSE.parent / source).resolve(), mode[0] if mode else "rw")
    return binds


def test_compose_services_are_pinned_and_on_the_host_network(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"prometheus", "alertmanager", "grafana"}
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", f"{name}: pin the image tag"
        assert service["network_mode"] == "host", f"{name}: reaches `make dev` on 127.0.0.1"


def test_compose_mounts_the_repository_configs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounted: set[Path] = set()
    for name, service in services.items():
        for target, (source, mode) in _binds(service).items():
            assert source.exists(), f"{name}: {source} is missing"
            assert mode == "ro", f"{name}: {target} should be read-only"
            mounted.add(source)
    for path in (
        MONITORING / "prometheus" / "prometheus.yml",
        MONITORING / "alertmanager" / "alertmanager.yml",
        MONITORING / "grafana" / "dashboards",
    ):
        assert path.resolve() in mounted, f"{path} is not mounted"


def test_compose_prometheus_finds_its_rules(compose: dict[str, Any]) -> None:
    service = compose["services"]["prometheus"]
    binds = _binds(service)
    config_arg = next(a for a in service["command"] if a.startswith("--config.file="))
    config_path = PurePosixPath(config_arg.split("=", 1)[1])
    host_config, _ = binds[str(config_path)]
    for rule_file in _load(host_config)["rule_files"]:
        in_container = config_path.parent / rule_file
        mount = next(t for t in binds if in_container.is_relative_to(t))
        host_dir, _ = binds[mount]
        assert list(host_dir.glob(str(in_container.relative_to(mount)))), rule_file


def test_compose_alertmanager_reads_the_mounted_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["alertmanager"]
    config_arg = next(a for a in service["command"] if a.startswith("--config.file="))
    assert config_arg.split("=", 1)[1] in _binds(service)


def test_compose_grafana_provisions_the_dashboards(compose: dict[str, Any]) -> None:
    service = compose["services"]["grafana"]
    binds = _binds(service)
    provisioning = MONITORING / "grafana" / "provisioning"
    for kind in ("datasources", "dashboards"):
        assert binds[f"/etc/grafana/provisioning/{kind}"][0] == (provisioning / kind).resolve()
    for provider_file in (provisioning / "dashboards").glob("*.yml"):
        for provider in _load(provider_file)["providers"]:
            host_dir, _ = binds[provider["options"]["path"]]
            assert list(host_dir.glob("*.json")), "the provider's folder holds the dashboards"
    # Host networking: Grafana must not take a port `make dev` uses (Dagster UI :3000).
    port = int(service["environment"]["GF_SERVER_HTTP_PORT"])
    assert port not in {3000, 8000, 8100, 9090, 9093, 9101}

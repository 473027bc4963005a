"""The monitoring configuration agrees with what the sidecar and the feed export.

Every metric an alert rule, a rule unit test or a Grafana panel uses must be exported by the
sidecar's ``/metrics`` (scraped here from a real app on a temp database) or the feed's registry;
the rule unit tests must cover every alert with the rule's own labels and annotations, every
alert has a runbook; Alertmanager routes by severity to existing receivers. ``promtool`` runs
the rule unit tests and ``amtool`` checks Alertmanager's config when they are installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from api import ApiSettings, create_app
from weather_trader.feed_metrics import FeedMetrics
from weather_trader.store.db import session_scope
from weather_trader.store.models import ModelVersionRow, OrderRow, RawPayloadRow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
RULES = PROMETHEUS / "rules" / "weather_trader.yml"
RULE_TESTS = PROMETHEUS / "rules" / "weather_trader_test.yml"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
ALERTMANAGER = MONITORING / "alertmanager" / "alertmanager.yml"

PROMETHEUS_SYNTHETIC = {"up"}
"""Series Prometheus itself creates for every target."""

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}  # fmt: skip

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels excluded)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+[0-9smhdwy]+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        token = match.group()
        before = text[match.start() - 1] if match.start() else " "
        if before.isdigit() or before == ".":
            continue  # exponent or duration suffix of a number
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function call
        if token.lower() in PROMQL_KEYWORDS:
            continue
        names.add(token)
    return names


def unknown_metrics(expr: str, exported: set[str]) -> set[str]:
    """Metric names in ``expr`` that neither the sidecar nor Prometheus itself produces."""
    return metric_names(expr) - exported - PROMETHEUS_SYNTHETIC


def _names(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name the sidecar and the feed expose (families plus their type's sample
    suffixes)."""
    home = tmp_path_factory.mktemp("sidecar")
    settings = ApiSettings(database_url=f"sqlite:///{home / 'domain.db'}", home=home)
    app = create_app(settings)
    with TestClient(app) as client:
        _seed(app.state.engine)
        client.get("/health")  # so the latency histogram has samples
        text = client.get("/metrics").text
    return _names(text) | _names(generate_latest(FeedMetrics().registry).decode())


def _seed(engine: Engine) -> None:
    """A model version, a weather response and an order, so labelled families have samples."""
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        session.add(ModelVersionRow(name="m", version="v1", created_at=now, params={}, metrics={}))
        session.add(
            RawPayloadRow(
                source="nws", city="NYC", url="https://x", retrieved_at=now, status=200,
                content_type="application/json", sha256="0" * 64, size_bytes=2, body_zlib=b"x",
            )
        )  # fmt: skip
        session.add(
            OrderRow(
                client_order_id="o1", city="NYC", climate_date=now.date(), kind="high",
                ticker="KXHIGHNY-T1", side="bid", outcome_side="yes", count=1,
                price=Decimal("0.4"), time_in_force="immediate_or_cancel", status="rejected",
                filled_count=0, created_at=now, reason="test",
            )
        )  # fmt: skip


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of weather_trader.yml."""
    return [rule for group in _load(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


def test_metric_name_extraction() -> None:
    expr = 'sum by (le) (rate(a_bucket{x="y{z}"}[5m])) > on(i) -b_total offset 3h and 1e3 < c'
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}
    assert unknown_metrics("up == 0 or not_exported_metric > 1", {"x"}) == {"not_exported_metric"}


def test_sidecar_exports_the_domain_metrics(exported: set[str]) -> None:
    assert {
        "weather_trader_database_up",
        "weather_trader_data_age_seconds",
        "weather_trader_outbox_last_event_id",
        "weather_trader_websocket_clients",
        "weather_trader_http_requests_total",
        "weather_trader_dagster_runs",
        "weather_trader_dagster_pool_claimed_slots",
        "weather_trader_dagster_finished_runs_total",
        "weather_trader_trading_last_success_age_seconds",
        "weather_trader_weather_payload_age_seconds",
        "weather_trader_model_age_seconds",
        "weather_trader_orders_total",
        "weather_trader_feed_connected",
        "weather_trader_feed_last_message_age_seconds",
        "weather_trader_model_info",
    } <= exported


def test_alert_expressions_use_exported_metrics(
    alert_rules: list[dict[str, Any]], exported: set[str]
) -> None:
    assert alert_rules
    problems = {
        rule["alert"]: sorted(unknown_metrics(rule["expr"], exported))
        for rule in alert_rules
        if unknown_metrics(rule["expr"], exported)
    }
    assert problems == {}


def test_alerts_are_well_formed(alert_rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in alert_rules]
    assert len(names) == len(set(names))
    for rule in alert_rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    required = {
        "WeatherTraderSidecarDown", "WeatherTraderForecastsStale", "WeatherTraderDecisionsStale",
        "WeatherTraderDailyLoss", "WeatherTraderOutboxTailerStuck", "DagsterRunsQueued",
    }  # fmt: skip
    assert required <= set(names)


def _render(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def test_rule_unit_tests_cover_every_alert_with_its_labels_and_annotations(
    alert_rules: list[dict[str, Any]], exported: set[str]
) -> None:
    spec = _load(RULE_TESTS)
    assert spec["rule_files"] == [RULES.name]
    rules = {rule["alert"]: rule for rule in alert_rules}
    fired: set[str] = set()
    for case in spec["tests"]:
        for series in case["input_series"]:
            assert unknown_metrics(series["series"], exported) == set(), series["series"]
        for check in case["alert_rule_test"]:
            rule = rules[check["alertname"]]
            for alert in check["exp_alerts"]:
                fired.add(check["alertname"])
                labels = alert["exp_labels"]
                assert labels["severity"] == rule["labels"]["severity"]
                expected = {k: _render(v, labels) for k, v in rule["annotations"].items()}
                assert alert["exp_annotations"] == expected, check["alertname"]
    assert fired == set(rules), f"alerts never shown firing: {set(rules) - fired}"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows


def _dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def test_three_dashboards_with_unique_uids() -> None:
    dashboards = _dashboards()
    assert {"api.json", "trading_weather.json", "pipeline.json"} <= set(dashboards)
    uids = [d["uid"] for d in dashboards.values()]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS.glob("*.json")))
def test_dashboard_queries_use_exported_metrics(name: str, exported: set[str]) -> None:
    dashboard = json.loads((DASHBOARDS / name).read_text())
    datasource = _load(MONITORING / "grafana/provisioning/datasources/prometheus.yml")
    uid = datasource["datasources"][0]["uid"]
    panels = [p for p in _panels(dashboard["panels"]) if p["type"] != "row"]
    assert panels
    assert len({p["id"] for p in _panels(dashboard["panels"])}) == len(
        list(_panels(dashboard["panels"]))
    )
    problems = {}
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            unknown = unknown_metrics(target["expr"], exported)
            assert metric_names(target["expr"]), (panel["title"], target["expr"])
            if unknown:
                problems[panel["title"]] = sorted(unknown)
    assert problems == {}


def test_rules_are_grouped_by_concern_and_have_runbooks(alert_rules: list[dict[str, Any]]) -> None:
    groups = {g["name"] for g in _load(RULES)["groups"]}
    assert len(alert_rules) >= 17
    assert {
        f"weather_trader_{g}"
        for g in ("targets", "http", "dagster", "trading", "weather", "kalshi_feed", "model")
    } <= groups
    for rule in alert_rules:
        assert len(rule["annotations"].get("runbook", "")) > 40, rule["alert"]


def test_prometheus_scrapes_the_sidecar_and_loads_the_rules() -> None:
    config = _load(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    sidecar = jobs["weather-trader-sidecar"]
    assert sidecar["metrics_path"] == "/metrics"
    assert sidecar["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    feed = jobs["weather-trader-feed"]
    assert feed["static_configs"][0]["targets"] == ["127.0.0.1:9101"]
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file()
    sidecar_down = next(
        r for r in _load(RULES)["groups"][0]["rules"] if r["alert"] == "WeatherTraderSidecarDown"
    )
    assert 'job="weather-trader-sidecar"' in sidecar_down["expr"]


def test_alertmanager_routes_to_defined_receivers(alert_rules: list[dict[str, Any]]) -> None:
    config = _load(ALERTMANAGER)
    receivers = {r["name"] for r in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert {route["receiver"] for route in routes} <= receivers
    alerts = {rule["alert"] for rule in alert_rules}
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"]:
            name = re.fullmatch(r'alertname="(\w+)"', matcher)
            assert name is None or name.group(1) in alerts, matcher
        for matcher in rule["target_matchers"]:
            pattern = re.fullmatch(r'alertname=~"(.+)"', matcher)
            if pattern:  # every inhibit target pattern mutes at least one real alert
                assert any(re.fullmatch(pattern.group(1), a) for a in alerts), matcher
    severities = {m for route in routes for m in route.get("matchers", [])}
    assert {'severity="critical"', 'severity="warning"'} <= severities
    assert len(config["inhibit_rules"]) >= 3


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed")
def test_amtool_checks_the_config_and_routes_by_severity() -> None:
    amtool = shutil.which("amtool")
    assert amtool is not None
    check = [amtool, "check-config", str(ALERTMANAGER)]
    result = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for severity, receiver in (("critical", "critical"), ("warning", "default")):
        route = [
            amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
            f"severity={severity}", "alertname=KalshiFeedDisconnected",
        ]  # fmt: skip
        result = subprocess.run(route, capture_output=True, text=True, timeout=60, check=False)
        assert result.stdout.strip() == receiver, result.stdout + result.stderr


def test_grafana_dashboard_provider_points_at_a_folder() -> None:
    provider = _load(MONITORING / "grafana/provisioning/dashboards/weather_trader.yml")
    (entry,) = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_rule_unit_tests_pass() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    checks = [
        [promtool, "check", "rules", str(RULES)],
        [promtool, "test", "rules", str(RULE_TESTS)],
        [promtool, "check", "config", str(PROMETHEUS / "prometheus.yml")],
    ]
    for command in checks:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr

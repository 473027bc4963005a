"""The alert rules fire in a real Prometheus and reach a webhook through a real Alertmanager.

Starts Debian's ``prometheus`` and ``prometheus-alertmanager`` binaries on loopback (free ports,
temp dirs) with generated configurations:

- Prometheus loads the project's real rule files (``monitoring/prometheus/rules/``) with every
  rule as written except the ``for:`` of the rule under test, shortened so the test runs in
  seconds (expression, labels and annotations unchanged); it scrapes a running sidecar
  (``weather-trader-api`` on a temp SQLite database) every second under the job name the rules
  select (``weather-trader-sidecar``).
- Alertmanager keeps the project's real route tree and inhibit rules; every receiver becomes a
  webhook to a tiny HTTP server run by this test.

The feed's metrics server (``weather_trader.feed_metrics``, what ``weather-trader feed`` serves,
here without a Kalshi WebSocket) is scraped as job ``weather-trader-feed``.

The test then stops the sidecar and the feed and follows ``WeatherTraderSidecarDown`` (and any
real rule on ``up{job="weather-trader-feed"} == 0``) from inactive through pending to firing, and
into the webhook of the receiver the real routing picks. It skips where
the binaries are absent (``apt-get install prometheus prometheus-alertmanager``; ``.ci/run``
installs them).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "monitoring" / "prometheus" / "rules"
ALERTMANAGER_YML = REPO / "monitoring" / "alertmanager" / "alertmanager.yml"

SIDECAR_JOB = "weather-trader-sidecar"
FEED_JOB = "weather-trader-feed"
ALERT = "WeatherTraderSidecarDown"
ALERT_FOR = "3s"
"""The ``for:`` of the rules under test here (the real rules' are minutes)."""
FEED_DOWN_EXPR = re.compile(r'^\s*up\{job="weather-trader-feed"\}\s*==\s*0\s*$')
"""A rule on the feed's target being down is followed too, when the rule files have one."""
FEED_CMD = """
import sys, time
from weather_trader.feed_metrics import FeedMetrics
metrics = FeedMetrics()
assert metrics.serve(int(sys.argv[1]))
metrics.markets.set(3)
time.sleep(3600)
"""
"""The feed's metrics server (what ``weather-trader feed`` serves), without a Kalshi WebSocket."""
DEADLINE = 40.0
"""Seconds allowed from stopping the sidecar to the alert reaching the webhook."""

T = TypeVar("T")


def _binary(*names: str) -> str | None:
    for name in names:
        if path := shutil.which(name):
            return path
    return None


PROMETHEUS = _binary("prometheus")
ALERTMANAGER = _binary("prometheus-alertmanager", "alertmanager")

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="needs the prometheus and prometheus-alertmanager binaries "
    "(apt-get install prometheus prometheus-alertmanager); .ci/run installs them",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rule_files() -> list[Path]:
    """The project's rule files (promtool unit-test files excluded)."""
    return sorted(
        p for p in RULES_DIR.glob("*.yml") if "groups" in (yaml.safe_load(p.read_text()) or {})
    )


def with_short_for(path: Path, alerts: set[str], duration: str) -> tuple[dict[str, Any], int]:
    """The rule file at ``path`` with the ``for:`` of ``alerts`` set to ``duration``; how many
    rules matched."""
    doc = copy.deepcopy(yaml.safe_load(path.read_text()))
    matched = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in alerts:
                rule["for"] = duration
                matched += 1
    return doc, matched


def feed_down_alerts() -> set[str]:
    """The real rules that fire when the feed's scrape target is down."""
    return {
        rule["alert"]
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule and FEED_DOWN_EXPR.match(str(rule["expr"]))
    }


def alertmanager_config(webhook: str) -> dict[str, Any]:
    """The real route tree and inhibit rules; each receiver posts to ``webhook/<receiver>``."""
    real = yaml.safe_load(ALERTMANAGER_YML.read_text())
    route = copy.deepcopy(real["route"])

    def quick(node: dict[str, Any]) -> None:  # timings only: the tree and matchers as written
        for key in ("group_wait", "group_interval"):
            if key in node or node is route:
                node[key] = "1s"
        for child in node.get("routes", []):
            quick(child)

    quick(route)
    receivers = [
        {
            "name": r["name"],
            "webhook_configs": [{"url": f"{webhook}/{r['name']}", "send_resolved": True}],
        }
        for r in real["receivers"]
    ]
    config: dict[str, Any] = {"route": route, "receivers": receivers}
    if real.get("inhibit_rules"):
        config["inhibit_rules"] = real["inhibit_rules"]
    return config


def expected_receiver(route: dict[str, Any], labels: dict[str, str]) -> str:
    """The receiver the route tree sends ``labels`` to (equality matchers; first match wins)."""
    for child in route.get("routes", []):
        matchers = child.get("matchers", [])
        pairs = [m.replace('"', "").split("=", 1) for m in matchers if "=~" not in m]
        simple = all("!" not in m and "=~" not in m for m in matchers)
        if simple and matchers and all(labels.get(k.strip()) == v.strip() for k, v in pairs):
            return expected_receiver(child, labels) if child.get("routes") else child["receiver"]
    return route["receiver"]


class Webhook:
    """A tiny HTTP server recording Alertmanager's webhook posts."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.append((time.monotonic(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def firing(self, alertname: str) -> tuple[float, str, dict[str, Any]] | None:
        for when, path, payload in self.posts:
            for alert in payload.get("alerts", []):
                if alert["labels"].get("alertname") == alertname and alert["status"] == "firing":
                    return when, path, payload
        return None


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, proc=None) -> T:
    """Poll ``probe`` until it returns a value; fail with ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {proc.returncode}")
        with contextlib.suppress(OSError, ValueError):
            if (value := probe()) is not None:
                return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rule_state(prom: str, alert: str) -> str | None:
    groups = get_json(f"{prom}/api/v1/rules?type=alert")["data"]["groups"]
    for group in groups:
        for rule in group["rules"]:
            if rule["name"] == alert:
                return rule["state"]
    return None


def target_health(prom: str, job: str) -> str | None:
    for target in get_json(f"{prom}/api/v1/targets?state=active")["data"]["activeTargets"]:
        if target["labels"].get("job") == job:
            return target["health"]
    return None


def test_targets_down_fire_and_reach_the_webhook(tmp_path: Path) -> None:
    assert PROMETHEUS is not None and ALERTMANAGER is not None
    sidecar_port, feed_port = free_port(), free_port()
    prom_port, am_port = free_port(), free_port()
    prom, am = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
    feed_alerts = feed_down_alerts()
    followed = {ALERT: f"127.0.0.1:{sidecar_port}"} | {
        name: f"127.0.0.1:{feed_port}" for name in feed_alerts
    }

    # Rule files: the real ones, the rules under test with a short `for:`.
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    matched = 0
    real_groups: set[str] = set()
    for path in rule_files():
        doc, n = with_short_for(path, set(followed), ALERT_FOR)
        matched += n
        real_groups |= {g["name"] for g in doc["groups"]}
        (rules_dir / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    assert matched == len(followed), f"each of {sorted(followed)} defined once in {RULES_DIR}"

    def job(name: str, port: int) -> dict[str, Any]:
        return {
            "job_name": name,
            "scrape_timeout": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        }

    prom_yml = tmp_path / "prometheus.yml"
    prom_yml.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules_dir / "*.yml")],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": [job(SIDECAR_JOB, sidecar_port), job(FEED_JOB, feed_port)],
            }
        )
    )

    (tmp_path / "dagster").mkdir()
    app_env = {
        **os.environ,
        "WEATHER_TRADER_HOME": str(tmp_path / "home"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'domain.db'}",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }

    with Webhook() as webhook, contextlib.ExitStack() as stack:
        am_yml = tmp_path / "alertmanager.yml"
        am_config = alertmanager_config(webhook.url)
        am_yml.write_text(yaml.safe_dump(am_config, sort_keys=False))

        sidecar_cmd = [sys.executable, "-m", "api.server", "--port", str(sidecar_port)]
        feed_cmd = [sys.executable, "-c", FEED_CMD, str(feed_port)]
        am_cmd = [
            ALERTMANAGER,
            f"--config.file={am_yml}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        prom_cmd = [
            PROMETHEUS,
            f"--config.file={prom_yml}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ]
        # Prometheus starts once the targets answer, so the rules start inactive.
        sidecar = stack.enter_context(process(sidecar_cmd, tmp_path / "sidecar.log", app_env))
        feed = stack.enter_context(process(feed_cmd, tmp_path / "feed.log", app_env))
        alertmanager = stack.enter_context(process(am_cmd, tmp_path / "alertmanager.log"))
        sidecar_url, feed_url = f"http://127.0.0.1:{sidecar_port}", f"http://127.0.0.1:{feed_port}"
        wait_for("the sidecar", lambda: get_json(f"{sidecar_url}/health"), 30, sidecar)
        # The first /metrics imports Dagster (seconds): not in a 1 s scrape.
        urllib.request.urlopen(f"{sidecar_url}/metrics", timeout=30).close()
        wait_for("the feed", lambda: urllib.request.urlopen(f"{feed_url}/metrics").read(), 20, feed)
        wait_for("alertmanager", lambda: get_json(f"{am}/api/v2/status"), 20, alertmanager)
        prometheus = stack.enter_context(process(prom_cmd, tmp_path / "prometheus.log"))
        for name in (SIDECAR_JOB, FEED_JOB):
            wait_for(
                f"{name} scraped",
                lambda name=name: target_health(prom, name) == "up" or None,
                20,
                prometheus,
            )
        # Every real rule loaded; the followed rules are inactive while the targets are up.
        loaded = get_json(f"{prom}/api/v1/rules")["data"]["groups"]
        missing = real_groups - {g["name"] for g in loaded}
        assert not missing, (
            f"rule groups not loaded: {sorted(missing)}; "
            f"prometheus log: {(tmp_path / 'prometheus.log').read_text()[-2000:]}"
        )
        for name in followed:
            wait_for(
                f"{name} evaluated inactive",
                lambda name=name: rule_state(prom, name) == "inactive" or None,
                10,
                prometheus,
            )
        # Both targets' own metrics reached Prometheus.
        for metric in ("weather_trader_database_up", "weather_trader_feed_markets"):
            result = get_json(f"{prom}/api/v1/query?query={metric}")["data"]["result"]
            assert result, f"{metric} not in Prometheus"

        # Stop both: up == 0 -> pending -> firing -> Alertmanager -> webhook.
        t0 = time.monotonic()
        stop(sidecar)
        stop(feed)
        timelines: dict[str, dict[str, float]] = {name: {} for name in followed}
        hits: dict[str, tuple[float, str, dict[str, Any]]] = {}
        while time.monotonic() < t0 + DEADLINE and len(hits) < len(followed):
            for name, timeline in timelines.items():
                state = rule_state(prom, name)
                if state and state not in timeline:
                    timeline[state] = round(time.monotonic() - t0, 1)
                if name not in hits and (hit := webhook.firing(name)):
                    hits[name] = hit
                    timeline["webhook"] = round(hit[0] - t0, 1)
            time.sleep(0.2)
        print(f"\ntimelines (s after stopping the targets): {timelines}")
        if not feed_alerts:
            print(f"no rule on up{{job={FEED_JOB!r}}} == 0 in the rule files: feed scraped only")
        assert set(hits) == set(followed), (
            f"not at the webhook within {DEADLINE:.0f} s: {sorted(set(followed) - set(hits))}; "
            f"rule states seen: {timelines}; posts: {webhook.posts}; "
            f"alertmanager log: {(tmp_path / 'alertmanager.log').read_text()[-2000:]}"
        )

        for name, (_, path, payload) in hits.items():
            timeline = timelines[name]
            assert "pending" in timeline or "firing" in timeline
            assert timeline.get("firing", 0) <= timeline["webhook"]
            alert = next(a for a in payload["alerts"] if a["labels"]["alertname"] == name)
            # The real rule's labels and annotations came through.
            assert alert["labels"]["instance"] == followed[name]
            assert alert["labels"]["severity"]
            assert alert["annotations"]["summary"]
            # Routed like production: the receiver the real route tree picks for its labels.
            receiver = expected_receiver(am_config["route"], alert["labels"])
            assert payload["receiver"] == receiver
            assert path == f"/{receiver}"
        sidecar_alert = next(
            a for a in hits[ALERT][2]["alerts"] if a["labels"]["alertname"] == ALERT
        )
        assert sidecar_alert["labels"]["severity"] == "critical"
        # Alertmanager holds them as active, too.
        active = get_json(f"{am}/api/v2/alerts?filter=alertname%3D{ALERT}")
        assert [a["status"]["state"] for a in active] == ["active"]

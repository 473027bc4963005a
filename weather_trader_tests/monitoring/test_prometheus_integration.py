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

The test then stops the sidecar and follows ``WeatherTraderSidecarDown`` from inactive through
pending to firing, and into the webhook of the receiver the real routing picks. It skips where
the binaries are absent (``apt-get install prometheus prometheus-alertmanager``; ``.ci/run``
installs them).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
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
ALERT = "WeatherTraderSidecarDown"
ALERT_FOR = "3s"
"""The ``for:`` of the rule under test here (the real rule's is minutes)."""
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


def with_short_for(path: Path, alert: str, duration: str) -> tuple[dict[str, Any], int]:
    """The rule file at ``path`` with ``alert``'s ``for:`` set to ``duration``; how many matched."""
    doc = copy.deepcopy(yaml.safe_load(path.read_text()))
    matched = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["for"] = duration
                matched += 1
    return doc, matched


def alertmanager_config(webhook: str) -> dict[str, Any]:
    """The real route tree and inhibit rules; each receiver posts to ``webhook/<receiver>``."""
    real = yaml.safe_load(ALERTMANAGER_YML.read_text())
    route = copy.deepcopy(real["route"])
    route.update(group_wait="1s", group_interval="1s", repeat_interval="1h")
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
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
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


def test_sidecar_down_fires_and_reaches_the_webhook(tmp_path: Path) -> None:
    assert PROMETHEUS is not None and ALERTMANAGER is not None
    sidecar_port, prom_port, am_port = free_port(), free_port(), free_port()
    prom, am = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"

    # Rule files: the real ones, the rule under test with a short `for:`.
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    matched = 0
    for path in rule_files():
        doc, n = with_short_for(path, ALERT, ALERT_FOR)
        matched += n
        (rules_dir / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    assert matched == 1, f"{ALERT} must be defined once in {RULES_DIR}"

    prom_yml = tmp_path / "prometheus.yml"
    prom_yml.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules_dir / "*.yml")],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": [
                    {
                        "job_name": SIDECAR_JOB,
                        "scrape_timeout": "1s",
                        "static_configs": [{"targets": [f"127.0.0.1:{sidecar_port}"]}],
                    }
                ],
            }
        )
    )

    sidecar_env = {
        **os.environ,
        "WEATHER_TRADER_HOME": str(tmp_path / "home"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'domain.db'}",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    (tmp_path / "dagster").mkdir()

    with Webhook() as webhook:
        am_yml = tmp_path / "alertmanager.yml"
        am_config = alertmanager_config(webhook.url)
        am_yml.write_text(yaml.safe_dump(am_config, sort_keys=False))

        sidecar_cmd = [sys.executable, "-m", "api.server", "--port", str(sidecar_port)]
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
        with contextlib.ExitStack() as stack:
            # Prometheus starts once the sidecar answers, so the rule starts inactive.
            sidecar = stack.enter_context(
                process(sidecar_cmd, tmp_path / "sidecar.log", sidecar_env)
            )
            alertmanager = stack.enter_context(process(am_cmd, tmp_path / "alertmanager.log"))
            sidecar_url = f"http://127.0.0.1:{sidecar_port}"
            wait_for("the sidecar", lambda: get_json(f"{sidecar_url}/health"), 30, sidecar)
            # The first /metrics imports Dagster (seconds): not in a 1 s scrape.
            urllib.request.urlopen(f"{sidecar_url}/metrics", timeout=30).close()
            wait_for("alertmanager", lambda: get_json(f"{am}/api/v2/status"), 20, alertmanager)
            prometheus = stack.enter_context(process(prom_cmd, tmp_path / "prometheus.log"))
            wait_for(
                "the sidecar scraped",
                lambda: target_health(prom, SIDECAR_JOB) == "up" or None,
                20,
                prometheus,
            )
            # Every real rule loaded; the rule under test is inactive while the sidecar is up.
            loaded = get_json(f"{prom}/api/v1/rules")["data"]["groups"]
            real_groups = {
                g["name"] for p in rule_files() for g in yaml.safe_load(p.read_text())["groups"]
            }
            assert real_groups <= {g["name"] for g in loaded}
            wait_for(
                f"{ALERT} evaluated inactive",
                lambda: rule_state(prom, ALERT) == "inactive" or None,
                10,
                prometheus,
            )
            up = get_json(f'{prom}/api/v1/query?query=up{{job="{SIDECAR_JOB}"}}')["data"]["result"]
            assert [s["value"][1] for s in up] == ["1"]

            # Stop the sidecar: up == 0 -> pending -> firing -> Alertmanager -> webhook.
            t0 = time.monotonic()
            stop(sidecar)
            timeline: dict[str, float] = {}
            end = t0 + DEADLINE
            hit = None
            while time.monotonic() < end and hit is None:
                state = rule_state(prom, ALERT)
                if state and state not in timeline:
                    timeline[state] = round(time.monotonic() - t0, 1)
                hit = webhook.firing(ALERT)
                time.sleep(0.2)
            assert hit is not None, (
                f"{ALERT} did not reach the webhook within {DEADLINE:.0f} s; "
                f"rule states seen: {timeline}; posts: {webhook.posts}; "
                f"alertmanager log: {(tmp_path / 'alertmanager.log').read_text()[-2000:]}"
            )
            when, path, payload = hit
            timeline["webhook"] = round(when - t0, 1)
            print(f"\n{ALERT} timeline (s after stopping the sidecar): {timeline}")

            assert "pending" in timeline or "firing" in timeline
            assert timeline.get("firing", 0) <= timeline["webhook"]
            alert = next(a for a in payload["alerts"] if a["labels"]["alertname"] == ALERT)
            # The real rule's labels and annotations came through.
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["job"] == SIDECAR_JOB
            assert alert["labels"]["instance"] == f"127.0.0.1:{sidecar_port}"
            assert alert["annotations"]["summary"]
            # Routed like production: the receiver the real route tree picks for its labels.
            receiver = expected_receiver(am_config["route"], alert["labels"])
            assert payload["receiver"] == receiver
            assert path == f"/{receiver}"
            # Alertmanager holds it as active, too.
            active = get_json(f"{am}/api/v2/alerts?filter=alertname%3D{ALERT}")
            assert [a["status"]["state"] for a in active] == ["active"]

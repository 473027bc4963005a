"""``/metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from weather_trader_tests.api.conftest import SettingsFactory, TestClient

INF = float("inf")
EXPECTED_METRICS = {
    "weather_trader_http_requests",
    "weather_trader_http_request_duration_seconds",
    "weather_trader_websocket_clients",
    "weather_trader_websocket_events_sent",
    "weather_trader_websocket_disconnects",
    "weather_trader_outbox_last_event_id",
    "weather_trader_outbox_head_event_id",
    "weather_trader_outbox_poll_errors",
    "weather_trader_database_up",
    "weather_trader_open_positions",
    "weather_trader_pnl_total_dollars",
    "weather_trader_pnl_today_dollars",
    "weather_trader_bankroll_dollars",
    "weather_trader_daily_loss_limit_dollars",
    "weather_trader_data_age_seconds",
    "weather_trader_data_latest_timestamp_seconds",
}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_exposes_expected_families(client: TestClient, seeded: dict[str, Any]) -> None:
    client.get("/health")
    client.get("/no-such-page")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    assert families >= EXPECTED_METRICS
    samples = _samples(response.text)
    assert samples[("weather_trader_database_up", ())] == 1
    assert samples[("weather_trader_open_positions", ())] == seeded["open_positions"]
    assert samples[("weather_trader_pnl_total_dollars", ())] == float(seeded["pnl_total"])
    assert samples[("weather_trader_pnl_today_dollars", ())] == float(seeded["pnl_today"])
    assert samples[("weather_trader_bankroll_dollars", ())] == 500
    assert samples[("weather_trader_daily_loss_limit_dollars", ())] == 40
    assert samples[("weather_trader_outbox_head_event_id", ())] == seeded["event_ids"][-1]
    age = samples[("weather_trader_data_age_seconds", (("product", "forecasts"),))]
    assert 7200 <= age < 7260
    # An empty table is infinitely stale, so staleness alerts fire on it.
    assert samples[("weather_trader_data_age_seconds", (("product", "observations"),))] == INF
    health = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert samples[("weather_trader_http_requests_total", health)] == 1
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert samples[("weather_trader_http_requests_total", unmatched)] == 1


def test_http_routes_are_labelled_by_template(client: TestClient) -> None:
    for path in ("/docs", "/openapi.json", "/static/style.css", "/static/nope.js", "/wp-admin"):
        client.get(path)
    client.get("/a/b/c/d")
    client.request("BREW", "/api/overview")
    routes = {
        labels["route"]: labels["status"]
        for (name, pairs), _ in _samples(client.get("/metrics").text).items()
        if name == "weather_trader_http_requests_total"
        for labels in [dict(pairs)]
    }
    assert routes["/docs"] == "200" and routes["/openapi.json"] == "200"
    assert "/static/style.css" not in routes  # no label per file
    assert {"/static", "<unmatched>"} <= set(routes)
    assert not any(r.startswith(("/wp-admin", "/a/")) for r in routes)
    methods = {
        dict(pairs)["method"]
        for (name, pairs), _ in _samples(client.get("/metrics").text).items()
        if name == "weather_trader_http_requests_total"
    }
    assert methods == {"GET", "POST", "OTHER"}  # POST: the fixture's login


def test_gauges_exist_on_an_empty_database(client: TestClient) -> None:
    samples = _samples(client.get("/metrics").text)
    assert samples[("weather_trader_data_age_seconds", (("product", "decisions"),))] == INF
    assert samples[("weather_trader_model_age_seconds", ())] == INF
    assert samples[("weather_trader_weather_payload_age_seconds", (("provider", "nws"),))] == INF
    assert samples[("weather_trader_orders_total", (("status", "rejected"),))] == 0
    assert samples[("weather_trader_fills_total", ())] == 0
    assert samples[("weather_trader_open_exposure_dollars", ())] == 0


def test_metrics_report_database_down(make_settings: SettingsFactory, tmp_path: Path) -> None:
    broken = f"sqlite:///{tmp_path / 'missing-dir' / 'nested' / 'domain.db'}"
    with TestClient(create_app(make_settings(database_url=broken))) as client:
        response = client.get("/metrics")

    assert response.status_code == 200
    samples = _samples(response.text)
    assert samples[("weather_trader_database_up", ())] == 0
    assert ("weather_trader_open_positions", ()) not in samples


def test_each_app_has_its_own_registry(make_settings: SettingsFactory) -> None:
    first, second = create_app(make_settings()), create_app(make_settings())

    assert first.state.metrics.registry is not second.state.metrics.registry

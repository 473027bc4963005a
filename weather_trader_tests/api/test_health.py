"""``/health``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from api import create_app
from weather_trader_tests.api.conftest import SettingsFactory, TestClient, append_events


def test_health_ok_reports_last_event_id(client: TestClient, engine: Engine) -> None:
    ids = append_events(engine, 3)

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "last_event_id": ids[-1]}


def test_health_503_when_database_unreachable(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    broken = f"sqlite:///{tmp_path / 'missing-dir' / 'nested' / 'domain.db'}"
    with TestClient(create_app(make_settings(database_url=broken))) as broken_client:
        response = broken_client.get("/health")

    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "error", "last_event_id": None}

"""The uvicorn entry point and the app factory without explicit settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api import server
from api.app import create_app
from weather_trader.store.db import migrate
from weather_trader_tests.api.conftest import SettingsFactory, TestClient, add_user, login


def test_serve_runs_uvicorn_on_the_app(
    monkeypatch: pytest.MonkeyPatch, make_settings: SettingsFactory
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))

    server.serve(port=8123, settings=make_settings())

    (call,) = calls
    assert isinstance(call["app"], FastAPI)
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WEATHER_TRADER_BANKROLL", "321")

    (tmp_path / "home").mkdir()
    database_url = f"sqlite:///{tmp_path / 'home' / 'weather_trader.db'}"
    migrate(database_url)
    add_user(database_url)
    with TestClient(create_app()) as client:
        assert client.get("/health").json()["database"] == "ok"
        login(client)
        assert client.get("/api/overview").json()["bankroll"] == "321.0000"
    assert (tmp_path / "home" / "weather_trader.db").exists()


def test_main_serves_on_the_given_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path / "home"))
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append(kw))

    assert server.main(["--port", "8124"]) == 0

    assert (calls[0]["host"], calls[0]["port"]) == ("127.0.0.1", 8124)


def test_main_names_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEATHER_TRADER_API_WS_QUEUE_SIZE", "many")

    assert server.main([]) == 2

    assert "WEATHER_TRADER_API_WS_QUEUE_SIZE" in capsys.readouterr().err

"""Operator settings: validation naming the field, storage over the defaults, the audit trail,
and the Dagster resources reading what the dashboard stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from weather_trader.core.operator_settings import (
    OperatorSettings,
    OperatorSettingsError,
    SettingsPatch,
    apply_patch,
    instant_of,
    latest_instant,
    merge,
)
from weather_trader.defs.resources import DatabaseResource, TradingConfigResource
from weather_trader.settings import Settings
from weather_trader_tests.api.conftest import TEST_USER, TestClient

DEFAULTS = OperatorSettings.defaults_from(Settings.from_env({}))
WEBHOOK = "https://hooks.slack.example/services/T000/B000/SECRETTOKEN"


def test_get_shows_the_environment_defaults(client: TestClient) -> None:
    body = client.get("/api/settings").json()
    assert body["overridden"] == []
    assert body["settings"]["kelly_fraction"] == "0.25"
    assert body["settings"]["kill_switch"] is False
    assert body["settings"]["cities_enabled"] == sorted(body["settings"]["cities_enabled"])
    assert body["settings"]["notification_webhook"] is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"kelly_fraction": "1.5"}, "kelly_fraction"),
        ({"min_edge": "-0.01"}, "min_edge"),
        ({"max_order_cost": 0}, "max_order_cost"),
        ({"cities_enabled": ["NYC", "XYZ"]}, "cities_enabled"),
        ({"trading_instants": ["D-1 25:00"]}, "trading_instants"),
        ({"trading_instants": ["D+1 08:00"]}, "trading_instants"),
        ({"notification_webhook": "http://hooks.example/x"}, "notification_webhook"),
        ({"kill_switch": "maybe"}, "kill_switch"),
        ({"bankroll": "5"}, "bankroll"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    client: TestClient, patch: dict[str, Any], field: str
) -> None:
    response = client.put("/api/settings", json=patch)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(f["field"].startswith(field) for f in error["fields"]), error
    assert client.get("/api/settings").json()["overridden"] == []  # nothing stored


def test_changes_are_stored_audited_and_announced(client: TestClient) -> None:
    response = client.put(
        "/api/settings",
        json={"min_edge": "0.05", "kill_switch": True, "cities_enabled": ["NYC", "CHI"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] == ["cities_enabled", "kill_switch", "min_edge"]
    assert body["settings"]["cities_enabled"] == ["CHI", "NYC"]
    assert client.get("/api/settings").json()["overridden"] == body["changed"]

    again = client.put("/api/settings", json={"min_edge": "0.050"})
    assert again.json()["changed"] == []  # the same value: no change, no audit row

    audit = {a["field"]: a for a in client.get("/api/settings/audit").json()}
    assert set(audit) == {"cities_enabled", "kill_switch", "min_edge"}
    assert audit["min_edge"]["old_value"] == "0.03" and audit["min_edge"]["new_value"] == "0.05"
    assert audit["kill_switch"]["username"] == TEST_USER
    overview = client.get("/api/overview").json()
    settings_events = [e for e in overview["recent_events"] if e["topic"] == "settings"]
    assert settings_events and settings_events[0]["payload"]["changed"]["kill_switch"] is True


def test_the_webhook_is_a_credential_shown_redacted(client: TestClient) -> None:
    response = client.put("/api/settings", json={"notification_webhook": WEBHOOK})
    assert response.status_code == 200
    shown = client.get("/api/settings").text + client.get("/api/settings/audit").text
    assert "SECRETTOKEN" not in shown and "hooks.slack.example" in shown
    off = client.put("/api/settings", json={"notification_webhook": ""})
    assert off.json()["settings"]["notification_webhook"] is None


def test_merge_ignores_retired_fields_and_refuses_bad_stored_values() -> None:
    assert merge(DEFAULTS, {"retired": 1}).min_edge == DEFAULTS.min_edge
    with pytest.raises(OperatorSettingsError, match="kelly_fraction"):
        merge(DEFAULTS, {"kelly_fraction": "7"})


def test_apply_patch_reports_only_real_changes() -> None:
    new, changes = apply_patch(DEFAULTS, SettingsPatch(min_edge=Decimal("0.03"), kill_switch=True))
    assert changes == {"kill_switch": (False, True)}
    assert new.kill_switch and new.min_edge == DEFAULTS.min_edge


def test_trading_instants_are_local_standard_time() -> None:
    from datetime import UTC, date, datetime

    day = date(2026, 7, 15)
    # Chicago is UTC-6 all year for the climate day: D-1 16:00 is 22:00 UTC the day before.
    assert instant_of("D-1 16:00", "CHI", day) == datetime(2026, 7, 14, 22, 0, tzinfo=UTC)
    now = datetime(2026, 7, 15, 15, 0, tzinfo=UTC)
    assert latest_instant(("D-1 16:00", "D 08:00"), "CHI", day, now) == datetime(
        2026, 7, 15, 14, 0, tzinfo=UTC
    )
    assert latest_instant(("D 12:00",), "CHI", day, now) is None


def test_the_next_run_reads_the_stored_settings(client: TestClient, database_url: str) -> None:
    resource = TradingConfigResource(database_url=database_url)
    assert resource.limits().kill_switch is False
    assert resource.limits().min_edge == Decimal("0.03")
    client.put(
        "/api/settings", json={"kill_switch": True, "min_edge": "0.07", "kelly_fraction": "0.1"}
    )

    limits = resource.limits()  # no restart: read on each call
    assert limits.kill_switch is True
    assert limits.min_edge == Decimal("0.07") and limits.kelly_fraction == 0.1
    assert DatabaseResource(url=database_url).operator_settings().kill_switch is True
    assert TradingConfigResource().limits().kill_switch is False  # no database: config only

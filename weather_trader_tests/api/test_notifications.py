"""The webhook notifier: Slack-compatible messages from the outbox, retries, off by default."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime

import httpx
import pytest
from pytest_httpx import HTTPXMock
from sqlalchemy import Engine

from api.notifications import Notifier, message_for
from weather_trader.core.operator_settings import OperatorSettings, SettingsPatch, apply_patch
from weather_trader.settings import Settings
from weather_trader.store import repo, repo_settings
from weather_trader.store.db import session_scope
from weather_trader.store.schemas import EventRecord

WEBHOOK = "https://hooks.slack.example/services/T0/B0/TOPSECRET"
DEFAULTS = OperatorSettings.defaults_from(Settings.from_env({}))
DAY = date(2026, 1, 15)


def event(topic: str, payload: dict[str, object], city: str | None = "NYC") -> EventRecord:
    return EventRecord(
        id=1, created_at=datetime.now(UTC), topic=topic, city=city,
        climate_date=DAY if city else None, payload=payload,
    )  # fmt: skip


def test_messages_for_trades_fills_settlements_halts_and_the_kill_switch() -> None:
    taken = event(
        "decision",
        {"ticker": "KXHIGHNY-26JAN15-B45.5", "side": "yes", "count": 10, "price": "0.40",
         "ev_per_contract": "0.05"},
    )  # fmt: skip
    assert message_for(taken) == (
        "Trade taken NYC 2026-01-15: KXHIGHNY-26JAN15-B45.5 YES x10 at $0.40 "
        "(EV $0.05 per contract)"
    )
    assert "filled" in str(message_for(event("order", {"ticker": "T", "filled": 3})))
    assert message_for(event("order", {"ticker": "T", "filled": 0, "status": "canceled"})) is None
    assert "REJECTED" in str(message_for(event("order", {"ticker": "T", "status": "rejected"})))
    assert message_for(event("settlement", {"positions": 2, "pnl": "-2.59"})) == (
        "Settled NYC 2026-01-15: 2 positions, P&L -$2.59"
    )
    assert str(
        message_for(event("reconciliation", {"ticker": "T", "ours": 5, "exchange": 3}))
    ).startswith("HALT")
    kill = event("settings", {"by": "ops", "changed": {"kill_switch": True}}, city=None)
    assert message_for(kill) == "Kill switch ON: no new orders (by ops)"
    assert message_for(event("settings", {"by": "ops", "changed": {"min_edge": "0.1"}})) is None
    assert message_for(event("distribution", {})) is None


def set_webhook(engine: Engine, url: str | None) -> None:
    with session_scope(engine) as session:
        current = repo_settings.stored_settings(session, DEFAULTS)
        _, changes = apply_patch(current, SettingsPatch(notification_webhook=url or ""))
        repo_settings.save_settings(
            session, changes, "ops", __import__("datetime").datetime.now(__import__("datetime").UTC)
        )


def settle(engine: Engine, pnl: str = "1.00") -> int:
    with session_scope(engine) as session:
        return repo.append_event(
            session, "settlement", {"positions": 1, "pnl": pnl}, city="NYC", climate_date=DAY
        )


def run(notifier: Notifier) -> int:
    async def once() -> int:
        async with httpx.AsyncClient() as client:
            notifier.client = client
            return await notifier.run_once()

    return asyncio.run(once())


def cursor(engine: Engine) -> int | None:
    with session_scope(engine) as session:
        return repo_settings.notifier_cursor(session)


def test_off_by_default_and_no_flood_of_history(engine: Engine, httpx_mock: HTTPXMock) -> None:
    settle(engine)
    notifier = Notifier(engine, DEFAULTS, attempts=3, wait_max=0)
    assert run(notifier) == 0  # first pass: start at the head
    head = settle(engine)
    assert run(notifier) == 0  # no webhook: nothing sent, the cursor follows
    assert cursor(engine) == head
    assert httpx_mock.get_requests() == []


def test_posts_slack_json_and_retries_server_errors(
    engine: Engine, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(engine, DEFAULTS, attempts=3, wait_max=0)
    run(notifier)
    set_webhook(engine, WEBHOOK)
    httpx_mock.add_response(url=WEBHOOK, status_code=503)
    httpx_mock.add_response(url=WEBHOOK, status_code=200)
    settle(engine, "-2.59")

    assert run(notifier) == 1
    requests = httpx_mock.get_requests()
    assert len(requests) == 2  # one retry after the 503
    assert json.loads(requests[-1].content) == {
        "text": "Settled NYC 2026-01-15: 1 positions, P&L -$2.59"
    }

    httpx_mock.add_response(url=WEBHOOK, status_code=500, is_reusable=True)
    caplog.set_level(logging.INFO)
    last = settle(engine)
    assert run(notifier) == 0  # given up after 3 tries, logged, dropped: the feed moves on
    assert len(httpx_mock.get_requests()) == 5
    assert cursor(engine) == last
    assert notifier.stats.failed == 1 and notifier.stats.sent == 1
    assert any("not delivered" in r.getMessage() for r in caplog.records)
    assert "TOPSECRET" not in "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


def test_a_client_error_is_not_retried(engine: Engine, httpx_mock: HTTPXMock) -> None:
    notifier = Notifier(engine, DEFAULTS, attempts=3, wait_max=0)
    run(notifier)
    set_webhook(engine, WEBHOOK)
    httpx_mock.add_response(url=WEBHOOK, status_code=404)
    settle(engine)
    assert run(notifier) == 0
    assert len(httpx_mock.get_requests()) == 1

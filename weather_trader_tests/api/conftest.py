"""Fixtures of the sidecar tests: a migrated temp SQLite database, settings and a running app."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pandas as pd
import pytest
from sqlalchemy import Engine

with warnings.catch_warnings():
    # Starlette warns that its TestClient will move to httpx2; irrelevant to these tests.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
    from starlette.testclient import WebSocketTestSession

from api import ApiSettings, create_app
from weather_trader.core.passwords import hash_password
from weather_trader.core.records import Fill, ForecastPoint, OrderRequest
from weather_trader.store import repo, repo_users
from weather_trader.store.db import make_engine, migrate, session_scope

DAY = date(2026, 1, 15)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite database file."""
    url = f"sqlite:///{tmp_path / 'domain.db'}"
    migrate(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database, for seeding and appending events from the test."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


SettingsFactory = Callable[..., ApiSettings]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> SettingsFactory:
    """Build sidecar settings on the test database; keyword arguments override fields."""

    def build(**overrides: Any) -> ApiSettings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "home": tmp_path,
            "poll_interval": 0.05,
            "bankroll": Decimal("500"),
            "daily_loss_limit": Decimal("40"),
            "ws_hello_timeout": 0.2,
        }
        values.update(overrides)
        return ApiSettings(**values)

    return build


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with its smallest cost: the tests check the logic, not the hash's strength."""
    from argon2 import PasswordHasher

    from weather_trader.core import passwords

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_HASHER", cheap)
    monkeypatch.setattr(passwords, "DUMMY_HASH", cheap.hash("dummy"))


TEST_USER = "tester"
TEST_PASSWORD = "correct horse battery staple"


def add_user(database_url: str, username: str = TEST_USER, password: str = TEST_PASSWORD) -> None:
    """Create a sidecar user in the test database."""
    eng = make_engine(database_url)
    try:
        with session_scope(eng) as session:
            repo_users.add_user(session, username, hash_password(password), datetime.now(UTC))
    finally:
        eng.dispose()


def login(test_client: TestClient, username: str = TEST_USER, password: str = TEST_PASSWORD) -> str:
    """Log ``test_client`` in (its cookie jar keeps the session); send the CSRF token from now
    on with every request; return the token."""
    response = test_client.post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    test_client.headers["X-CSRF-Token"] = token
    return token


@pytest.fixture
def anon_client(make_settings: SettingsFactory, database_url: str) -> Iterator[TestClient]:
    """A started sidecar whose client is not logged in (the user ``tester`` exists)."""
    add_user(database_url)
    with TestClient(create_app(make_settings())) as test_client:
        yield test_client


@pytest.fixture
def client(anon_client: TestClient) -> TestClient:
    """A started sidecar (lifespan running) on the test database, logged in as ``tester``,
    sending the session's CSRF token with every request."""
    login(anon_client)
    return anon_client


def append_events(engine: Engine, n: int, topic: str = "decision") -> list[int]:
    """Append ``n`` events in one transaction; return their ids."""
    with session_scope(engine) as session:
        return [
            repo.append_event(session, topic, {"seq": i}, city="NYC", climate_date=DAY)
            for i in range(n)
        ]


def receive_event(ws: WebSocketTestSession, timeout: float = 5.0) -> dict[str, Any]:
    """The next JSON frame from ``ws``; fails instead of hanging after ``timeout`` seconds.

    Raises:
        starlette.websockets.WebSocketDisconnect: If the server closed the socket.
    """

    async def _receive() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(_receive)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


def _buy(
    session: Any, coid: str, city: str, ticker: str, outcome: str, count: int, price: str, fee: str
) -> None:
    """Record a filled order that buys ``count`` contracts of ``outcome`` at YES ``price``."""
    order = OrderRequest(
        client_order_id=coid,
        ticker=ticker,
        side="bid" if outcome == "yes" else "ask",
        count=count,
        price=Decimal(price),
    )
    now = datetime.now(UTC)
    repo.record_order(
        session, order, city=city, climate_date=DAY, kind="high", outcome_side=outcome,
        created_at=now,
    )  # fmt: skip
    repo.record_fills(
        session,
        [
            Fill(
                fill_id=f"{coid}-0", client_order_id=coid, ticker=ticker, side=order.side,
                count=count,
                price=Decimal(price), fee=Decimal(fee), is_taker=True, filled_at=now,
            )
        ],
    )  # fmt: skip


@pytest.fixture
def seeded(engine: Engine) -> dict[str, Any]:
    """Two open positions, one settled today, a settlement yesterday, decisions, a forecast.

    Returns:
        The expected figures the overview should show.
    """
    now = datetime.now(UTC)
    today_start = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    forecast_retrieved = now - timedelta(hours=2)
    with session_scope(engine) as session:
        _buy(session, "o1", "NYC", "KXHIGHNY-26JAN15-B45.5", "yes", 10, "0.40", "0.17")
        _buy(session, "o2", "NYC", "KXHIGHNY-26JAN15-B47.5", "no", 5, "0.70", "0.08")
        _buy(session, "o3", "CHI", "KXHIGHCHI-26JAN15-B30.5", "yes", 5, "0.50", "0.09")
        settlement = {
            "kind": "high", "ticker": "KXHIGHCHI-26JAN15-B30.5", "outcome_side": "yes",
            "settled_value": 33, "settled_yes": False, "count": 5, "cost": "2.50",
            "fees": "0.09", "payout": "0", "pnl": "-2.59", "settled_at": today_start,
        }  # fmt: skip
        repo.replace_settlements(session, "CHI", DAY, pd.DataFrame([settlement]))
        earlier = {
            **settlement, "ticker": "KXHIGHLAX-26JAN14-B70.5", "settled_yes": True,
            "payout": "10", "cost": "3.90", "fees": "0.10", "pnl": "6.00", "count": 10,
            "settled_at": today_start - timedelta(hours=12),
        }  # fmt: skip
        repo.replace_settlements(session, "LAX", DAY - timedelta(days=1), pd.DataFrame([earlier]))
        decision = {
            "kind": "high", "event_ticker": "KXHIGHNY-26JAN15", "side": "yes", "count": 10,
            "ev_per_contract": "0.05", "cost": "4.00", "fee": "0.17",
        }  # fmt: skip
        repo.replace_decisions(
            session,
            "NYC",
            DAY,
            pd.DataFrame(
                [
                    {**decision, "as_of": now - timedelta(minutes=30),
                     "ticker": "KXHIGHNY-26JAN15-B45.5", "p_model": 0.47, "price": "0.40",
                     "edge": 0.07, "taken": True, "reason": "edge 0.07 >= min_edge 0.03"},
                    {**decision, "as_of": now - timedelta(minutes=5),
                     "ticker": "KXHIGHNY-26JAN15-B49.5", "p_model": 0.21, "price": "0.20",
                     "edge": 0.01, "count": 0, "cost": "0", "fee": "0", "taken": False,
                     "reason": "edge 0.01 below min_edge 0.03"},
                ]
            ),
        )  # fmt: skip
        repo.append_forecasts(
            session,
            [
                ForecastPoint(
                    city="NYC", climate_date=DAY, kind="high", source="sim", model="gfs",
                    issued_at=forecast_retrieved - timedelta(hours=1),
                    retrieved_at=forecast_retrieved, value_f=46.2,
                )
            ],
        )  # fmt: skip
        event_ids = [
            repo.append_event(session, "decision", {"n": 2}, city="NYC", climate_date=DAY),
            repo.append_event(session, "settlement", {"pnl": "-2.59"}, city="CHI"),
        ]
    return {
        "pnl_today": Decimal("-2.59"),
        "pnl_total": Decimal("3.41"),
        "open_positions": 2,
        "open_exposure": Decimal("5.50"),
        "forecast_retrieved": forecast_retrieved,
        "latest_decision_at": now - timedelta(minutes=5),
        "event_ids": event_ids,
    }

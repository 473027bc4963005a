"""Browser tests: the sidecar on a free port with a seeded SQLite database, driven by headless
Chromium through Selenium.

Chromium and chromedriver come from Debian's packages (``.ci/run`` installs them); without
them every test here skips with the reason. Screenshots go to ``$WEATHER_TRADER_TEST_ARTIFACTS``
or ``weather_trader_tests/browser/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvicorn
from sqlalchemy import Engine

from api import ApiSettings, create_app
from weather_trader.core.passwords import hash_password
from weather_trader.core.records import (
    ClimateReport,
    Fill,
    ForecastPoint,
    MarketSnapshot,
    OrderRequest,
)
from weather_trader.store import repo, repo_users
from weather_trader.store.db import make_engine, migrate, session_scope
from weather_trader.store.schemas import DistributionRecord

USER, PASSWORD = "trader", "a long browser test password"
DAY = date(2026, 1, 15)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium and chromedriver are not installed (Debian: apt-get install "
    "chromium chromium-driver; .ci/run installs them)",
)


def artifacts_dir() -> Path:
    """Where screenshots go (created)."""
    folder = Path(
        os.environ.get("WEATHER_TRADER_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _market(ticker: str, strike: str, floor: int | None, cap: int | None) -> MarketSnapshot:
    at = datetime(2026, 1, 14, 15, tzinfo=UTC)
    return MarketSnapshot(
        ticker=ticker, event_ticker="KXHIGHNY-26JAN15", series_ticker="KXHIGHNY", city="NYC",
        climate_date=DAY, kind="high", strike_type=strike, floor_strike=floor, cap_strike=cap,
        captured_at=at, close_time=at + timedelta(days=1),
    )  # fmt: skip


def seed_settled_event(engine: Engine) -> None:
    """NYC's high on DAY, traded and settled: brackets, our distribution and the market's,
    two sources' forecasts, one filled order, the final report (46 F) and the settlement."""
    as_of = datetime(2026, 1, 14, 15, tzinfo=UTC)
    markets = [
        _market("KXHIGHNY-26JAN15-T45", "less", None, 45),
        _market("KXHIGHNY-26JAN15-B45.5", "between", 45, 46),
        _market("KXHIGHNY-26JAN15-T46", "greater", 46, None),
    ]
    with session_scope(engine) as session:
        repo.replace_markets(session, "NYC", DAY, markets)
        repo.replace_distribution(
            session,
            DistributionRecord(
                city="NYC", climate_date=DAY, kind="high", as_of=as_of, method="normal",
                model_version="v1", mu=46.5, sigma=1.5, n_forecasts=2,
            ),
        )  # fmt: skip
        repo.replace_bracket_probabilities(
            session, "NYC", DAY,
            pd.DataFrame({
                "kind": "high", "ticker": [m.ticker for m in markets], "as_of": as_of,
                "p_model": [0.2, 0.5, 0.3], "p_market": [0.3, 0.4, 0.3],
                "yes_bid": ["0.29", "0.39", "0.29"], "yes_ask": ["0.31", "0.41", "0.31"],
            }),
        )  # fmt: skip
        repo.append_forecasts(
            session,
            [
                ForecastPoint(
                    city="NYC", climate_date=DAY, kind="high", source="sim", model=model,
                    issued_at=as_of - timedelta(hours=6), retrieved_at=as_of - timedelta(hours=5),
                    value_f=value,
                )
                for model, value in (("gfs", 47.5), ("ecmwf", 45.8))
            ],
        )  # fmt: skip
        order = OrderRequest(
            client_order_id="o-bt", ticker="KXHIGHNY-26JAN15-B45.5", side="bid", count=10,
            price=Decimal("0.41"),
        )  # fmt: skip
        repo.record_order(
            session, order, city="NYC", climate_date=DAY, kind="high", outcome_side="yes",
            created_at=as_of,
        )  # fmt: skip
        repo.record_fills(
            session,
            [Fill(fill_id="f-bt", client_order_id="o-bt", ticker=order.ticker, side="bid",
                  count=10, price=Decimal("0.41"), fee=Decimal("0.17"), is_taker=True,
                  filled_at=as_of)],
        )  # fmt: skip
        for m, result in zip(markets, ("no", "yes", "no"), strict=True):
            repo.set_market_result(session, m.ticker, result=result, settled_value=46)
        repo.upsert_climate_reports(
            session,
            [ClimateReport(city="NYC", product="CLINYC", climate_date=DAY, max_f=46, min_f=30,
                           final=True, issued_at=as_of + timedelta(days=1), text="")],
        )  # fmt: skip
        repo.replace_settlements(
            session, "NYC", DAY,
            pd.DataFrame([{
                "kind": "high", "ticker": order.ticker, "outcome_side": "yes",
                "settled_value": 46, "settled_yes": True, "count": 10, "cost": "4.10",
                "fees": "0.17", "payout": "10", "pnl": "5.73",
                "settled_at": as_of + timedelta(days=1),
            }]),
        )  # fmt: skip


@dataclass
class Sidecar:
    """A running sidecar: its base URL and its database."""

    url: str
    engine: Engine
    home: Path


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[Sidecar]:
    """The sidecar served by uvicorn on a free loopback port, on a seeded SQLite database
    with the user ``trader``."""
    database_url = f"sqlite:///{tmp_path / 'domain.db'}"
    migrate(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        repo_users.add_user(session, USER, hash_password(PASSWORD), datetime.now(UTC))
    seed_settled_event(engine)
    settings = ApiSettings(
        database_url=database_url, home=tmp_path, poll_interval=0.05, bankroll=Decimal("1000")
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the sidecar did not start")
        time.sleep(0.05)
    try:
        yield Sidecar(f"http://127.0.0.1:{port}", engine, tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1000"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


Shot = Callable[[str], Path]


@pytest.fixture
def screenshot(browser: Any, request: pytest.FixtureRequest) -> Shot:
    """Save a full-page screenshot named after the test and ``label``; return its path."""

    def take(label: str) -> Path:
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1300, max(800, min(int(height) + 40, 4000)))
        path = artifacts_dir() / f"{request.node.name}-{label}.png"
        browser.save_screenshot(str(path))
        return path

    return take

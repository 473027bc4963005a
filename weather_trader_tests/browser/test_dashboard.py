"""The dashboard in real headless Chromium: log in, live overview, settings, queue, post-mortem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from weather_trader.core.trading import Decision
from weather_trader.store import repo, repo_proposals, repo_settings
from weather_trader.store.db import session_scope
from weather_trader_tests.browser.conftest import DAY, PASSWORD, USER, Shot, Sidecar

WAIT = 10.0


def wait_until(browser: Any, condition: Callable[[Any], Any], message: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # Live regions are replaced wholesale: an element read mid-swap is stale, so read again.
    wait = WebDriverWait(
        browser, WAIT, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message)


def text_of(browser: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.CSS_SELECTOR, css).text)


def log_in(browser: Any, sidecar: Sidecar, path: str = "/") -> None:
    """Open ``path``, get sent to the login page, log in, and land back on ``path``."""
    from selenium.webdriver.common.by import By

    browser.get(sidecar.url + path)
    wait_until(browser, lambda b: "/login" in b.current_url, "no redirect to the login page")
    browser.find_element(By.ID, "username").send_keys(USER)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait_until(
        browser,
        lambda b: (
            b.current_url.rstrip("/").endswith(path.rstrip("/"))
            and b.find_elements(By.CSS_SELECTOR, "nav a.active")
        ),
        f"not back on {path} after logging in",
    )


def test_overview_updates_live_when_an_event_is_written(
    browser: Any, sidecar: Sidecar, screenshot: Shot
) -> None:
    log_in(browser, sidecar)
    wait_until(browser, lambda b: text_of(b, "#feed-status") == "live", "the feed never connected")
    assert text_of(browser, "#pnl-total") == "$5.73"
    screenshot("before")

    # A pipeline run settles another event: its data and its outbox event in one transaction.
    with session_scope(sidecar.engine) as session:
        repo.replace_settlements(
            session, "CHI", DAY,
            pd.DataFrame([{
                "kind": "high", "ticker": "KXHIGHCHI-26JAN15-B30.5", "outcome_side": "yes",
                "settled_value": 33, "settled_yes": False, "count": 5, "cost": "2.50",
                "fees": "0.09", "payout": "0", "pnl": "-2.59", "settled_at": datetime.now(UTC),
            }]),
        )  # fmt: skip
        event_id = repo.append_event(
            session, "settlement", {"pnl": "-2.59"}, city="CHI", climate_date=DAY
        )

    wait_until(
        browser, lambda b: f"#{event_id} " in text_of(b, "#events"), "the event never arrived"
    )
    wait_until(
        browser, lambda b: text_of(b, "#pnl-total") == "$3.14", "the P&L card was not re-rendered"
    )
    screenshot("after")


def test_change_a_setting_and_see_it_applied(
    browser: Any, sidecar: Sidecar, screenshot: Shot
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, sidecar, "/settings")
    wait_until(
        browser,
        lambda b: b.find_element(By.ID, "settings-form").get_attribute("data-loaded") == "true",
        "the settings never loaded",
    )
    field = browser.find_element(By.NAME, "min_edge")
    field.clear()
    field.send_keys("0.07")
    browser.find_element(By.NAME, "manual_approval").click()
    browser.find_element(By.ID, "save-settings").click()

    wait_until(
        browser,
        lambda b: "saved: manual_approval, min_edge" in text_of(b, "#settings-message"),
        "no confirmation",
    )
    with session_scope(sidecar.engine) as session:
        stored = repo_settings.stored_overrides(session)
    assert Decimal(str(stored["min_edge"])) == Decimal("0.07") and stored["manual_approval"] is True
    wait_until(browser, lambda b: "min_edge" in text_of(b, "#audit"), "no audit row")
    screenshot("saved")

    field = browser.find_element(By.NAME, "kelly_fraction")
    field.clear()
    field.send_keys("7")
    browser.find_element(By.ID, "save-settings").click()
    wait_until(
        browser, lambda b: "kelly_fraction" in text_of(b, "#settings-message"), "no error shown"
    )
    assert "422" in text_of(browser, "#settings-message")

    browser.refresh()
    wait_until(
        browser,
        lambda b: b.find_element(By.NAME, "min_edge").get_attribute("value") in ("0.07", "0.0700"),
        "the stored value is not shown after a reload",
    )
    assert browser.find_element(By.NAME, "manual_approval").is_selected()


def test_store_a_kalshi_key_and_see_only_its_fingerprint(
    browser: Any, sidecar: Sidecar, screenshot: Shot
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from selenium.webdriver.common.by import By

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    body = pem.splitlines()[5]  # a line from the middle of the key
    log_in(browser, sidecar, "/settings")
    wait_until(browser, lambda b: text_of(b, "#kalshi-key-id") == "not set", "no key state shown")
    browser.find_element(By.NAME, "key_id").send_keys("bt-key-1")
    browser.find_element(By.NAME, "private_key_pem").send_keys(pem)
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()

    wait_until(browser, lambda b: text_of(b, "#kalshi-key-id") == "bt-key-1", "key id not shown")
    assert len(text_of(browser, "#kalshi-key-fingerprint")) >= 16
    assert browser.find_element(By.NAME, "private_key_pem").get_attribute("value") == ""
    browser.refresh()
    wait_until(browser, lambda b: text_of(b, "#kalshi-key-id") == "bt-key-1", "not stored")
    assert body not in browser.page_source  # the key never comes back
    screenshot("stored")


def test_approve_a_queued_proposal(browser: Any, sidecar: Sidecar, screenshot: Shot) -> None:
    from selenium.webdriver.common.by import By

    now = datetime.now(UTC)
    decision = Decision(
        ticker="KXHIGHNY-26JAN15-T46", event_ticker="KXHIGHNY-26JAN15", side="yes",
        p_model=0.3, price=Decimal("0.25"), ev_per_contract=Decimal("0.04"),
        edge=Decimal("0.05"), count=12, cost=Decimal("3.00"), fee=Decimal("0.14"),
        reason="taken",
    )  # fmt: skip
    with session_scope(sidecar.engine) as session:
        repo.set_setting(session, "operator.manual_approval", True)
        repo_proposals.add_proposals(
            session, [repo_proposals.NewProposal("cid-bt", "NYC", DAY, "high", now, decision)], now
        )
        (proposal,) = repo_proposals.list_proposals(session, now)

    log_in(browser, sidecar, "/queue")
    row = f"#proposal-{proposal.id}"
    assert browser.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "pending"
    assert text_of(browser, "#manual-mode") == "on"
    screenshot("pending")
    browser.find_element(By.CSS_SELECTOR, f"{row} button.primary").click()

    wait_until(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "approved",
        "the proposal was not shown approved",
    )
    assert f"by {USER}" in text_of(browser, row)
    with session_scope(sidecar.engine) as session:
        (awaiting,) = repo_proposals.approved_awaiting_order(session, datetime.now(UTC))
    assert awaiting.client_order_id == "cid-bt" and awaiting.decided_by == USER
    screenshot("approved")


def test_read_a_post_mortem(browser: Any, sidecar: Sidecar, screenshot: Shot) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, sidecar, "/trades")
    group = browser.find_element(By.ID, f"event-NYC-{DAY}-high")
    assert "+$5.73" in group.text
    group.find_element(By.LINK_TEXT, "post-mortem").click()

    wait_until(browser, lambda b: "Post-mortem" in b.title, "the post-mortem did not open")
    assert text_of(browser, "#actual") == "46 F (bracket 45-46)"
    assert "N(μ=46.5, σ=1.50)" in text_of(browser, "#forecast")
    assert text_of(browser, "#closest") == "sim ecmwf (-0.2 F)"
    assert text_of(browser, "#pnl") == "+$5.73" and text_of(browser, "#fees") == "$0.17"
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    screenshot("post-mortem")


def test_every_page_renders_without_script_errors(
    browser: Any, sidecar: Sidecar, screenshot: Shot
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, sidecar, "/")
    for path in (
        "/",
        f"/markets?city=NYC&day={DAY}",
        "/performance",
        "/logs",
        "/backtests",
        "/docs",
    ):
        browser.get(sidecar.url + path)
        if path == "/docs":
            wait_until(
                browser,
                lambda b: b.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"),
                "Swagger UI did not render from the vendored files",
            )
        else:
            assert browser.find_elements(By.CSS_SELECTOR, "nav a.active"), path
        errors = [
            entry
            for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
        ]
        assert errors == [], path
        screenshot(path.strip("/").split("?")[0] or "overview")

"""The Series page: the stored registry, unverified series highlighted with their reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Engine

from weather_trader.core.series_registry import RegistryEntry
from weather_trader.store.db import session_scope
from weather_trader.store.repo_registry import save_registry
from weather_trader_tests.api.conftest import TestClient

HOU_REASON = "rules name 'Houston Intercontinental' but our station for CLIHOU is Houston (Hobby)"
ENTRIES = [
    RegistryEntry("KXHIGHNY", "NYC", "high", "KNYC", "CLINYC", -5, True, "ok", "Highest in NYC"),
    RegistryEntry("KXHIGHTHOU", "HOU", "high", "KHOU", "CLIHOU", -6, False, HOU_REASON),
    RegistryEntry(
        "KXHIGHTXYZ", None, "high", None, "CLIXYZ", None, False,
        "no station in our table for CLI product CLIXYZ (rules name 'Nowhere')",
    ),
]  # fmt: skip


def _rows(html: str) -> dict[str, tuple[str, list[str]]]:
    """Series ticker -> (row class, cell texts) of the page's series table."""
    body = html.split('<table id="series">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for cls, inner in re.findall(r'<tr class="([^"]*)"[^>]*>(.*?)</tr>', body, re.S):
        cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", inner, re.S)]
        rows[cells[0]] = (cls, cells)
    return rows


def test_the_series_page_lists_the_registry_and_highlights_unverified_series(
    client: TestClient, engine: Engine
) -> None:
    with session_scope(engine) as session:
        save_registry(session, ENTRIES, datetime(2026, 12, 7, 17, 5, tzinfo=UTC))

    response = client.get("/series")

    assert response.status_code == 200
    html = response.text
    assert '<a href="/series" class="active">Series</a>' in html
    assert "3 series, 1 verified, discovered 2026-12-07 17:05" in html
    rows = _rows(html)
    assert rows["KXHIGHNY"] == ("", ["KXHIGHNY", "NYC", "high", "KNYC", "CLINYC", "-5", "yes", ""])
    cls, cells = rows["KXHIGHTHOU"]
    assert "unverified" in cls.split() and cells[6] == "no"
    assert cells[7] == HOU_REASON.replace("'", "&#39;")
    cls, cells = rows["KXHIGHTXYZ"]
    assert "unverified" in cls.split() and cells[1:4] == ["-", "high", "-"] and cells[5] == "-"
    assert "In our station table but not listed by the exchange" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)


def test_the_series_page_before_any_discovery(client: TestClient) -> None:
    html = client.get("/series").text

    assert "No registry discovered yet" in html and "weather-trader cities --refresh" in html


def test_the_series_page_needs_a_login(anon_client: TestClient) -> None:
    response = anon_client.get("/series", follow_redirects=False)

    assert response.status_code in (302, 303, 307) and "/login" in response.headers["location"]

"""``weather-trader cities``: discovery from the local exchange end to end (sim mode), the stored
registry printed as JSON or a table, refresh, and failures that keep the stored registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from weather_trader import cli_cities
from weather_trader.cli import main
from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.series_registry import RegistryEntry
from weather_trader.sim.exchange import ExchangeState, run_exchange_in_thread
from weather_trader.sources.kalshi.errors import KalshiUnavailable

KEYS = [
    "series_ticker",
    "city",
    "kind",
    "station",
    "cli_product",
    "utc_offset",
    "verified",
    "reason",
]
ORIGINAL = {"NYC", "CHI", "MIA", "AUS", "LAX", "DEN", "PHL"}
HOU_ENTRY = RegistryEntry(
    "KXHIGHTHOU", "HOU", "high", "KHOU", "CLIHOU", -6, False,
    "rules name 'Houston Intercontinental' but our station for CLIHOU is Houston (Hobby)",
)  # fmt: skip


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sim mode with its database in a temp home."""
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path))
    monkeypatch.setenv("WEATHER_TRADER_MODE", "sim")
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["cities", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def real_discovery(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """``weather-trader cities --json`` in a fresh sim home: nothing stored, so it discovers
    from the local exchange, started on loopback (exit code and output; run once)."""
    import contextlib
    import io

    from weather_trader.settings import Settings

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        for var in Settings.env_vars():
            mp.delenv(var, raising=False)
        mp.setenv("WEATHER_TRADER_HOME", str(tmp_path_factory.mktemp("cities")))
        code = main(["cities", "--json"])
    return code, out.getvalue()


@pytest.fixture
def discovered(
    real_discovery: tuple[int, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[dict[str, Any]]:
    """This test's home holds the registry the local exchange gave (stored by a discovery that
    returns it, to spare a second exchange start)."""
    entries = json.loads(real_discovery[1])
    with monkeypatch.context() as mp:
        mp.setattr(cli_cities, "discover", lambda s: [RegistryEntry(**e) for e in entries])
        assert run_json(capsys) == entries
    return entries


def test_sim_discovery_lists_and_verifies_every_series_of_the_local_exchange(
    real_discovery: tuple[int, str],
) -> None:
    code, out = real_discovery
    assert code == 0
    discovered = json.loads(out)
    expected = sorted(c.series(k) for c in CITIES.values() for k in KINDS)
    assert [e["series_ticker"] for e in discovered] == expected
    assert all(list(e) == KEYS for e in discovered)
    unverified = [(e["series_ticker"], e["reason"]) for e in discovered if not e["verified"]]
    assert unverified == []
    assert {e["city"] for e in discovered} == set(CITIES) >= ORIGINAL
    nyc = next(e for e in discovered if e["series_ticker"] == "KXLOWTNYC")
    assert nyc == {
        "series_ticker": "KXLOWTNYC", "city": "NYC", "kind": "low", "station": "KNYC",
        "cli_product": "CLINYC", "utc_offset": -5, "verified": True, "reason": "ok",
    }  # fmt: skip


def test_the_stored_registry_is_printed_without_discovering(
    discovered: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_discovery(settings: Any) -> list[RegistryEntry]:
        raise AssertionError("discovered although a registry is stored")

    monkeypatch.setattr(cli_cities, "discover", no_discovery)

    assert run_json(capsys) == discovered
    assert main(["cities"]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["series", "city", "kind", "station", "CLI", "UTC", "verified"]
    assert lines[1].split() == ["KXHIGHAUS", "AUS", "high", "KAUS", "CLIAUS", "-6", "yes"]
    n = 2 * len(CITIES)
    assert f"{n} series, {n} verified, discovered " in lines[-1]
    assert "reason:" not in table


def test_refresh_replaces_the_registry_and_shows_unverified_reasons(
    discovered: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nyc = RegistryEntry("KXHIGHNY", "NYC", "high", "KNYC", "CLINYC", -5, True, "ok")
    monkeypatch.setattr(cli_cities, "discover", lambda settings: [nyc, HOU_ENTRY])

    assert main(["cities", "--refresh"]) == 0
    table = capsys.readouterr().out

    assert "KXHIGHTHOU  HOU   high  KHOU     CLIHOU  -6   NO" in table
    assert f"    reason: {HOU_ENTRY.reason}" in table
    assert "2 series, 1 verified" in table
    assert "in our table but not listed by the exchange: KXHIGHAUS," in table
    assert [e["series_ticker"] for e in run_json(capsys)] == ["KXHIGHNY", "KXHIGHTHOU"]


@pytest.mark.parametrize(
    ("found", "message"),
    [
        (KalshiUnavailable(503, "unavailable", "down", "/trade-api/v2/series", method="GET"),
         "discovery failed: Kalshi GET /trade-api/v2/series failed: HTTP 503"),
        ([], "the exchange listed no temperature series; the stored registry is kept"),
    ],
)  # fmt: skip
def test_a_failed_or_empty_discovery_keeps_the_stored_registry(
    discovered: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    found: Exception | list[RegistryEntry],
    message: str,
) -> None:
    def discover(settings: Any) -> list[RegistryEntry]:
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(cli_cities, "discover", discover)

    assert main(["cities", "--refresh"]) == 1
    assert message in capsys.readouterr().err
    assert run_json(capsys) == discovered  # printed from the store, not rediscovered


def test_a_configured_api_url_is_used_instead_of_starting_an_exchange(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ExchangeState.create(home=None)
    try:
        with run_exchange_in_thread(state) as origin:
            monkeypatch.setenv("KALSHI_API_URL", f"{origin}/trade-api/v2")
            monkeypatch.setattr(
                "weather_trader.sim.exchange.run_exchange_in_thread",
                lambda *a, **k: pytest.fail("started a second exchange"),
            )
            entries = run_json(capsys, "--refresh")
    finally:
        state.close()
    assert len(entries) == 2 * len(CITIES) and all(e["verified"] for e in entries)


def test_every_temperature_series_of_the_recorded_data_is_in_the_sim_registry(
    real_discovery: tuple[int, str], realdata_dir: Path
) -> None:
    """The real /events crawl (Feb 2025) and the 2026 recordings name series the registry lists."""
    crawl = realdata_dir / "kalshi/harrodyuan_kalshi-data-collector/open_events_20250219.json"
    recorded = {
        e["series_ticker"]
        for e in json.loads(crawl.read_text())["events"]
        if e["series_ticker"].startswith(("KXHIGH", "KXLOWT"))
    }
    for name in ("kxhighny_open_trimmed.json", "kxhighny_settled_trimmed.json"):
        data = json.loads((realdata_dir / "kalshi/tMer234_trimmed" / name).read_text())
        recorded |= {m["event_ticker"].split("-")[0] for m in data["markets"]}
    listed = {e["series_ticker"]: e["verified"] for e in json.loads(real_discovery[1])}

    assert len(recorded) >= 7
    assert {t: listed.get(t) for t in sorted(recorded)} == {t: True for t in sorted(recorded)}

"""`history convert` through its CLI: the live services (mocked HTTP) and a file converter."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.history.convert import add_convert_arguments, run_convert
from weather_trader.settings import Settings
from weather_trader_tests.sources.test_kalshi_history import EVENT_A, event, settled_market, trade
from weather_trader_tests.sources.test_visual_crossing import timeline

SECRET = "vc-cli-secret"
KALSHI = "https://kalshi.example.test/trade-api/v2"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_convert_arguments(parser.add_subparsers(dest="history_command"))
    return parser.parse_args(list(argv))


def test_visual_crossing_api_writes_import_csv(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    first = pd.Timestamp("2024-05-03").date()
    for day in range(7):
        httpx_mock.add_response(json=timeline(first + pd.Timedelta(days=day).to_pytimedelta(), 7))
    settings = Settings.from_env(
        {"VISUAL_CROSSING_API_KEY": SECRET, "WEATHER_TRADER_USER_AGENT": "wt (ops@example.test)"}
    )
    out = tmp_path / "vc.csv.gz"
    args = parse(
        "convert", "visual-crossing-api", "--city", "CHI", "--from", "2024-05-09",
        "--to", "2024-05-09", "--out", str(out),
    )  # fmt: skip
    assert run_convert(settings, args) == 0
    frame = pd.read_csv(out)
    assert set(frame.model) == {"timeline", "timeline-hourly"}
    assert set(frame.climate_date) == {"2024-05-09"}
    # Seven basis dates (leads 6..0); the lead-0 one is known at the end of 2024-05-09 LST.
    assert frame.issued_at.max() == "2024-05-10T06:00:00+00:00"
    assert len(httpx_mock.get_requests()) == 7


def test_visual_crossing_api_needs_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(
        "convert", "visual-crossing-api", "--city", "CHI", "--from", "2024-05-09",
        "--to", "2024-05-09", "--out", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert run_convert(Settings.from_env({}), args) == 1
    assert "VISUAL_CROSSING_API_KEY" in capsys.readouterr().err


def test_visual_crossing_api_failure_is_reported_without_the_key(
    httpx_mock: HTTPXMock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(status_code=401, text=f"bad key {SECRET}")
    settings = Settings.from_env(
        {"VISUAL_CROSSING_API_KEY": SECRET, "WEATHER_TRADER_USER_AGENT": "wt (ops@example.test)"}
    )
    args = parse(
        "convert", "visual-crossing-api", "--city", "CHI", "--from", "2024-05-09",
        "--to", "2024-05-09", "--out", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert run_convert(settings, args) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and SECRET not in err


def test_kalshi_api_writes_event_and_trade_files(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    ticker = f"{EVENT_A}-T30"
    market = settled_market(ticker, strike_type="less", cap_strike=30)
    base = re.escape(KALSHI)
    httpx_mock.add_response(
        url=re.compile(base + r"/events\?.*"), json={"events": [event(EVENT_A, [market])]}
    )
    httpx_mock.add_response(url=re.compile(base + r"/historical/cutoff"), status_code=404)
    httpx_mock.add_response(
        url=re.compile(base + r"/markets/trades\?.*"), json={"trades": [trade("t", ticker, 1)]}
    )
    args = parse(
        "convert", "kalshi-api", "--series", "KXHIGHCHI", "--api-url", KALSHI,
        "--out", str(tmp_path),
    )  # fmt: skip
    assert run_convert(Settings.from_env({}), args) == 0
    assert (tmp_path / "events" / f"{EVENT_A}.json").exists()
    assert (tmp_path / "trades" / f"{EVENT_A}.json").exists()


def test_file_converter_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "s.csv"
    source.write_text("date_local,tmax_final\n2024-01-01,40\n2024-01-02,x\n")
    out = tmp_path / "r.csv"
    args = parse("convert", "settlements", "--city", "CHI", "--out", str(out), str(source))
    assert run_convert(Settings.from_env({}), args) == 1
    assert "s.csv:3: tmax_final 'x' is not a number" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written

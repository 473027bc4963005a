"""History import on the recorded Kalshi files of ../shared/realdata (skipped without them)."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

from sqlalchemy import Engine

from weather_trader.history.derived_markets import derive_markets
from weather_trader.history.importers import read_events
from weather_trader.history.loader import import_history
from weather_trader.store.repo_history import market_history, trade_history

KALSHI = Path("kalshi")


def test_recorded_event_files_import_both_ticker_eras_and_api_vintages(
    engine: Engine, realdata_dir: Path
) -> None:
    events = realdata_dir / KALSHI / "cpratim" / "events"
    files = [
        events / "kxhighny" / "2024-08-16.json",  # legacy HIGHNY tickers, cents
        events / "kxhighchi" / "2025-03-02.json",  # KXHIGHCHI tickers
        events / "kxhighny" / "2025-04-12.json",  # saved before settlement
        realdata_dir / KALSHI / "tMer234_trimmed" / "kxhighny_settled_trimmed.json",  # dollars
        realdata_dir / KALSHI / "tMer234_trimmed" / "kxhighny_open_trimmed.json",
    ]
    result = import_history(engine, events=files)
    assert result.written, result.issues
    markets = market_history(engine).set_index("ticker")
    t84 = markets.loc["HIGHNY-24AUG16-T84"]
    assert (t84.series_ticker, t84.strike_type, t84.cap_strike, t84.result) == (
        "KXHIGHNY", "less", 84, "no",
    )  # fmt: skip
    assert markets.loc[markets.event_ticker == "HIGHNY-24AUG16", "result"].tolist().count(
        "yes"
    ) == 1  # fmt: skip
    settled = markets.loc["KXHIGHNY-26JUL10-T94"]
    assert (settled.strike_type, settled.floor_strike, settled.settled_value) == ("greater", 94, 85)
    assert markets.loc[markets.event_ticker == "KXHIGHNY-25APR12", "result"].isna().all()
    again = import_history(engine, events=files)
    assert sum(f.inserted + f.updated for f in again.files) == 0


def test_ticker_derivation_agrees_with_every_recorded_event_file(realdata_dir: Path) -> None:
    parsed = [
        read_events(p)
        for p in sorted((realdata_dir / KALSHI / "cpratim" / "events").glob("*/*.json"))
    ]
    recorded = {m.ticker: m for p in parsed for m in p.records}
    assert not [i for p in parsed for i in p.issues] and len(recorded) > 3000
    derived, underived = derive_markets(recorded)
    assert not underived
    mismatches = [
        d.ticker for d in derived
        if (d.strike_type, d.floor_strike, d.cap_strike) != (
            recorded[d.ticker].strike_type, recorded[d.ticker].floor_strike,
            recorded[d.ticker].cap_strike,
        )
    ]  # fmt: skip
    assert mismatches == []


def test_recorded_trade_files_import(engine: Engine, realdata_dir: Path, tmp_path: Path) -> None:
    sample = realdata_dir / KALSHI / "cpratim" / "trades_sample" / "kxhighchi" / "2024-08-01.json"
    tape = realdata_dir / KALSHI / "cpratim" / "trades_full" / "KXHIGHNY.csv.gz"
    with gzip.open(tape, "rt") as full:  # the head of the tape: legacy tickers, 2023-12
        head = tmp_path / "head.csv.gz"
        head.write_bytes(gzip.compress("".join(itertools.islice(full, 3000)).encode()))
    result = import_history(engine, trades=[sample, head])
    assert result.written, result.issues
    assert [f.read for f in result.files] == [result.files[0].inserted, 2999]
    assert result.derived.inserted > 20  # the tape's legacy markets have no event file
    trades = trade_history(engine, None)
    assert trades["yes_price"].between(0.01, 0.99).all()
    assert set(trades["taker_side"]) == {"yes", "no"}
    first = trades[trades.trade_id == "7473b14b-fabf-4c3c-9031-9f3b6a89e39d"].iloc[0]
    assert (first.ticker, first.yes_price, first["count"]) == ("HIGHNY-23DEC25-B43.5", 0.02, 1.0)
    markets = market_history(engine).set_index("ticker")
    assert markets.loc["HIGHNY-23DEC25-B43.5", ["floor_strike", "cap_strike"]].tolist() == [43, 44]

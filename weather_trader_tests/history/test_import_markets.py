"""History import of Kalshi events and trades: formats, validation, idempotency, derivation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from weather_trader.history.derived_markets import derive_markets
from weather_trader.history.importers import read_events, read_trades
from weather_trader.history.loader import import_history
from weather_trader.store.models import MarketRow, MarketTradeRow
from weather_trader.store.repo_history import market_history, trade_history
from weather_trader_tests.history._import_files import (
    TRADE_CSV_HEADER,
    dollar_event_nested,
    legacy_event,
    legacy_market,
    write,
)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_legacy_and_dollar_events_import_with_brackets_and_results(
    engine: Engine, tmp_path: Path
) -> None:
    legacy = write(tmp_path / "ny.json", legacy_event())
    nested = write(tmp_path / "chi.json", dollar_event_nested())
    result = import_history(engine, events=[legacy, nested])
    assert result.written, result.issues
    assert [(f.read, f.inserted, f.present) for f in result.files] == [(3, 3, 0), (3, 3, 0)]
    markets = market_history(engine).set_index("ticker")
    ny = markets.loc["HIGHNY-24AUG16-B84.5"]
    # A legacy ticker belongs to the current series; the event keeps Kalshi's own name.
    assert (ny.series_ticker, ny.event_ticker, ny.city, ny.kind) == (
        "KXHIGHNY", "HIGHNY-24AUG16", "NYC", "high",
    )  # fmt: skip
    assert ny.climate_date == date(2024, 8, 16)
    assert (ny.strike_type, ny.floor_strike, ny.cap_strike) == ("between", 84, 85)
    assert (ny.result, ny.settled_value) == ("yes", 85)
    assert markets.loc["HIGHNY-24AUG16-T84"].result == "no"
    assert markets.loc["HIGHNY-24AUG16-T84"].settled_value is pd_na()
    chi = markets.loc["KXHIGHCHI-26JUL10-T84"]  # bracket from "83° or below"
    assert (chi.strike_type, chi.cap_strike, chi.settled_value) == ("less", 84, 85)
    assert markets.loc["KXHIGHCHI-26JUL10-T85"].floor_strike == 85
    assert chi.close_time == datetime(2026, 7, 11, 4, 59, tzinfo=UTC)


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_reimport_inserts_nothing_and_a_later_result_updates(
    engine: Engine, tmp_path: Path
) -> None:
    unsettled = legacy_event()
    for m in unsettled["markets"]:
        m.update(result="", expiration_value="", status="closed")
    early = write(tmp_path / "early.json", unsettled)
    settled = write(tmp_path / "settled.json", legacy_event())
    assert import_history(engine, events=[early]).written
    again = import_history(engine, events=[early])
    assert [(f.inserted, f.updated, f.present) for f in again.files] == [(0, 0, 3)]
    later = import_history(engine, events=[settled])
    assert [(f.inserted, f.updated, f.present) for f in later.files] == [(0, 3, 0)]
    # The file saved before settlement never erases the result imported since.
    back = import_history(engine, events=[early])
    assert [(f.inserted, f.updated, f.present) for f in back.files] == [(0, 0, 3)]
    assert set(market_history(engine)["result"]) == {"yes", "no"}
    assert _count(engine, MarketRow) == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"strike_type": "between", "floor_strike": 80, "cap_strike": 81}, "contradicts"),
        ({"result": "maybe"}, "result 'maybe'"),
        ({"expiration_value": "85.5"}, "not a whole degree"),
        ({"expiration_value": "90"}, "contradicts expiration_value 90"),
        ({"close_time": "yesterday"}, "close_time"),
    ],
)
def test_a_bad_market_is_reported_by_position_and_nothing_is_written(
    engine: Engine, tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    good = write(tmp_path / "good.json", dollar_event_nested())
    event = legacy_event()
    event["markets"][1].update(change)
    bad = write(tmp_path / "bad.json", event)
    result = import_history(engine, events=[good, bad])
    assert not result.written
    (issue,) = result.issues
    assert str(issue).startswith(f"{bad}:markets[1] (HIGHNY-24AUG16-B84.5): ")
    assert reason in issue.reason
    assert _count(engine, MarketRow) == 0


def test_unknown_series_and_non_event_files_are_refused(tmp_path: Path) -> None:
    event = legacy_event()
    event["event"]["series_ticker"] = "KXRAINNYC"
    parsed = read_events(write(tmp_path / "rain.json", event))
    assert "KXRAINNYC" in parsed.issues[0].reason
    other = read_events(write(tmp_path / "candles.json", {"candlesticks": []}))
    assert "not a Kalshi event file" in str(other.issues[0])
    missing = read_events(tmp_path / "nope.json")
    assert "cannot read" in str(missing.issues[0])


def test_markets_page_form_is_read_too(tmp_path: Path) -> None:
    page = {"markets": dollar_event_nested()["event"]["markets"], "cursor": ""}
    parsed = read_events(write(tmp_path / "page.json", page))
    assert not parsed.issues and len(parsed.records) == 3


# -- trades --------------------------------------------------------------------------------------


def _trade_json(trade_id: str, ticker: str, **fields: object) -> dict[str, object]:
    trade = {
        "trade_id": trade_id, "ticker": ticker, "count": 3, "yes_price": 27, "no_price": 73,
        "taker_side": "yes", "created_time": "2024-08-16T15:00:00.5Z",
    }  # fmt: skip
    trade.update(fields)
    return trade


def test_trade_formats_json_pages_keyed_json_and_csv(engine: Engine, tmp_path: Path) -> None:
    page = write(tmp_path / "page.json", {"trades": [
        _trade_json("p1", "HIGHNY-24AUG16-T84"),
        # 2026 fixed-point fields.
        {"trade_id": "p2", "ticker": "HIGHNY-24AUG16-T84", "count_fp": "2.50",
         "yes_price_dollars": "0.4100", "no_price_dollars": "0.5900", "taker_side": "no",
         "created_time": "2024-08-16T16:00:00Z"},
    ], "cursor": ""})  # fmt: skip
    keyed = write(tmp_path / "keyed.json", {
        "HIGHNY-24AUG16-B84.5": [_trade_json("k1", "HIGHNY-24AUG16-B84.5")],
        "HIGHNY-24AUG16-T85": [],
    })  # fmt: skip
    cents = write(tmp_path / "tape.csv.gz", f"""{TRADE_CSV_HEADER}
2024-08-16,HIGHNY-24AUG16-T85,c1,2024-08-16T17:00:00.123456Z,5,95,10,no
""", gz=True)  # fmt: skip
    header = "trade_id,ticker,created_time,yes_price_dollars,count_fp,taker_side,extra"
    dollars = write(tmp_path / "fp.csv", f"""{header}
d1,HIGHNY-24AUG16-T85,2024-08-16T13:00:00-04:00,0.0650,1.25,yes,ignored
""")  # fmt: skip
    result = import_history(engine, trades=[page, keyed, cents, dollars], derive=False)
    assert result.written, result.issues
    assert [f.inserted for f in result.files] == [2, 1, 1, 1]
    tape = trade_history(engine, None).set_index("trade_id")
    assert tape.loc["p1", "yes_price"] == 0.27 and tape.loc["p1", "count"] == 3.0
    assert tape.loc["p2", "yes_price"] == 0.41 and tape.loc["p2", "count"] == 2.5
    assert tape.loc["p2", "taker_side"] == "no"
    assert tape.loc["c1", "yes_price"] == 0.05
    assert tape.loc["d1", "traded_at"] == datetime(2024, 8, 16, 17, tzinfo=UTC)
    assert tape.loc["d1", "yes_price"] == 0.065 and tape.loc["d1", "count"] == 1.25
    with engine.connect() as conn:
        price = conn.execute(
            select(MarketTradeRow.yes_price).where(MarketTradeRow.trade_id == "c1")
        ).scalar_one()
    assert price == Decimal("0.05")
    again = import_history(engine, trades=[page, keyed, cents, dollars], derive=False)
    assert [(f.inserted, f.present) for f in again.files] == [(0, 2), (0, 1), (0, 1), (0, 1)]
    assert _count(engine, MarketTradeRow) == 5


def test_bad_trade_rows_are_reported_as_file_and_line_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.json", {"trades": [_trade_json("g1", "HIGHNY-24AUG16-T84")]})
    bad = write(tmp_path / "bad.csv", f"""{TRADE_CSV_HEADER}
2024-08-16,HIGHNY-24AUG16-T85,ok,2024-08-16T17:00:00Z,5,95,10,no
2024-08-16,HIGHNY-24AUG16-T85,b1,2024-08-16T17:00:00,5,95,10,no
2024-08-16,HIGHNY-24AUG16-T85,b2,2024-08-16T17:00:00Z,105,95,10,no
2024-08-16,HIGHNY-24AUG16-T85,b3,2024-08-16T17:00:00Z,5,95,0,no
2024-08-16,HIGHNY-24AUG16-T85,b4,2024-08-16T17:00:00Z,5,95,1,maybe
2024-08-16,HIGHNY-24AUG16-T85,b5,2024-08-16T17:00:00Z,5.5,95,1,yes
2024-08-16,HIGHNY-24AUG16-T85,b6,2024-08-16T17:00:00Z,5,95

2024-08-16,,b7,2024-08-16T17:00:00Z,5,95,1,yes
""")  # fmt: skip
    result = import_history(engine, trades=[good, bad])
    assert not result.written
    lines = [str(i) for i in result.issues]
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{bad}:3", f"{bad}:4", f"{bad}:5", f"{bad}:6", f"{bad}:7", f"{bad}:8", f"{bad}:10",
    ]  # fmt: skip
    assert "no UTC offset" in lines[0] and "within [0, 1]" in lines[1]
    assert "must be positive" in lines[2] and "taker_side 'maybe'" in lines[3]
    assert "whole cents" in lines[4] and "6 fields" in lines[5] and "ticker is empty" in lines[6]
    assert _count(engine, MarketTradeRow) == 0 and _count(engine, MarketRow) == 0
    json_bad = write(tmp_path / "bad.json", {"trades": [_trade_json("x", "T", taker_side=None)]})
    (issue,) = read_trades(json_bad).issues
    assert str(issue).startswith(f"{json_bad}:trades[0]: taker_side None")


def test_the_same_trade_id_with_other_values_is_a_conflict(engine: Engine, tmp_path: Path) -> None:
    one = write(tmp_path / "one.json", {"trades": [_trade_json("t1", "HIGHNY-24AUG16-T84")]})
    same = write(tmp_path / "same.json", {"trades": [_trade_json("t1", "HIGHNY-24AUG16-T84")]})
    other = write(tmp_path / "other.json", {"trades": [_trade_json("t1", "HIGHNY-24AUG16-T84",
                                                                   count=4)]})  # fmt: skip
    assert import_history(engine, trades=[one, same], derive=False).written
    kept = import_history(engine, trades=[other, one], derive=False)
    assert kept.written  # t1 is stored: Kalshi's trades are immutable, the stored one is kept
    conflict = import_history(
        engine, trades=[write(tmp_path / "a.json", {"trades": [_trade_json("t2", "X")]}),
                        write(tmp_path / "b.json", {"trades": [_trade_json("t2", "X", count=9)]})],
        derive=False,
    )  # fmt: skip
    assert not conflict.written and "differs from the same trade" in conflict.issues[0].reason
    assert _count(engine, MarketTradeRow) == 1


# -- markets derived from tickers ------------------------------------------------------------------


def test_legacy_tape_tickers_become_derived_markets(engine: Engine, tmp_path: Path) -> None:
    rows = [
        "HIGHCHI-24JAN14-T-1", "HIGHCHI-24JAN14-B-0.5", "HIGHCHI-24JAN14-B1.5",
        "HIGHCHI-24JAN14-T2", "HIGHNY-23DEC25-B49.5", "HIGHNY-23DEC25-T50",
        "HIGHNY-24JAN10-T53",
    ]  # fmt: skip
    tape = "\n".join(
        f"2024-01-14,{t},id{i},2024-01-13T17:00:00Z,5,95,1,no" for i, t in enumerate(rows)
    )
    path = write(tmp_path / "tape.csv", f"{TRADE_CSV_HEADER}\n{tape}\n")
    result = import_history(engine, trades=[path])
    assert result.written, result.issues
    assert result.derived.inserted == 6
    assert list(result.underived) == ["HIGHNY-24JAN10-T53"]  # a lone T, no B: unknowable
    markets = market_history(engine).set_index("ticker")
    assert set(markets["status"]) == {"derived"}
    assert markets.loc["HIGHCHI-24JAN14-T-1", ["strike_type", "cap_strike"]].tolist() == [
        "less", -1,
    ]  # fmt: skip
    assert markets.loc["HIGHCHI-24JAN14-B-0.5", ["floor_strike", "cap_strike"]].tolist() == [-1, 0]
    assert markets.loc["HIGHCHI-24JAN14-T2", ["strike_type", "floor_strike"]].tolist() == [
        "greater", 2,
    ]  # fmt: skip
    # One T above the event's B brackets is the "or above".
    assert markets.loc["HIGHNY-23DEC25-T50", "strike_type"] == "greater"
    nyc = markets.loc["HIGHNY-23DEC25-B49.5"]
    assert (nyc.series_ticker, nyc.city, nyc.result) == ("KXHIGHNY", "NYC", None)
    assert nyc.close_time == datetime(2023, 12, 26, 5, tzinfo=UTC)  # end of the climate day
    assert _count(engine, MarketTradeRow) == 7  # trades import with or without a market
    # Derived rows are keys like any other: importing the tape again derives nothing.
    again = import_history(engine, trades=[path])
    assert again.derived.inserted == 0 and again.files[0].present == 7


def test_an_event_file_replaces_a_derived_market(engine: Engine, tmp_path: Path) -> None:
    tape = write(tmp_path / "t.csv", f"""{TRADE_CSV_HEADER}
2024-08-16,HIGHNY-24AUG16-T84,a,2024-08-16T17:00:00Z,5,95,1,no
2024-08-16,HIGHNY-24AUG16-B84.5,b,2024-08-16T17:00:00Z,5,95,1,no
""")  # fmt: skip
    assert import_history(engine, trades=[tape]).derived.inserted == 2
    result = import_history(engine, events=[write(tmp_path / "e.json", legacy_event())])
    assert [(f.inserted, f.updated) for f in result.files] == [(1, 2)]
    assert set(market_history(engine)["status"]) == {"finalized"}


def test_derivation_rules() -> None:
    records, underived = derive_markets(
        ["HIGHNY-23DEC30-T44", "HIGHNY-23DEC30-B44.5", "KXHIGHNY-25JAN01-B40", "nonsense"],
        known={"HIGHNY-23DEC30": ["HIGHNY-23DEC30-B46.5"]},
    )
    by = {r.ticker: r for r in records}
    assert (by["HIGHNY-23DEC30-T44"].strike_type, by["HIGHNY-23DEC30-T44"].cap_strike) == (
        "less", 44,
    )  # fmt: skip
    assert set(underived) == {"KXHIGHNY-25JAN01-B40", "nonsense"}
    assert legacy_market("X")["status"] == "finalized"


def test_a_lone_tail_is_placed_by_the_stored_brackets_of_its_event(
    engine: Engine, tmp_path: Path
) -> None:
    brackets = write(tmp_path / "b.csv", f"""{TRADE_CSV_HEADER}
2024-01-14,HIGHCHI-24JAN14-B-0.5,a,2024-01-13T17:00:00Z,5,95,1,no
2024-01-14,HIGHCHI-24JAN14-B1.5,b,2024-01-13T17:00:00Z,5,95,1,no
""")  # fmt: skip
    tail = write(tmp_path / "t.csv", f"""{TRADE_CSV_HEADER}
2024-01-14,HIGHCHI-24JAN14-T-1,c,2024-01-13T17:00:00Z,5,95,1,no
""")  # fmt: skip
    assert import_history(engine, trades=[brackets]).derived.inserted == 2
    result = import_history(engine, trades=[tail])
    assert result.derived.inserted == 1 and not result.underived
    less = market_history(engine).set_index("ticker").loc["HIGHCHI-24JAN14-T-1"]
    assert (less.strike_type, less.cap_strike) == ("less", -1)

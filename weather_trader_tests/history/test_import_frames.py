"""The read-side frames of the archive (``store.repo_history``): columns, types, filters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine, insert

from weather_trader.store.models import ClimateReportRow, ForecastRow, MarketRow, MarketTradeRow
from weather_trader.store.repo_history import (
    FORECAST_HISTORY_COLUMNS,
    MARKET_HISTORY_COLUMNS,
    REPORT_HISTORY_COLUMNS,
    TRADE_HISTORY_COLUMNS,
    forecast_history,
    market_history,
    report_history,
    trade_history,
)

T0 = datetime(2025, 1, 9, 12, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    forecast = {
        "city": "NYC", "kind": "high", "source": "vc", "model": "daily", "issued_at": T0,
        "retrieved_at": T0, "lead_days": 1, "value_f": 40.0,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(ForecastRow),
            [
                {**forecast, "climate_date": date(2025, 1, 10), "member": -1},
                {**forecast, "climate_date": date(2025, 1, 10), "member": 3, "value_f": 41.5},
                {**forecast, "climate_date": date(2025, 1, 12), "member": -1, "city": "CHI"},
            ],
        )
        conn.execute(
            insert(ClimateReportRow),
            [
                {
                    "city": "NYC", "climate_date": date(2025, 1, 10), "product": "CLINYC",
                    "max_f": 42, "min_f": None, "final": True, "correction": False,
                    "issued_at": T0.replace(day=11), "text": "",
                },
            ],
        )  # fmt: skip
        market = {
            "event_ticker": "KXHIGHNY-25JAN10", "series_ticker": "KXHIGHNY", "city": "NYC",
            "climate_date": date(2025, 1, 10), "kind": "high", "title": "", "status": "finalized",
            "close_time": T0.replace(day=11), "fee_multiplier": Decimal(1),
        }  # fmt: skip
        conn.execute(
            insert(MarketRow),
            [
                {**market, "ticker": "KXHIGHNY-25JAN10-T38", "strike_type": "less",
                 "floor_strike": None, "cap_strike": 38, "result": "no", "settled_value": 42},
                {**market, "ticker": "KXHIGHNY-25JAN10-B41.5", "strike_type": "between",
                 "floor_strike": 41, "cap_strike": 42, "result": None, "settled_value": None},
            ],
        )  # fmt: skip
        conn.execute(
            insert(MarketTradeRow),
            [
                {"trade_id": "b", "ticker": "KXHIGHNY-25JAN10-T38", "traded_at": T0,
                 "yes_price": Decimal("0.25"), "count": Decimal("3"), "taker_side": "yes"},
                {"trade_id": "a", "ticker": "KXHIGHNY-25JAN10-T38",
                 "traded_at": T0.replace(hour=11), "yes_price": Decimal("0.3"),
                 "count": Decimal("1.5"), "taker_side": "no"},
                {"trade_id": "c", "ticker": "OTHER", "traded_at": T0,
                 "yes_price": Decimal("0.5"), "count": Decimal("1"), "taker_side": "no"},
            ],
        )  # fmt: skip


def test_frames_have_the_contract_columns_and_types(engine: Engine) -> None:
    _seed(engine)
    fc = forecast_history(engine, cities=["NYC"])
    assert tuple(fc.columns) == FORECAST_HISTORY_COLUMNS
    assert fc["member"].tolist()[0] == 3 and fc["member"].tolist()[1] is pd.NA
    assert str(fc["issued_at"].dt.tz) == "UTC"
    assert fc["climate_date"].tolist() == [date(2025, 1, 10)] * 2
    assert len(forecast_history(engine, start=date(2025, 1, 11))) == 1

    rep = report_history(engine)
    assert tuple(rep.columns) == REPORT_HISTORY_COLUMNS
    assert rep.to_dict("records")[0]["value_f"] == 42.0
    assert rep["kind"].tolist() == ["high"] and rep["final"].tolist() == [True]

    mk = market_history(engine, end=date(2025, 1, 10))
    assert tuple(mk.columns) == MARKET_HISTORY_COLUMNS
    assert mk["floor_strike"].dtype == "Int64" and mk["result"].tolist() == [None, "no"]

    tr = trade_history(engine, ["KXHIGHNY-25JAN10-T38"])
    assert tuple(tr.columns) == TRADE_HISTORY_COLUMNS
    assert tr["trade_id"].tolist() == ["a", "b"]
    assert tr["yes_price"].tolist() == [0.3, 0.25] and tr["count"].tolist() == [1.5, 3.0]
    assert len(trade_history(engine, None)) == 3


def test_empty_archive_gives_empty_frames_with_columns(engine: Engine) -> None:
    assert tuple(forecast_history(engine).columns) == FORECAST_HISTORY_COLUMNS
    assert tuple(report_history(engine).columns) == REPORT_HISTORY_COLUMNS
    assert tuple(market_history(engine).columns) == MARKET_HISTORY_COLUMNS
    assert trade_history(engine, []).empty

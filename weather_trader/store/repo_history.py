"""Read-side frames of the archive for model training and walk-forward evaluation.

The archive is the same four tables the live pipeline fills and ``weather-trader history
import`` backfills: ``forecasts``, ``climate_reports``, ``markets`` and ``market_trades``.
Every function returns a pandas frame with fixed columns (also when empty); datetimes are
tz-aware UTC, climate days are ``datetime.date``. ``start``/``end`` filter the climate day,
both inclusive. Nothing here decides what was known when: each row carries its own instant
(``issued_at``, ``traded_at``) and the consumer filters on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Double, Engine, Select, cast, select

from weather_trader.store._util import frame
from weather_trader.store.models import (
    DETERMINISTIC_MEMBER,
    ClimateReportRow,
    ForecastRow,
    MarketRow,
    MarketTradeRow,
)

FORECAST_HISTORY_COLUMNS = (
    "city", "kind", "source", "model", "member", "issued_at", "climate_date", "value_f",
)  # fmt: skip
REPORT_HISTORY_COLUMNS = ("city", "kind", "climate_date", "value_f", "final", "issued_at")
MARKET_HISTORY_COLUMNS = (
    "ticker", "event_ticker", "series_ticker", "city", "kind", "climate_date", "strike_type",
    "floor_strike", "cap_strike", "result", "settled_value", "status", "close_time",
)  # fmt: skip
TRADE_HISTORY_COLUMNS = ("trade_id", "ticker", "traded_at", "yes_price", "count", "taker_side")

_IN_CHUNK = 900
"""Tickers per ``IN (...)`` list: below SQLite's oldest bound-parameter limit (999)."""


def _filtered(
    stmt: Select[Any],
    model: Any,
    cities: Iterable[str] | None,
    start: date | None,
    end: date | None,
) -> Select[Any]:
    """``stmt`` restricted to ``cities`` and the climate days ``start..end`` (inclusive)."""
    if cities is not None:
        stmt = stmt.where(model.city.in_(list(cities)))
    if start is not None:
        stmt = stmt.where(model.climate_date >= start)
    if end is not None:
        stmt = stmt.where(model.climate_date <= end)
    return stmt


def forecast_history(
    engine: Engine,
    cities: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Every archived forecast value (each issue of each source/model/member).

    Returns:
        Columns ``city`` str, ``kind`` "high"/"low", ``source`` str, ``model`` str,
        ``member`` Int64 (<NA> for a deterministic run), ``issued_at`` datetime64[UTC] (when
        the value was known), ``climate_date`` datetime.date, ``value_f`` float; sorted by
        city, climate_date, kind, source, model, member (deterministic last), issued_at.
    """
    columns = [getattr(ForecastRow, c) for c in FORECAST_HISTORY_COLUMNS]
    stmt = _filtered(select(*columns), ForecastRow, cities, start, end)
    with engine.connect() as conn:
        df = frame(conn.execute(stmt).all(), FORECAST_HISTORY_COLUMNS)
    member = df["member"].astype("Int64")
    df["member"] = member.mask(member == DETERMINISTIC_MEMBER)
    df["issued_at"] = pd.to_datetime(df["issued_at"], utc=True)
    df["value_f"] = df["value_f"].astype("float64")
    order = ["city", "climate_date", "kind", "source", "model", "member", "issued_at"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)


def report_history(
    engine: Engine,
    cities: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Every stored climate report version, one row per (report, kind) with a value.

    A report carrying both the day's high and low gives two rows; a correction or the final
    after a preliminary is a further row with its own ``issued_at``.

    Returns:
        Columns ``city`` str, ``kind`` "high"/"low", ``climate_date`` datetime.date,
        ``value_f`` float, ``final`` bool, ``issued_at`` datetime64[UTC]; sorted by city,
        kind, climate_date, issued_at.
    """
    stmt = select(
        ClimateReportRow.city,
        ClimateReportRow.climate_date,
        ClimateReportRow.max_f,
        ClimateReportRow.min_f,
        ClimateReportRow.final,
        ClimateReportRow.issued_at,
    )
    stmt = _filtered(stmt, ClimateReportRow, cities, start, end)
    with engine.connect() as conn:
        wide = frame(
            conn.execute(stmt).all(),
            ("city", "climate_date", "high", "low", "final", "issued_at"),
        )
    long = wide.melt(
        id_vars=["city", "climate_date", "final", "issued_at"], value_vars=["high", "low"],
        var_name="kind", value_name="value_f",
    )  # fmt: skip
    long = long.dropna(subset=["value_f"])
    long["value_f"] = long["value_f"].astype("float64")
    long["final"] = long["final"].astype(bool)
    long["issued_at"] = pd.to_datetime(long["issued_at"], utc=True)
    long = long.sort_values(["city", "kind", "climate_date", "issued_at"], kind="stable")
    return long[list(REPORT_HISTORY_COLUMNS)].reset_index(drop=True)


def market_history(
    engine: Engine,
    cities: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Every stored market definition with its result.

    ``status`` is Kalshi's (``finalized``, ``active``...) or ``derived`` for a market rebuilt
    from its ticker by the history import (a legacy market seen only in a trade tape: no
    event file, so no result).

    Returns:
        Columns ``ticker``, ``event_ticker`` (as Kalshi names it, legacy ``HIGHNY-...``
        included), ``series_ticker`` (the current series, ``KXHIGHNY``), ``city``, ``kind``,
        ``climate_date`` datetime.date, ``strike_type`` "between"/"less"/"greater",
        ``floor_strike`` / ``cap_strike`` Int64 (<NA> where the bracket has none),
        ``result`` "yes"/"no"/None, ``settled_value`` Int64 (<NA> unknown), ``status`` str,
        ``close_time`` datetime64[UTC]; sorted by city, kind, climate_date, event_ticker, ticker.
    """
    columns = [getattr(MarketRow, c) for c in MARKET_HISTORY_COLUMNS]
    stmt = _filtered(select(*columns), MarketRow, cities, start, end)
    with engine.connect() as conn:
        df = frame(conn.execute(stmt).all(), MARKET_HISTORY_COLUMNS)
    for column in ("floor_strike", "cap_strike", "settled_value"):
        df[column] = df[column].astype("Int64")
    df["result"] = df["result"].astype(object).where(df["result"].notna(), None)
    df["close_time"] = pd.to_datetime(df["close_time"], utc=True)
    order = ["city", "kind", "climate_date", "event_ticker", "ticker"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)


def trade_history(engine: Engine, tickers: Iterable[str] | None) -> pd.DataFrame:
    """The recorded public trades of ``tickers`` (every ticker when None).

    Returns:
        Columns ``trade_id`` str, ``ticker`` str, ``traded_at`` datetime64[UTC],
        ``yes_price`` float (dollars), ``count`` float (contracts), ``taker_side``
        "yes"/"no"; sorted by traded_at (then trade_id, for a stable order).
    """
    base = select(
        MarketTradeRow.trade_id,
        MarketTradeRow.ticker,
        MarketTradeRow.traded_at,
        # Floats straight from the database: no Decimal per row for an analysis frame.
        cast(MarketTradeRow.yes_price, Double),
        cast(MarketTradeRow.count, Double),
        MarketTradeRow.taker_side,
    )
    rows: list[Any] = []
    with engine.connect() as conn:
        if tickers is None:
            rows = list(conn.execute(base).all())
        else:
            wanted: Sequence[str] = sorted(set(tickers))
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i : i + _IN_CHUNK]
                rows.extend(conn.execute(base.where(MarketTradeRow.ticker.in_(chunk))).all())
    df = frame(rows, TRADE_HISTORY_COLUMNS)
    df["traded_at"] = pd.to_datetime(df["traded_at"], utc=True)
    df["yes_price"] = df["yes_price"].astype("float64")
    df["count"] = df["count"].astype("float64")
    return df.sort_values(["traded_at", "trade_id"], kind="stable").reset_index(drop=True)

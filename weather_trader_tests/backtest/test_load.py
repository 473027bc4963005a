"""Archive loaders of the backtest: quotes from the feed's books and from recorded candles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine

from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.load import load_markets, load_quotes, read_candle_quotes
from weather_trader.backtest.tape import QuoteBook
from weather_trader.store.db import session_scope
from weather_trader.store.models import BookSnapshotRow, MarketRow
from weather_trader_tests.shared_data import require_realdata

CANDLES = ("kalshi", "halsted312_KXHIGHCHI_candles_1m_2025-05.csv.gz")


def test_candles_become_unsized_quotes_at_each_minutes_end() -> None:
    path = require_realdata(*CANDLES)
    tickers = ["KXHIGHCHI-25MAY05-B60.5"]
    quotes = read_candle_quotes(path, tickers)
    raw = pd.read_csv(path)
    raw = raw[raw["ticker"].isin(tickers)]
    assert len(quotes) == len(raw) > 1000
    assert quotes["at"].dt.tz is not None
    first = raw.iloc[0]
    assert quotes["at"].iloc[0] == pd.Timestamp(first["bucket_start"]) + pd.Timedelta(minutes=1)
    assert quotes["yes_bid"].iloc[0] == first["yes_bid_close"] / 100
    assert quotes["yes_bid"].between(0, 1).all() and quotes["yes_ask"].between(0, 1).all()
    assert quotes["yes_bid_size"].isna().all()
    book = QuoteBook(quotes)  # unsized quotes are accepted (sizes -1: not recorded)
    assert (book.ask_size == -1).all()


def _market(ticker: str) -> MarketRow:
    return MarketRow(
        ticker=ticker,
        event_ticker="KXHIGHCHI-25JAN10",
        series_ticker="KXHIGHCHI",
        city="CHI",
        climate_date=date(2025, 1, 10),
        kind="high",
        strike_type="between",
        floor_strike=41,
        cap_strike=42,
        title="t",
        status="finalized",
        close_time=datetime(2025, 1, 11, 5, 59, tzinfo=UTC),
        fee_multiplier=Decimal(1),
        result="yes",
        settled_value=41,
    )


def test_feed_books_load_as_quotes(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_market("KXHIGHCHI-25JAN10-B41.5"))
        session.flush()  # the book references the market
        session.add(
            BookSnapshotRow(
                ticker="KXHIGHCHI-25JAN10-B41.5",
                city="CHI",
                climate_date=date(2025, 1, 10),
                kind="high",
                captured_at=datetime(2025, 1, 9, 22, tzinfo=UTC),
                yes_bid=Decimal("0.38"),
                yes_ask=Decimal("0.41"),
                yes_bid_size=Decimal(5),
                yes_ask_size=Decimal(7),
                levels={"yes": [], "no": []},
            )
        )
    quotes = load_quotes(engine, ["KXHIGHCHI-25JAN10-B41.5", "OTHER"])
    assert quotes.to_dict("records") == [
        {
            "ticker": "KXHIGHCHI-25JAN10-B41.5",
            "at": pd.Timestamp("2025-01-09T22:00Z"),
            "yes_bid": 0.38,
            "yes_ask": 0.41,
            "yes_bid_size": 5.0,
            "yes_ask_size": 7.0,
        }
    ]
    markets = load_markets(engine, BacktestConfig(cities=["CHI"]))
    assert markets["ticker"].tolist() == ["KXHIGHCHI-25JAN10-B41.5"]
    assert load_markets(engine, BacktestConfig(cities=["NYC"])).empty

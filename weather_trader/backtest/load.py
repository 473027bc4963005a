"""The archive as a backtest reads it: predictions, trade tape, recorded quotes and markets.

The only module of the package that does IO. Predictions come from the forecast-skill
walk-forward (:mod:`weather_trader.evaluation`): every city trains the models, each refit uses
only what was known then, and only climate days after ``config.end`` are left out (no
prediction up to ``end`` can use them). The walk is the slow part: :mod:`.pipeline` caches its
predictions, keyed by :func:`archive_fingerprint` and everything else they depend on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.inputs import predictions_from_walks, require
from weather_trader.backtest.tape import QUOTE_COLUMNS
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.evaluation import load_archive, run_walks
from weather_trader.store import repo_history
from weather_trader.store.models import (
    BookSnapshotRow,
    ClimateReportRow,
    ForecastRow,
    MarketRow,
    MarketTradeRow,
)

_IN_CHUNK = 900


@dataclass
class BacktestInputs:
    """The frames ``run_backtest`` takes (schemas in :mod:`weather_trader.backtest.result`)."""

    predictions: pd.DataFrame
    tape: pd.DataFrame
    quotes: pd.DataFrame
    markets: pd.DataFrame


def load_markets(engine: Engine, config: BacktestConfig) -> pd.DataFrame:
    """The configured cities' markets of the configured kinds and climate days."""
    markets = repo_history.market_history(engine, config.cities, config.start, config.end)
    return markets[markets["kind"].isin(config.kinds)].reset_index(drop=True)


def load_tape(engine: Engine, tickers: Iterable[str]) -> pd.DataFrame:
    """Every recorded trade of ``tickers`` (``trade_history`` schema)."""
    return repo_history.trade_history(engine, list(tickers))


def load_quotes(engine: Engine, tickers: Iterable[str]) -> pd.DataFrame:
    """Recorded top of book of ``tickers`` (the market feed's ``book_snapshots``)."""
    columns = (
        BookSnapshotRow.ticker,
        BookSnapshotRow.captured_at,
        BookSnapshotRow.yes_bid,
        BookSnapshotRow.yes_ask,
        BookSnapshotRow.yes_bid_size,
        BookSnapshotRow.yes_ask_size,
    )
    wanted = sorted(set(tickers))
    rows = []
    with engine.connect() as conn:
        for i in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[i : i + _IN_CHUNK]
            rows.extend(conn.execute(select(*columns).where(BookSnapshotRow.ticker.in_(chunk))))
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(QUOTE_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    for column in QUOTE_COLUMNS[2:]:
        frame[column] = frame[column].astype("float64")
    return frame.sort_values(["ticker", "at"], kind="stable").reset_index(drop=True)


def read_candle_quotes(path: Path, tickers: Iterable[str] | None = None) -> pd.DataFrame:
    """Quotes from one-minute bid/ask candles (the dev set's KXHIGHCHI May 2025 file).

    Each candle's closing YES bid and ask (cents) is the quote at the candle's *end*
    (``bucket_start + period_minutes``), so nothing inside the minute leaks into a decision
    taken during it. Candles carry no sizes: the sizes are NaN (they set the book a decision
    sees; fills follow the trade rule). Forward-filled (``is_synthetic``) minutes are kept:
    the quote stood unchanged.

    Raises:
        InputError: If the file lacks the candle columns.
    """
    frame = pd.read_csv(path)
    require(
        frame,
        ("ticker", "bucket_start", "period_minutes", "yes_bid_close", "yes_ask_close"),
        f"candles {path}",
    )
    if tickers is not None:
        frame = frame[frame["ticker"].isin(set(tickers))]
    at = pd.to_datetime(frame["bucket_start"], utc=True) + pd.to_timedelta(
        frame["period_minutes"], unit="min"
    )
    out = pd.DataFrame(
        {
            "ticker": frame["ticker"].astype(str).to_numpy(),
            "at": at.to_numpy(),
            "yes_bid": frame["yes_bid_close"].to_numpy(dtype=float) / 100,
            "yes_ask": frame["yes_ask_close"].to_numpy(dtype=float) / 100,
            "yes_bid_size": float("nan"),
            "yes_ask_size": float("nan"),
        }
    )
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out.sort_values(["ticker", "at"], kind="stable").reset_index(drop=True)


def compute_predictions(
    engine: Engine,
    config: BacktestConfig,
    suite: ModelSuite | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Walk forward at the configured instants over the whole archive up to ``config.end``."""
    frames = load_archive(engine, end=config.end, kinds=config.kinds)
    walks = run_walks(frames, config.decision_instants(), config.end, suite, workers)
    return predictions_from_walks(walks)


def archive_fingerprint(engine: Engine) -> dict[str, str]:
    """Row counts and newest instants of the archive tables the predictions depend on."""
    queries = {
        "forecasts": select(func.count(), func.max(ForecastRow.issued_at)),
        "reports": select(func.count(), func.max(ClimateReportRow.issued_at)),
        "markets": select(func.count(), func.max(MarketRow.close_time)),
        "trades": select(func.count(), func.max(MarketTradeRow.traded_at)),
    }
    with engine.connect() as conn:
        return {k: "|".join(str(v) for v in conn.execute(q).one()) for k, q in queries.items()}


def load_inputs(
    engine: Engine,
    config: BacktestConfig,
    predictions: pd.DataFrame | None = None,
    workers: int = 1,
) -> BacktestInputs:
    """Everything ``run_backtest`` needs for ``config`` (predictions computed when not given)."""
    if predictions is None:
        predictions = compute_predictions(engine, config, workers=workers)
    markets = load_markets(engine, config)
    tickers = markets["ticker"].tolist()
    return BacktestInputs(
        predictions=predictions,
        tape=load_tape(engine, tickers),
        quotes=load_quotes(engine, tickers),
        markets=markets,
    )

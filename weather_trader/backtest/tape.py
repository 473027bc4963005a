"""The recorded market, indexed for replay: the trade tape and recorded quotes per market.

Both are held as per-market numpy arrays sorted by time, so the engine finds "the prints of this
market after ``t``" or "the quote in force at ``t``" with ``searchsorted`` instead of scanning
rows. Prices are integer *ticks* of 1/10,000 dollar (Kalshi's fixed-point precision since 2026;
the legacy cent prices are multiples of 100), times integer nanoseconds since the epoch (UTC).

The tape also remembers how many contracts of each print our own earlier orders already took
(:attr:`Tape.remaining`): a print fills our orders at most once in total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

TICKS_PER_DOLLAR = 10_000
TAPE_COLUMNS = ("trade_id", "ticker", "traded_at", "yes_price", "count", "taker_side")
QUOTE_COLUMNS = ("ticker", "at", "yes_bid", "yes_ask", "yes_bid_size", "yes_ask_size")


class TapeError(ValueError):
    """Raised for a tape or quote frame without the needed columns, or with bad values."""


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TapeError(f"{what} is missing columns {missing}")


def utc_ns(values: pd.Series | pd.DatetimeIndex, what: str) -> np.ndarray:
    """UTC nanoseconds of tz-aware datetimes (naive times are refused, not guessed)."""
    if not len(values):
        return np.empty(0, dtype=np.int64)
    times = pd.DatetimeIndex(pd.to_datetime(values))
    if times.tz is None:
        raise TapeError(f"{what} must be tz-aware UTC datetimes")
    return times.tz_convert("UTC").as_unit("ns").asi8.copy()


def to_ticks(dollars: np.ndarray | pd.Series, what: str) -> np.ndarray:
    """Dollar prices as integer ticks (refusing prices outside [0, 1])."""
    values = np.asarray(dollars, dtype=float)
    if len(values) and not (
        np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    ):
        raise TapeError(f"{what} must be dollar prices in [0, 1]")
    return np.rint(values * TICKS_PER_DOLLAR).astype(np.int64)


def ticks_to_dollars(ticks: int) -> Decimal:
    """An integer tick price as exact Decimal dollars."""
    return (Decimal(int(ticks)) / TICKS_PER_DOLLAR).normalize() + Decimal("0.00")


def dollars_to_ticks(price: Decimal) -> int:
    """Decimal dollars as integer ticks (exact for prices on the tick grid)."""
    return int((price * TICKS_PER_DOLLAR).to_integral_value())


@dataclass
class _Index:
    """Rows of one frame grouped by market: ``tickers[i]`` spans ``bounds[i]:bounds[i + 1]``."""

    tickers: np.ndarray
    bounds: np.ndarray

    def span(self, ticker: str) -> tuple[int, int]:
        """``(start, stop)`` rows of ``ticker`` (empty when it has none)."""
        i = int(np.searchsorted(self.tickers, ticker))
        if i < len(self.tickers) and self.tickers[i] == ticker:
            return int(self.bounds[i]), int(self.bounds[i + 1])
        return 0, 0


def _grouped(tickers: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, _Index]:
    """The row order by (ticker, time) and the per-ticker spans."""
    names, code = np.unique(tickers.astype(str), return_inverse=True)
    order = np.lexsort((times, code))
    bounds = np.searchsorted(code[order], np.arange(len(names) + 1), side="left")
    return order, _Index(names, bounds)


class Tape:
    """The public trades of every market, by market then time.

    Attributes:
        trade_id: Print ids.
        times: Print times (ns UTC).
        price: YES price of each print (ticks).
        count: Contracts printed (whole contracts: fractions are dropped, never rounded up).
        taker_yes: True where the taker bought YES (``taker_side == "yes"``), False where the
            taker bought NO, i.e. sold YES.
        remaining: Contracts of each print not yet taken by our orders.
    """

    def __init__(self, trades: pd.DataFrame) -> None:
        _require(trades, TAPE_COLUMNS, "tape")
        side = trades["taker_side"].astype(str).to_numpy()
        if len(side) and not np.isin(side, ("yes", "no")).all():
            raise TapeError("tape taker_side must be 'yes' or 'no'")
        times = utc_ns(trades["traded_at"], "tape traded_at")
        order, self.index = _grouped(trades["ticker"].to_numpy(), times)
        self.trade_id = trades["trade_id"].astype(str).to_numpy()[order]
        self.times = times[order]
        self.price = to_ticks(trades["yes_price"], "tape yes_price")[order]
        count = np.floor(trades["count"].to_numpy(dtype=float))[order]
        if len(count) and not (np.isfinite(count).all() and (count >= 0).all()):
            raise TapeError("tape count must be non-negative numbers")
        self.count = count.astype(np.int64)
        self.taker_yes = (side == "yes")[order]
        self.remaining = self.count.copy()

    def __len__(self) -> int:
        return len(self.times)

    def window(self, ticker: str, after_ns: int, before_ns: int) -> slice:
        """Rows of ``ticker`` printed strictly after ``after_ns`` and strictly before
        ``before_ns``."""
        lo, hi = self.index.span(ticker)
        times = self.times[lo:hi]
        start = lo + int(np.searchsorted(times, after_ns, side="right"))
        stop = lo + int(np.searchsorted(times, before_ns, side="left"))
        return slice(start, max(start, stop))

    def reset(self) -> None:
        """Forget what earlier runs took (a tape can be replayed again)."""
        self.remaining = self.count.copy()


class QuoteBook:
    """Recorded top of book per market (YES bid/ask and their sizes), by market then time."""

    def __init__(self, quotes: pd.DataFrame | None) -> None:
        quotes = quotes if quotes is not None else pd.DataFrame(columns=QUOTE_COLUMNS)
        _require(quotes, QUOTE_COLUMNS, "quotes")
        times = utc_ns(quotes["at"], "quotes at")
        order, self.index = _grouped(quotes["ticker"].to_numpy(), times)
        self.times = times[order]
        self.bid = to_ticks(quotes["yes_bid"], "quotes yes_bid")[order]
        self.ask = to_ticks(quotes["yes_ask"], "quotes yes_ask")[order]
        sizes = [np.floor(quotes[c].to_numpy(dtype=float))[order] for c in QUOTE_COLUMNS[4:]]
        for values in sizes:
            if (values < 0).any() or np.isinf(values).any():
                raise TapeError("quote sizes must be non-negative numbers (NaN: not recorded)")
        # -1: size not recorded (e.g. candles): the price sets the book, never a fill.
        self.bid_size, self.ask_size = (np.nan_to_num(v, nan=-1).astype(np.int64) for v in sizes)
        self.taken: dict[tuple[int, str], int] = {}
        """Contracts our orders already took from a quote row, per (row, "bid"/"ask")."""

    def __len__(self) -> int:
        return len(self.times)

    def in_force(self, ticker: str, at_ns: int, max_age_ns: int, strict: bool) -> int | None:
        """Row of the newest quote of ``ticker`` at ``at_ns`` (strictly before it when
        ``strict``), no older than ``max_age_ns``; None when there is none."""
        lo, hi = self.index.span(ticker)
        if lo == hi:
            return None
        pos = lo + int(
            np.searchsorted(self.times[lo:hi], at_ns, side="left" if strict else "right")
        )
        if pos == lo:
            return None
        row = pos - 1
        return row if at_ns - int(self.times[row]) <= max_age_ns else None

    def reset(self) -> None:
        """Forget what earlier runs took."""
        self.taken = {}

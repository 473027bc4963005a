"""The market's probability of each bracket at a decision instant, from the trade tape alone.

A bracket's price at instant ``t`` is the volume-weighted YES price of its trades in the hour
before ``t`` (``t - 60 min <= traded_at < t``), else the price of its last trade before ``t``;
a market that has not traded before ``t`` has no price. Trades *at* ``t`` are excluded, so
nothing printed at or after the decision instant reaches the price.

``market_raw`` is that price as traded (an event's prices need not sum to 1); ``market`` is the
same prices divided by their sum over the event, defined only when every bracket has a price.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

WINDOW = timedelta(minutes=60)
"""How far back the volume-weighted price looks."""

TRADE_COLUMNS = ("ticker", "traded_at", "yes_price", "count")
REQUEST_COLUMNS = ("ticker", "at")


class MarketPriceError(ValueError):
    """Raised for a trade or request frame without the needed columns or with naive times."""


def _ns(values: pd.Series, what: str) -> np.ndarray:
    """UTC nanoseconds of a tz-aware datetime column (naive times are refused, not guessed)."""
    times = pd.to_datetime(values)
    if len(times) and getattr(times.dt, "tz", None) is None:
        raise MarketPriceError(f"{what} must be tz-aware UTC datetimes")
    return times.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").astype("int64").to_numpy()


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MarketPriceError(f"{what} is missing columns {missing}")


def bracket_prices(
    trades: pd.DataFrame, requests: pd.DataFrame, window: timedelta = WINDOW
) -> np.ndarray:
    """The YES price of ``requests.ticker`` at ``requests.at``, one float per request row.

    Args:
        trades: ``ticker, traded_at, yes_price (dollars), count`` (any order).
        requests: ``ticker, at`` (tz-aware UTC); one output per row, in row order.
        window: The volume-weighting look-back.

    Returns:
        Prices in dollars (0-1), NaN where the market had no trade strictly before ``at``.
    """
    _require(trades, TRADE_COLUMNS, "trades")
    _require(requests, REQUEST_COLUMNS, "requests")
    out = np.full(len(requests), np.nan)
    if not len(requests) or not len(trades):
        return out
    tape_tickers = trades["ticker"].astype(str).to_numpy()
    tickers, tape_code = np.unique(tape_tickers, return_inverse=True)
    tape_t = _ns(trades["traded_at"], "trades.traded_at")
    order = np.lexsort((tape_t, tape_code))  # by ticker, then time
    tape_code, tape_t = tape_code[order], tape_t[order]
    price = trades["yes_price"].to_numpy(dtype=float)[order]
    count = trades["count"].to_numpy(dtype=float)[order]
    bounds = np.searchsorted(tape_code, np.arange(len(tickers) + 1), side="left")

    asked_t = _ns(requests["at"], "requests.at")
    asked_tickers = requests["ticker"].astype(str).to_numpy()
    code = np.minimum(np.searchsorted(tickers, asked_tickers), len(tickers) - 1)
    rows_traded = np.flatnonzero(tickers[code] == asked_tickers)
    rows_traded = rows_traded[np.argsort(code[rows_traded], kind="stable")]
    codes = code[rows_traded]
    splits = np.flatnonzero(np.diff(codes)) + 1
    window_ns = int(window.total_seconds() * 1e9)
    for rows in np.split(rows_traded, splits):
        if not len(rows):
            continue
        lo, hi = bounds[code[rows[0]]], bounds[code[rows[0]] + 1]
        # Sums restart per ticker: one market's price never depends on another's tape.
        times, p, n = tape_t[lo:hi], price[lo:hi], count[lo:hi]
        cum_count = np.concatenate(([0.0], np.cumsum(n)))
        cum_value = np.concatenate(([0.0], np.cumsum(p * n)))
        at = asked_t[rows]
        end = np.searchsorted(times, at, side="left")  # trades strictly before the instant
        start = np.searchsorted(times, at - window_ns, side="left")
        volume = cum_count[end] - cum_count[start]
        last = np.where(end > 0, p[np.maximum(end - 1, 0)], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = (cum_value[end] - cum_value[start]) / volume
        out[rows] = np.where(volume > 0, vwap, last)
    return out


def normalise_by_event(prices: np.ndarray, event_ids: np.ndarray | pd.Series) -> np.ndarray:
    """Each price divided by its event's sum; NaN for a whole event missing any price."""
    frame = pd.DataFrame({"event": np.asarray(event_ids), "p": np.asarray(prices, dtype=float)})
    grouped = frame.groupby("event", sort=False)["p"]
    total = grouped.transform("sum")
    complete = grouped.transform("count") == grouped.transform("size")
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = frame["p"] / total
    return np.where(complete.to_numpy() & (total > 0).to_numpy(), normalised, np.nan)


def add_market_probabilities(
    brackets: pd.DataFrame, trades: pd.DataFrame, window: timedelta = WINDOW
) -> pd.DataFrame:
    """``brackets`` (``event_ticker, ticker, decided_at``) with ``p_market_raw``, ``p_market``."""
    _require(brackets, ("event_ticker", "ticker", "decided_at"), "brackets")
    requests = pd.DataFrame({"ticker": brackets["ticker"], "at": brackets["decided_at"]})
    raw = bracket_prices(trades, requests, window)
    out = brackets.copy()
    out["p_market_raw"] = raw
    # One event priced at two instants is two groups: key on the instant too.
    key = brackets["event_ticker"].astype(str) + "@" + requests["at"].astype(str)
    out["p_market"] = normalise_by_event(raw, key.to_numpy())
    return out

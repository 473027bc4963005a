"""What a trader reads off a backtest: P&L, risk and skill metrics, pure functions of its frames.

Inputs are the engine's frames (:class:`weather_trader.backtest.engine.BacktestResult`):

- ``trades``: one row per fill, ``decided_at, filled_at, market_ticker, event_ticker, city,
  climate_date, instant, action ("buy"/"sell"), side ("yes"/"no"), count, price`` (dollars per
  contract of ``side``), ``fee, liquidity, p_model, p_market`` (probabilities of YES at the
  decision), ``settled_yes`` and ``pnl`` (dollars, fees included);
- ``equity``: ``date, equity``: the equity at the end of each day, every position settled by
  the last one.

Money columns may hold ``Decimal`` or floats; sums of money stay exact where they are reported
as money, statistics use floats.

Conventions (fixed, never tuned to a result):

- Daily P&L is the change of end-of-day equity (the first day's against the bankroll). Sharpe
  and Sortino are ``mean / sd`` and ``mean / downside deviation`` of daily P&L, annualised by
  ``sqrt(365)`` (the markets settle every calendar day); the downside deviation is
  ``sqrt(mean(min(x, 0)^2))`` over all days. Both are None with fewer than two days or no
  spread.
- ROI is P&L over the money staked (``turnover``: contracts times price of every buy, plus
  fees); ``return_on_bankroll`` is P&L over the starting bankroll.
- A trade wins when its own P&L is positive.
- Max drawdown: the largest fall of equity from its running peak (the bankroll is the first
  peak), in dollars and as a fraction of that peak; its duration runs from the peak to the day
  equity first regains it (or to the last day, ``recovered`` False).
- The bootstrap interval of the mean daily P&L resamples days with replacement
  (:data:`BOOTSTRAP_RESAMPLES` times, seed :data:`BOOTSTRAP_SEED`, percentile interval), so the
  same frames always give the same interval. Days are treated as independent: the events of a
  day are correlated but consecutive days nearly are not.
- Kelly effectiveness is the realised log growth of the bets over the growth the model expected
  of them: summed over buys, ``log(1 + pnl / W)`` against
  ``q log(1 + win / W) + (1 - q) log(1 - loss / W)``, with ``q`` the model's probability that
  the side bought pays, ``W`` the bankroll Kelly sized against (the engine's ``bankroll``
  column; else the equity at the start of the decision day), ``win`` and ``loss`` the fill's
  payoff after fees. Near 1: the model's edge was real; below 0: the bets lost money.
- Brier of the probabilities traded on: once per distinct (market, decision instant) bought,
  ``(p - settled_yes)^2`` for the model's ``p_model`` and the market's ``p_market``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.skill import calibration_table

ANNUALISATION = math.sqrt(365.0)
"""Daily ratios times this: weather markets settle every calendar day."""
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20240816
"""Fixed: the interval is a property of the data, not of the run."""
PRICE_BUCKETS: tuple[float, ...] = (0.0, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0001)
"""Edges of the price buckets (price paid per contract of the side traded)."""
CALIBRATION_BINS = 10
TRADE_COLUMNS = (
    "decided_at", "filled_at", "market_ticker", "event_ticker", "city", "climate_date", "instant",
    "action", "side", "count", "price", "fee", "liquidity", "p_model", "p_market", "settled_yes",
    "pnl",
)  # fmt: skip


class MetricsError(ValueError):
    """The frames do not have the shape the metrics need."""


@dataclass(frozen=True)
class Drawdown:
    """The deepest fall of equity from a running peak.

    Attributes:
        amount: Dollars from the peak to the trough (0 without a fall).
        fraction: ``amount`` over the peak's equity.
        peak: Last day at the peak before the trough (None: the starting bankroll).
        trough: Day of the lowest equity (None without a fall).
        recovered: Day equity first regained the peak (None: not by the last day).
        duration_days: Days from the peak to recovery, or to the last day if never.
    """

    amount: float
    fraction: float
    peak: date | None
    trough: date | None
    recovered: date | None
    duration_days: int


@dataclass(frozen=True)
class Interval:
    """A bootstrap percentile interval of a mean."""

    mean: float | None
    low: float | None
    high: float | None
    level: float
    resamples: int
    seed: int


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`MetricsError` naming the columns ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MetricsError(f"{what} frame lacks columns {missing}")


def as_float(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """Money or probabilities (Decimal, int, float, None) as a float array (NaN for None)."""
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    return pd.to_numeric(series.map(lambda v: float(v) if v is not None else np.nan),
                         errors="coerce").to_numpy(dtype=float)  # fmt: skip


def money_sum(values: Iterable[Any]) -> Decimal:
    """Exact sum of money values (Decimal kept exact; floats through their repr)."""
    total = Decimal(0)
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        total += v if isinstance(v, Decimal) else Decimal(repr(float(v)))
    return total


# -- daily P&L and its statistics -----------------------------------------------------------------


def daily_pnl(equity: pd.DataFrame, bankroll: Decimal | float) -> pd.Series:
    """End-of-day equity changes indexed by day (the first day against ``bankroll``)."""
    require_columns(equity, ("date", "equity"), "equity")
    if equity.empty:
        return pd.Series([], dtype=float)
    ordered = equity.sort_values("date")
    values = as_float(ordered["equity"])
    previous = np.concatenate([[float(bankroll)], values[:-1]])
    return pd.Series(values - previous, index=list(ordered["date"]), dtype=float)


def sharpe(daily: pd.Series | np.ndarray) -> float | None:
    """Annualised Sharpe ratio of daily P&L (``mean / sd * sqrt(365)``, sample sd)."""
    x = np.asarray(daily, dtype=float)
    if len(x) < 2:
        return None
    sd = float(np.std(x, ddof=1))
    if sd <= 0 or not math.isfinite(sd):
        return None
    return float(np.mean(x)) / sd * ANNUALISATION


def sortino(daily: pd.Series | np.ndarray) -> float | None:
    """Annualised Sortino ratio: ``mean / sqrt(mean(min(x, 0)^2)) * sqrt(365)``."""
    x = np.asarray(daily, dtype=float)
    if len(x) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    if downside <= 0:
        return None
    return float(np.mean(x)) / downside * ANNUALISATION


def drawdown_curve(equity: pd.DataFrame, bankroll: Decimal | float) -> pd.DataFrame:
    """``date, equity, peak, drawdown`` (dollars below the running peak, >= 0)."""
    require_columns(equity, ("date", "equity"), "equity")
    ordered = equity.sort_values("date")
    values = as_float(ordered["equity"])
    peak = np.maximum.accumulate(np.concatenate([[float(bankroll)], values]))[1:]
    return pd.DataFrame(
        {"date": list(ordered["date"]), "equity": values, "peak": peak, "drawdown": peak - values}
    )


def max_drawdown(equity: pd.DataFrame, bankroll: Decimal | float) -> Drawdown:
    """The deepest drawdown of the equity curve, with its peak, trough and duration."""
    curve = drawdown_curve(equity, bankroll)
    if curve.empty or float(curve["drawdown"].max()) <= 0:
        return Drawdown(0.0, 0.0, None, None, None, 0)
    dd = curve["drawdown"].to_numpy()
    values = curve["equity"].to_numpy()
    days = list(curve["date"])
    trough = int(np.argmax(dd))
    peak_value = float(curve["peak"].iloc[trough])
    at_peak = np.flatnonzero(values[: trough + 1] >= peak_value)
    peak_index = int(at_peak[-1]) if len(at_peak) else None
    later = np.flatnonzero(values[trough:] >= peak_value)
    recovered = trough + int(later[0]) if len(later) else None
    first = days[0]
    peak_day = days[peak_index] if peak_index is not None else None
    # Before the first day the equity was the bankroll: a peak there starts the day before.
    start = peak_day if peak_day is not None else _previous_day(first)
    end = days[recovered] if recovered is not None else days[-1]
    return Drawdown(
        amount=float(dd[trough]),
        fraction=float(dd[trough]) / peak_value if peak_value > 0 else 0.0,
        peak=peak_day,
        trough=days[trough],
        recovered=days[recovered] if recovered is not None else None,
        duration_days=_days_between(start, end),
    )


def _previous_day(day: Any) -> Any:
    return pd.Timestamp(day) - pd.Timedelta(days=1)


def _days_between(start: Any, end: Any) -> int:
    return int((pd.Timestamp(end) - pd.Timestamp(start)).days)


def bootstrap_mean(
    values: pd.Series | np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Percentile bootstrap interval of the mean (deterministic for a given seed)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(None, None, None, level, resamples, seed)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # In chunks: a year of days times 10,000 resamples would be a 30 MB index array at once.
    chunk = max(1, 2_000_000 // len(x))
    for start in range(0, resamples, chunk):
        n = min(chunk, resamples - start)
        means[start : start + n] = x[rng.integers(0, len(x), size=(n, len(x)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(np.mean(x)), float(low), float(high), level, resamples, seed)


# -- trade statistics -----------------------------------------------------------------------------


def _stake(trades: pd.DataFrame) -> np.ndarray:
    """Money put at risk by each fill: count times price of buys, plus every fee."""
    buys = (trades["action"] == "buy").to_numpy()
    cost = as_float(trades["count"]) * as_float(trades["price"])
    return np.where(buys, cost, 0.0) + as_float(trades["fee"])


def trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    """``trades, wins, win_rate, pnl, fees, turnover, roi, contracts`` of a set of fills."""
    require_columns(trades, ("action", "count", "price", "fee", "pnl"), "trades")
    n = len(trades)
    pnl = money_sum(trades["pnl"])
    fees = money_sum(trades["fee"])
    turnover = float(np.sum(as_float(trades["count"]) * as_float(trades["price"]))) if n else 0.0
    staked = float(np.sum(_stake(trades))) if n else 0.0
    wins = int(np.sum(as_float(trades["pnl"]) > 0)) if n else 0
    return {
        "trades": n,
        "wins": wins,
        "win_rate": wins / n if n else None,
        "contracts": float(np.sum(as_float(trades["count"]))) if n else 0.0,
        "pnl": float(pnl),
        "fees": float(fees),
        "turnover": turnover,
        "staked": staked,
        "roi": float(pnl) / staked if staked > 0 else None,
    }


def breakdown(trades: pd.DataFrame, by: str, order: Sequence[Any] | None = None) -> list[dict]:
    """:func:`trade_stats` per value of column ``by`` (sorted, or in ``order``)."""
    require_columns(trades, (by,), "trades")
    keys = list(order) if order is not None else sorted(trades[by].dropna().unique(), key=str)
    out = []
    for key in keys:
        rows = trades[trades[by] == key]
        out.append({by: key, **trade_stats(rows)})
    return out


def price_bucket_labels(edges: Sequence[float] = PRICE_BUCKETS) -> list[str]:
    """``"0.00-0.10"`` style labels of the price buckets (the last one closed at 1)."""
    return [f"{lo:.2f}-{min(hi, 1.0):.2f}" for lo, hi in itertools.pairwise(edges)]


def with_price_bucket(trades: pd.DataFrame, edges: Sequence[float] = PRICE_BUCKETS) -> pd.DataFrame:
    """``trades`` plus ``price_bucket``: the bucket of the price paid per contract."""
    labels = price_bucket_labels(edges)
    price = as_float(trades["price"])
    index = np.clip(np.searchsorted(np.asarray(edges), price, side="right") - 1, 0, len(labels) - 1)
    return trades.assign(price_bucket=[labels[i] for i in index])


def traded_probabilities(trades: pd.DataFrame) -> pd.DataFrame:
    """``p_model, p_market, settled_yes`` once per distinct (market, decision instant) bought."""
    require_columns(trades, ("market_ticker", "decided_at", "action", "p_model", "p_market",
                             "settled_yes"), "trades")  # fmt: skip
    buys = trades[trades["action"] == "buy"]
    firsts = buys.drop_duplicates(["market_ticker", "decided_at"])
    out = pd.DataFrame(
        {
            "p_model": as_float(firsts["p_model"]),
            "p_market": as_float(firsts["p_market"]),
            "settled_yes": as_float(firsts["settled_yes"].map(_bool_or_none)),
        }
    )
    return out[np.isfinite(out["settled_yes"])].reset_index(drop=True)


def _bool_or_none(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return 1.0 if bool(value) else 0.0


def brier_traded(trades: pd.DataFrame) -> dict[str, Any]:
    """Brier of the model's and the market's YES probabilities on the markets bought."""
    probs = traded_probabilities(trades)
    if probs.empty:
        return {"n": 0, "model": None, "market": None}
    y = probs["settled_yes"].to_numpy()
    model = probs["p_model"].to_numpy()
    market = probs["p_market"].to_numpy()
    ok_model, ok_market = np.isfinite(model), np.isfinite(market)
    return {
        "n": len(probs),
        "model": float(np.mean((model[ok_model] - y[ok_model]) ** 2)) if ok_model.any() else None,
        "market": float(np.mean((market[ok_market] - y[ok_market]) ** 2))
        if ok_market.any()
        else None,
    }


def calibration(
    p: np.ndarray | pd.Series, outcome: np.ndarray | pd.Series, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Reliability table (:func:`weather_trader.core.skill.calibration_table`)."""
    return calibration_table(np.asarray(p, dtype=float), np.asarray(outcome, dtype=float), bins)


def _equity_before(equity: pd.DataFrame, bankroll: float) -> dict[Any, float]:
    """Equity at the start of each day in ``equity`` (the previous day's close)."""
    ordered = equity.sort_values("date")
    values = as_float(ordered["equity"])
    starts = np.concatenate([[bankroll], values[:-1]])
    return {pd.Timestamp(d).date(): s for d, s in zip(ordered["date"], starts, strict=True)}


def kelly_effectiveness(
    trades: pd.DataFrame, equity: pd.DataFrame, bankroll: Decimal | float
) -> dict[str, Any]:
    """Realised against expected log growth (see the module notes).

    When the engine gives each buy its own ``expected_log_growth`` and ``realised_log_growth``
    (of the Kelly bankroll at its decision), those are summed; otherwise they are computed here
    from the equity at the start of the decision day. ``equity_log_growth`` is
    ``log(final equity / bankroll)`` either way.
    """
    require_columns(trades, ("decided_at", "action", "side", "count", "price", "fee",
                             "p_model", "pnl"), "trades")  # fmt: skip
    bank = float(bankroll)
    final = float(as_float(equity.sort_values("date")["equity"])[-1]) if len(equity) else bank
    equity_growth = math.log(final / bank) if final > 0 and bank > 0 else None
    buys = trades[trades["action"] == "buy"]
    expected = realised = 0.0
    if len(buys) and {"expected_log_growth", "realised_log_growth"} <= set(buys.columns):
        exp, real = as_float(buys["expected_log_growth"]), as_float(buys["realised_log_growth"])
        ok = np.isfinite(exp) & np.isfinite(real)
        expected, realised = float(np.sum(exp[ok])), float(np.sum(real[ok]))
    elif len(buys):
        start = _equity_before(equity, bank)
        days = pd.to_datetime(buys["decided_at"], utc=True).dt.date
        wealth = np.array([start.get(d, bank) for d in days], dtype=float)
        count, price = as_float(buys["count"]), as_float(buys["price"])
        fee, pnl = as_float(buys["fee"]), as_float(buys["pnl"])
        p_yes = as_float(buys["p_model"])
        q = np.where((buys["side"] == "yes").to_numpy(), p_yes, 1.0 - p_yes)
        win = count * (1.0 - price) - fee
        loss = count * price + fee
        ok = np.isfinite(q) & (wealth > loss)
        with np.errstate(invalid="ignore", divide="ignore"):
            growth = q * np.log1p(win / wealth) + (1 - q) * np.log1p(-loss / wealth)
            got = np.log1p(pnl / wealth)
        expected = float(np.sum(growth[ok]))
        realised = float(np.sum(got[ok]))
    ratio = realised / expected if expected > 0 else None
    return {
        "expected_log_growth": expected,
        "realised_log_growth": realised,
        "equity_log_growth": equity_growth,
        "ratio": ratio,
    }


# -- the summary ----------------------------------------------------------------------------------


def summary(
    trades: pd.DataFrame, equity: pd.DataFrame, bankroll: Decimal | float
) -> dict[str, Any]:
    """Every headline number of one run (JSON-able scalars; None where undefined)."""
    stats = trade_stats(trades)
    daily = daily_pnl(equity, bankroll)
    dd = max_drawdown(equity, bankroll)
    ci = bootstrap_mean(daily)
    kelly = kelly_effectiveness(trades, equity, bankroll)
    brier = brier_traded(trades)
    final = float(as_float(equity.sort_values("date")["equity"])[-1]) if len(equity) else None
    bank = float(bankroll)
    return {
        **stats,
        "return_on_bankroll": stats["pnl"] / bank if bank > 0 else None,
        "bankroll": bank,
        "final_equity": final,
        "days": len(daily),
        "days_traded": int(pd.to_datetime(trades["decided_at"], utc=True).dt.date.nunique())
        if len(trades)
        else 0,
        "mean_daily_pnl": ci.mean,
        "mean_daily_pnl_ci_low": ci.low,
        "mean_daily_pnl_ci_high": ci.high,
        "ci_level": ci.level,
        "ci_resamples": ci.resamples,
        "ci_seed": ci.seed,
        "sharpe": sharpe(daily),
        "sortino": sortino(daily),
        "max_drawdown": dd.amount,
        "max_drawdown_fraction": dd.fraction,
        "max_drawdown_days": dd.duration_days,
        "max_drawdown_peak": _iso(dd.peak),
        "max_drawdown_trough": _iso(dd.trough),
        "max_drawdown_recovered": _iso(dd.recovered),
        "kelly_expected_log_growth": kelly["expected_log_growth"],
        "kelly_realised_log_growth": kelly["realised_log_growth"],
        "equity_log_growth": kelly["equity_log_growth"],
        "kelly_effectiveness": kelly["ratio"],
        "brier_traded_n": brier["n"],
        "brier_model": brier["model"],
        "brier_market": brier["market"],
    }


def _iso(day: Any) -> str | None:
    return None if day is None else pd.Timestamp(day).date().isoformat()

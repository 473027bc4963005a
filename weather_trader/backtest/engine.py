"""The walk-forward replay: production's decisions on the recorded markets, instant by instant.

``run_backtest`` visits every (decision instant, event) of the configured cities and days in
time order. At each it

1. advances the simulated account (:mod:`.risk`) to the instant: fills strictly before it and
   settlements at or before it are applied, so the risk state holds exactly the positions the
   run really held then, its own earlier fills included;
2. shows the strategy (:mod:`.strategies`) the event as known then: the walk-forward's
   probabilities of the configured predictor (fitted only on data known at the instant), the
   market's probability, and the book: the recorded quote in force strictly before the instant,
   or, without one, the reference price of the trades strictly before the instant (hour's
   volume-weighted, else the last) widened by ``half_spread_cents`` each way;
3. caps the strategy's buys by the risk limits (halts, per-order, per-event, total exposure,
   resting orders included) and sends them;
4. fills each order under the fill model (:mod:`.fills`): quotes at arrival, or prints strictly
   after arrival and before the order expires (the event's next instant, the close, and for
   maker quotes the next weekly model refit).

Settlement is at the later of the market's close and the final climate report's usual time
(07:00 local standard time the next day), on the market's recorded result, else the
walk-forward's outcome. Events without an outcome are not traded (counted in ``stats``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.fills import Fill, Order, fill_fee, fill_order
from weather_trader.backtest.inputs import MARKET_COLUMNS, InputError, require, select_predictions
from weather_trader.backtest.result import (
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    TRADE_EXTRA_COLUMNS,
    BacktestResult,
)
from weather_trader.backtest.risk import Account, FillEvent, Resting, cap_buy
from weather_trader.backtest.strategies import (
    MarketView,
    OrderIntent,
    StrategyContext,
    exit_intents,
    make_strategy,
)
from weather_trader.backtest.tape import QuoteBook, Tape, ticks_to_dollars
from weather_trader.core.brackets import Bracket
from weather_trader.core.climate_day import climate_day_window, final_report_expected_at
from weather_trader.core.forecasting.market_prices import bracket_prices
from weather_trader.core.trading import MarketQuote

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
WEEK = pd.Timedelta(days=7)
_RECORD_COLUMNS = (
    "instant", "decided_at", "event_ticker", "market_ticker", "series_ticker", "city",
    "climate_date", "lo", "hi", "p_model", "p_market", "ref_price", "settled_yes",
    "expires_at", "next_refit",
)  # fmt: skip


def _ns(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).tz_convert("UTC").as_unit("ns").value)


def _outcomes(rows: pd.DataFrame, markets: pd.DataFrame) -> pd.Series:
    """Settled YES (1/0/NaN) per prediction row: the market's result, else the walk's."""
    result = rows["market_ticker"].map(markets.set_index("ticker")["result"])
    recorded = result.map({"yes": 1.0, "no": 0.0})
    return recorded.where(recorded.notna(), rows["outcome"]).astype(float)


def _close_times(rows: pd.DataFrame, markets: pd.DataFrame) -> pd.Series:
    """Each row's market close (UTC), else the end of its climate day."""
    close = rows["market_ticker"].map(markets.set_index("ticker")["close_time"])
    close = pd.to_datetime(close, utc=True)
    missing = close.isna()
    if missing.any():
        ends = [
            pd.Timestamp(climate_day_window(c, d)[1])
            for c, d in zip(
                rows.loc[missing, "city"], rows.loc[missing, "climate_date"], strict=True
            )
        ]
        close.loc[missing] = ends
    return close


def _next_model_change(rows: pd.DataFrame) -> pd.Series:
    """When the model that priced each row is replaced: the first instant of the next
    ``model_version`` when the predictions name versions, else the next weekly refit
    (Monday 00:00 UTC, the walk-forward's calendar)."""
    if "model_version" not in rows.columns or rows["model_version"].isna().all():
        day = rows["decided_at"].dt.normalize()
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D") + WEEK
    firsts = rows.groupby("model_version")["decided_at"].min().sort_values()
    changes = firsts.to_numpy(dtype="datetime64[ns]")
    at = rows["decided_at"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    i = np.searchsorted(changes, at, side="right")
    far = np.datetime64("2262-01-01")
    nxt = np.where(i < len(changes), changes[np.minimum(i, len(changes) - 1)], far)
    return pd.Series(pd.to_datetime(nxt).tz_localize("UTC"), index=rows.index)


def _prepare(
    predictions: pd.DataFrame, markets: pd.DataFrame, config: BacktestConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows to replay with outcome, close, settlement and expiry; stats of what was left."""
    require(markets, MARKET_COLUMNS, "markets")
    rows = select_predictions(predictions, config)
    stats: dict[str, Any] = {"prediction_rows": len(rows)}
    markets = markets.drop_duplicates("ticker", keep="last")
    rows["settled_yes"] = _outcomes(rows, markets)
    unknown = rows["event_ticker"].isin(rows.loc[rows["settled_yes"].isna(), "event_ticker"])
    stats["events_without_outcome"] = int(rows.loc[unknown, "event_ticker"].nunique())
    rows = rows.loc[~unknown].reset_index(drop=True)
    rows["series_ticker"] = rows["market_ticker"].map(markets.set_index("ticker")["series_ticker"])
    rows["close_time"] = _close_times(rows, markets)
    report = {
        (c, d): pd.Timestamp(final_report_expected_at(c, d))
        for c, d in set(zip(rows["city"], rows["climate_date"], strict=True))
    }
    rows["settles_at"] = [
        max(report[(c, d)], close)
        for c, d, close in zip(rows["city"], rows["climate_date"], rows["close_time"], strict=True)
    ]
    # An order lives until the event's next decision instant, else the market's close.
    instants = rows[["event_ticker", "decided_at"]].drop_duplicates().sort_values("decided_at")
    instants["next_at"] = instants.groupby("event_ticker")["decided_at"].shift(-1)
    rows = rows.merge(instants, on=["event_ticker", "decided_at"], how="left")
    rows["expires_at"] = rows["next_at"].where(rows["next_at"].notna(), rows["close_time"])
    rows["expires_at"] = pd.to_datetime(rows["expires_at"], utc=True)
    before_close = rows["decided_at"] < rows["close_time"]
    stats["rows_after_close"] = int((~before_close).sum())
    rows = rows.loc[before_close].reset_index(drop=True)
    rows["next_refit"] = _next_model_change(rows)
    stats["events"] = int(rows["event_ticker"].nunique())
    return rows, stats


def _assumed_quote(
    ticker: str, event: str, bracket: Bracket, ref: float, half_spread: int, size: int
) -> MarketQuote:
    """The book assumed from the tape: reference price -/+ the half spread (no price: empty)."""
    if not math.isfinite(ref):
        return MarketQuote(ticker, event, bracket, ZERO, ONE)
    mid = Decimal(repr(ref)).quantize(CENT, rounding=ROUND_HALF_UP)
    bid, ask = mid - CENT * half_spread, mid + CENT * half_spread
    bid_ok, ask_ok = bid > 0, ask < 1
    return MarketQuote(
        ticker,
        event,
        bracket,
        bid if bid_ok else ZERO,
        ask if ask_ok else ONE,
        Decimal(size) if bid_ok else ZERO,
        Decimal(size) if ask_ok else ZERO,
    )


def _recorded_quote(
    ticker: str, event: str, bracket: Bracket, quotes: QuoteBook, row: int, assumed: int
) -> MarketQuote:
    """The recorded book; a size not recorded (-1) is assumed like a tape-only book's."""
    bid, ask = ticks_to_dollars(quotes.bid[row]), ticks_to_dollars(quotes.ask[row])
    bid_size, ask_size = int(quotes.bid_size[row]), int(quotes.ask_size[row])
    bid_size = (assumed if bid > 0 else 0) if bid_size < 0 else bid_size
    ask_size = (assumed if ask < 1 else 0) if ask_size < 0 else ask_size
    return MarketQuote(ticker, event, bracket, bid, ask, Decimal(bid_size), Decimal(ask_size))


def _log_growth(
    bankroll: Decimal, count: int, price: Decimal, fee: Decimal, q: float, won: bool
) -> tuple[float, float]:
    """Expected (under ``q``) and realised log growth of ``bankroll`` from buying ``count``."""
    w = float(bankroll)
    stake = float(count * price + fee)
    if w <= 0 or stake >= w:
        return math.nan, math.nan
    up, down = math.log((w - stake + count) / w), math.log((w - stake) / w)
    return q * up + (1 - q) * down, up if won else down


class _Run:
    """State of one replay (kept on an object so the loop body stays small)."""

    def __init__(
        self,
        config: BacktestConfig,
        rows: pd.DataFrame,
        tape: Tape,
        quotes: QuoteBook,
    ) -> None:
        self.config = config
        self.rows = rows
        self.tape = tape
        self.quotes = quotes
        self.limits = config.limits()
        self.strategy = make_strategy(config.strategy, config.strategy_params)
        self.account = Account(config.bankroll, config.risk, config.compound)
        self.latency = pd.Timedelta(seconds=config.latency_seconds)
        self.quote_age_ns = int(config.quote_max_age_seconds * 1e9)
        self.trades: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        self.halts: dict[str, int] = {}
        self.decisions = 0
        self._fees: dict[str, Any] = {}

    def fees(self, series: Any) -> Any:
        key = str(series) if isinstance(series, str) else ""
        if key not in self._fees:
            self._fees[key] = self.config.fees_for(key or None)
        return self._fees[key]

    def views(self, group: Sequence[Any], t_ns: int) -> tuple[MarketView, ...]:
        out = []
        lo_all, hi_all = min(r.lo for r in group), max(r.hi for r in group)
        size = self.limits.max_contracts_per_order
        for r in group:
            if not math.isfinite(r.p_model):
                continue
            bracket = Bracket.between(int(r.lo), int(r.hi))
            row = self.quotes.in_force(r.market_ticker, t_ns, self.quote_age_ns, strict=True)
            if row is not None:
                quote = _recorded_quote(
                    r.market_ticker, r.event_ticker, bracket, self.quotes, row, size
                )
            else:
                quote = _assumed_quote(
                    r.market_ticker,
                    r.event_ticker,
                    bracket,
                    r.ref_price,
                    self.config.half_spread_cents,
                    size,
                )
            out.append(
                MarketView(
                    ticker=r.market_ticker,
                    lo=int(r.lo),
                    hi=int(r.hi),
                    is_tail=bool(r.lo == lo_all or r.hi == hi_all),
                    p_yes=float(min(max(r.p_model, 0.0), 1.0)),
                    p_market=float(r.p_market),
                    quote=quote,
                    recorded=row is not None,
                    held_yes=self.account.held(r.market_ticker, "yes"),
                    held_no=self.account.held(r.market_ticker, "no"),
                )
            )
        return tuple(out)

    def decide(self, group: Sequence[Any]) -> None:
        first = group[0]
        t = first.decided_at
        t_ns = _ns(t)
        self.account.advance(t_ns)
        state = self.account.risk_state(t_ns)
        fees = self.fees(first.series_ticker)
        context = StrategyContext(
            decided_at=t,
            instant=str(first.instant),
            city=str(first.city),
            climate_date=first.climate_date,
            event_ticker=str(first.event_ticker),
            markets=self.views(group, t_ns),
            state=state,
            limits=self.limits,
            fees=fees,
        )
        self.decisions += 1
        halt = self.account.halt(t_ns, self.limits, state)
        intents: list[OrderIntent] = []
        if halt is None:
            intents = self.strategy.decide(context)
        else:
            self.halts[halt] = self.halts.get(halt, 0) + 1
        if self.config.exit == "sell_back":
            intents = [*intents, *exit_intents(context, self.config.exit_margin)]
        self.place(intents, group, context, halt is not None)

    def place(
        self,
        intents: Sequence[OrderIntent],
        group: Sequence[Any],
        context: StrategyContext,
        halted: bool,
    ) -> None:
        by_ticker = {r.market_ticker: r for r in group}
        state, limits = context.state, self.limits
        event_room = limits.max_event_exposure - state.exposure_of(context.event_ticker)
        total_room = limits.max_total_exposure - state.total_exposure
        for intent in intents:
            r = by_ticker.get(intent.ticker)
            if r is None or intent.count < 1 or not (ZERO < intent.limit < ONE):
                continue  # not a market of this event, or an order the exchange would refuse
            count = intent.count
            if intent.action == "buy":
                if halted:
                    continue
                count = cap_buy(
                    count,
                    intent.limit,
                    context.fees,
                    intent.liquidity,
                    event_room,
                    total_room,
                    limits,
                )
                if count < 1:
                    continue
                cost = count * intent.limit + fill_fee(
                    context.fees, intent.liquidity, count, intent.limit
                )
                event_room -= cost
                total_room -= cost
            else:
                count = min(count, self.account.held(intent.ticker, intent.side))
                if count < 1:
                    continue
            self.send(intent, count, r, context)

    def send(self, intent: OrderIntent, count: int, r: Any, context: StrategyContext) -> None:
        expires = r.expires_at
        sent = context.decided_at + self.latency
        if intent.liquidity == "maker":
            expires = min(expires, r.next_refit)
        elif self.config.taker_window_seconds is not None:
            expires = min(expires, sent + pd.Timedelta(seconds=self.config.taker_window_seconds))
        order_id = f"o{len(self.orders) + 1}"
        if sent >= expires:
            fills: list[Fill] = []
        else:
            order = Order(
                order_id,
                intent.ticker,
                intent.action,
                intent.side,
                count,
                intent.limit,
                intent.liquidity,
                sent,
                expires,
            )
            fills = fill_order(
                order,
                self.tape,
                self.quotes,
                context.fees,
                self.config.slippage_cents if intent.liquidity == "taker" else 0,
                self.config.quote_max_age_seconds,
            )
        filled = sum(f.count for f in fills)
        self.orders.append(
            {
                "order_id": order_id,
                "decided_at": context.decided_at,
                "sent_at": sent,
                "expires_at": expires,
                "market_ticker": intent.ticker,
                "event_ticker": context.event_ticker,
                "city": context.city,
                "climate_date": context.climate_date,
                "instant": context.instant,
                "action": intent.action,
                "side": intent.side,
                "count": count,
                "limit": intent.limit,
                "liquidity": intent.liquidity,
                "filled": filled,
                "p_model": intent.p_yes,
                "reason": intent.reason,
            }
        )
        if intent.action == "buy":
            unit = (
                intent.limit + fill_fee(context.fees, intent.liquidity, count, intent.limit) / count
            )
            self.account.rest(order_id, Resting(context.event_ticker, count, unit, _ns(expires)))
        bankroll = context.state.bankroll
        q = intent.p_yes if intent.side == "yes" else 1.0 - intent.p_yes
        won = bool(r.settled_yes == 1.0) == (intent.side == "yes")
        for fill in fills:
            row = len(self.trades)
            grow = (
                _log_growth(bankroll, fill.count, fill.price, fill.fee, q, won)
                if intent.action == "buy"
                else (math.nan, math.nan)
            )
            self.trades.append(
                {
                    "decided_at": context.decided_at,
                    "filled_at": fill.filled_at,
                    "market_ticker": intent.ticker,
                    "event_ticker": context.event_ticker,
                    "city": context.city,
                    "climate_date": context.climate_date,
                    "instant": context.instant,
                    "action": intent.action,
                    "side": intent.side,
                    "count": fill.count,
                    "price": fill.price,
                    "fee": fill.fee,
                    "liquidity": fill.liquidity,
                    "p_model": intent.p_yes,
                    "p_market": float(r.p_market),
                    "settled_yes": bool(r.settled_yes == 1.0),
                    "pnl": None,
                    "order_id": order_id,
                    "strategy": self.config.strategy,
                    "bankroll": bankroll,
                    "expected_log_growth": grow[0],
                    "realised_log_growth": grow[1],
                }
            )
            event = FillEvent(
                row,
                order_id,
                intent.ticker,
                context.event_ticker,
                intent.action,
                intent.side,
                fill.count,
                fill.price,
                fill.fee,
            )
            self.account.schedule_fill(_ns(fill.filled_at), event)


def run_backtest(
    config: BacktestConfig,
    predictions: pd.DataFrame,
    tape: pd.DataFrame,
    quotes: pd.DataFrame | None,
    markets: pd.DataFrame,
) -> BacktestResult:
    """Replay ``config`` over the recorded inputs (schemas in :mod:`.result`).

    Raises:
        InputError: For frames that do not fit their schema or a missing predictor.
        StrategyError: For an unknown strategy or invalid strategy parameters.
    """
    clock = time.perf_counter()
    rows, stats = _prepare(predictions, markets, config)
    traded = tape[tape["ticker"].isin(set(rows["market_ticker"]))] if len(rows) else tape.iloc[:0]
    book = Tape(traded.reset_index(drop=True))
    recorded = QuoteBook(quotes)
    requests = pd.DataFrame({"ticker": rows["market_ticker"], "at": rows["decided_at"]})
    window = timedelta(minutes=config.price_window_minutes)
    rows["ref_price"] = bracket_prices(traded, requests, window) if len(rows) else np.empty(0)
    prepared = time.perf_counter()

    run = _Run(config, rows, book, recorded)
    settling = rows.drop_duplicates("market_ticker")
    for market, at, settled_yes in zip(
        settling["market_ticker"], settling["settles_at"], settling["settled_yes"], strict=True
    ):
        run.account.schedule_settlement(str(market), _ns(at), bool(settled_yes == 1.0))
    keys = rows[["decided_at", "city", "event_ticker"]]
    starts = np.flatnonzero(keys.ne(keys.shift()).any(axis=1).to_numpy())
    bounds = [*starts.tolist(), len(rows)]
    records = list(rows[list(_RECORD_COLUMNS)].itertuples(index=False, name="Row"))
    for a, b in itertools.pairwise(bounds):
        run.decide(records[a:b])
    run.account.finish()
    replayed = time.perf_counter()

    trades = pd.DataFrame(run.trades, columns=[*TRADE_COLUMNS, *TRADE_EXTRA_COLUMNS])
    trades["pnl"] = [run.account.row_pnl.get(i, ZERO) for i in range(len(trades))]
    trades = trades.sort_values(["filled_at", "order_id"], kind="stable").reset_index(drop=True)
    orders = pd.DataFrame(run.orders, columns=list(ORDER_COLUMNS))
    if len(rows):
        first_day = rows["decided_at"].min()
        last_day = max(rows["settles_at"].max(), first_day)
        equity = run.account.equity_by_day(first_day, pd.Timestamp(last_day))
    else:
        equity = pd.DataFrame(columns=["date", "equity"])
    stats |= {
        "decisions": run.decisions,
        "orders": len(orders),
        "orders_filled": int((orders["filled"] > 0).sum()) if len(orders) else 0,
        "fills": len(trades),
        "contracts": int(trades["count"].sum()) if len(trades) else 0,
        "prints": len(book),
        "quotes": len(recorded),
        "halted_decisions": dict(sorted(run.halts.items())),
    }
    seconds = {
        "prepare": prepared - clock,
        "replay": replayed - prepared,
        "total": time.perf_counter() - clock,
    }
    return BacktestResult(config, trades, equity, orders, stats, seconds)


__all__ = ["InputError", "run_backtest"]

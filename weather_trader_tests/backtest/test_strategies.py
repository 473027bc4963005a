"""Strategies: the registry, each built-in rule, a user's own strategy and the sell-back exit."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from pydantic import BaseModel

from weather_trader.backtest.engine import run_backtest
from weather_trader.backtest.strategies import (
    MarketView,
    OrderIntent,
    StrategyContext,
    StrategyError,
    exit_intents,
    make_strategy,
    register_strategy,
    strategy_names,
)
from weather_trader.core.brackets import Bracket
from weather_trader.core.fees import WEATHER_SERIES_FEES
from weather_trader.core.trading import MarketQuote, RiskState
from weather_trader_tests.backtest.engine_support import (
    D1_16,
    DAY,
    EVENT,
    Print,
    config,
    markets,
    predictions,
    references,
    tape,
    ticker,
)


def view(
    i: int, p: float, bid: str, ask: str, tail: bool = False, held_yes: int = 0, held_no: int = 0
) -> MarketView:
    quote = MarketQuote(
        ticker(i),
        EVENT,
        Bracket.between(40 + i, 41 + i),
        Decimal(bid),
        Decimal(ask),
        Decimal(100),
        Decimal(100),
    )
    return MarketView(
        ticker(i), 40 + i, 41 + i, tail, p, float("nan"), quote, False, held_yes, held_no
    )


def context(*views: MarketView) -> StrategyContext:
    return StrategyContext(
        D1_16,
        "D-1 16:00",
        "CHI",
        DAY,
        EVENT,
        views,
        RiskState(bankroll=Decimal(1000)),
        config().limits(),
        WEATHER_SERIES_FEES,
    )


def test_the_registry_has_the_built_ins_and_refuses_unknowns() -> None:
    assert {"taker", "maker", "longshot"} <= set(strategy_names())
    with pytest.raises(StrategyError, match="unknown strategy 'nope'"):
        make_strategy("nope")
    with pytest.raises(StrategyError, match="invalid parameters for strategy 'maker'"):
        make_strategy("maker", {"half_width": -1})
    with pytest.raises(StrategyError):
        make_strategy("taker", {"anything": 1})


def test_taker_buys_what_decide_event_takes_at_the_ask() -> None:
    intents = make_strategy("taker").decide(
        context(view(0, 0.6, "0.39", "0.41"), view(1, 0.4, "0.39", "0.41"))
    )
    assert [(i.ticker, i.side, i.limit, i.liquidity) for i in intents] == [
        (ticker(0), "yes", Decimal("0.41"), "taker")
    ]
    assert intents[0].count == 10  # the per-order cap of the test config


def test_longshot_buys_no_only_on_overpriced_tails() -> None:
    strategy = make_strategy("longshot", {"margin": 0.05, "max_yes_price": 0.25})
    intents = strategy.decide(
        context(
            view(0, 0.05, "0.12", "0.14", tail=True),  # 0.12 - 0.05 >= margin: sell it
            view(1, 0.05, "0.12", "0.14"),  # not a tail
            view(2, 0.10, "0.12", "0.14", tail=True),  # margin not met
            view(3, 0.01, "0.30", "0.32", tail=True),  # too dear to be a longshot
        )
    )
    assert [(i.ticker, i.side, i.limit) for i in intents] == [(ticker(0), "no", Decimal("0.88"))]


def test_maker_quotes_post_only_below_fair_value_improving_the_book_by_a_cent() -> None:
    strategy = make_strategy("maker", {"half_width": 0.04})
    intents = strategy.decide(context(view(0, 0.60, "0.30", "0.70")))
    got = {(i.side, i.limit, i.liquidity) for i in intents}
    # YES: fair 0.60 - 0.04 = 0.56, but one cent above the 0.30 bid is enough: 0.31.
    # NO: fair 0.40 - 0.04 = 0.36 vs the NO bid 1 - 0.70 = 0.30: 0.31.
    assert got == {("yes", Decimal("0.31"), "maker"), ("no", Decimal("0.31"), "maker")}
    tight = strategy.decide(context(view(0, 0.60, "0.57", "0.59")))
    # Below fair value even behind the best bid (YES bid 0.57; NO bid 1 - 0.59 = 0.41).
    assert [(i.side, i.limit) for i in tight] == [("yes", Decimal("0.56")), ("no", Decimal("0.36"))]
    crossing = strategy.decide(context(view(0, 0.90, "0.50", "0.52")))
    # Post-only: YES at most a cent below the 0.52 ask (fair 0.86 would cross); NO at
    # 0.10 - 0.04.
    assert [(i.side, i.limit) for i in crossing] == [
        ("yes", Decimal("0.51")),
        ("no", Decimal("0.06")),
    ]


def test_sell_back_when_the_market_crosses_fair_value() -> None:
    ctx = context(
        view(0, 0.30, "0.40", "0.42", held_yes=5), view(1, 0.30, "0.31", "0.33", held_yes=5)
    )
    intents = exit_intents(ctx, Decimal("0.05"))
    assert [(i.ticker, i.action, i.side, i.count, i.limit) for i in intents] == [
        (ticker(0), "sell", "yes", 5, Decimal("0.40"))
    ]


class Always(BaseModel):
    count: int = 3


@register_strategy("test_always_yes", Always)
class AlwaysYes:
    """Buys YES on the first market at its ask, whatever the model says."""

    def __init__(self, params: Always) -> None:
        self.params = params

    def decide(self, context: StrategyContext) -> list[OrderIntent]:
        m = context.markets[0]
        return [
            OrderIntent(
                m.ticker, "buy", "yes", self.params.count, m.quote.yes_ask, "taker", m.p_yes
            )
        ]


def test_a_users_strategy_runs_by_name_within_the_risk_limits() -> None:
    prints = [*references([0.10, 0.40, 0.30]), Print(0, 60, 0.11, 50, "yes")]
    cfg = config(instants=["D-1 16:00"], strategy="test_always_yes", strategy_params={"count": 500})
    result = run_backtest(
        cfg, predictions({"D-1 16:00": [0.1, 0.6, 0.3]}), tape(prints), None, markets()
    )
    # Capped at the 10-contract per-order limit.
    assert result.orders[["market_ticker", "count"]].values.tolist() == [[ticker(0), 10]]
    assert result.trades["price"].tolist() == [Decimal("0.11")] * 1
    assert isinstance(result.trades["decided_at"].iloc[0], pd.Timestamp)

"""The replay: hand-computed P&L, no look-ahead, own positions, equity, risk limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from weather_trader.backtest.engine import run_backtest
from weather_trader.backtest.inputs import InputError
from weather_trader.backtest.result import EQUITY_COLUMNS, TRADE_COLUMNS, TRADE_EXTRA_COLUMNS
from weather_trader_tests.backtest.engine_support import (
    D1_16,
    D_08,
    EVENT,
    SETTLES,
    Print,
    config,
    markets,
    predictions,
    references,
    tape,
    ticker,
)

ONE_INSTANT = {"instants": ["D-1 16:00"]}
HAND_TAPE = [
    *references([0.10, 0.40, 0.30]),
    Print(1, 600, 0.40, 4, "yes"),
    Print(1, 1200, 0.42, 5, "yes"),
    Print(1, 1800, 0.41, 3, "no"),
    Print(1, 2400, 0.41, 10, "yes"),
]


def test_a_tiny_replay_gives_the_hand_computed_pnl() -> None:
    # Reference 0.40 -> assumed book 0.39 / 0.41. Ours 0.60 on the middle bracket: buy YES at
    # 0.41, Kelly far above the 10-contract cap. Later offers: 4 @ 0.40 (fee ceil(0.0672) =
    # 0.07), 0.42 too dear, a taker selling is the wrong side, then 6 of 10 @ 0.41 (fee
    # ceil(0.101598) = 0.11). It settles YES: 4 * 0.60 - 0.07 + 6 * 0.59 - 0.11 = 5.76.
    result = run_backtest(
        config(**ONE_INSTANT),
        predictions({"D-1 16:00": [0.1, 0.6, 0.3]}),
        tape(HAND_TAPE),
        None,
        markets(winner=1),
    )
    t = result.trades
    assert list(t.columns) == [*TRADE_COLUMNS, *TRADE_EXTRA_COLUMNS]
    assert t[["count", "price", "fee", "pnl"]].values.tolist() == [
        [4, Decimal("0.40"), Decimal("0.07"), Decimal("2.33")],
        [6, Decimal("0.41"), Decimal("0.11"), Decimal("3.43")],
    ]
    assert set(t["action"]) == {"buy"} and set(t["side"]) == {"yes"}
    assert set(t["liquidity"]) == {"taker"} and t["settled_yes"].all()
    assert t["filled_at"].tolist() == [
        D1_16 + pd.Timedelta(minutes=10),
        D1_16 + pd.Timedelta(minutes=40),
    ]
    assert list(result.equity.columns) == list(EQUITY_COLUMNS)
    assert result.equity["equity"].tolist() == [Decimal(1000), Decimal(1000), Decimal("1005.76")]
    assert result.equity["date"].tolist() == [
        date(2025, 1, 9),
        date(2025, 1, 10),
        date(2025, 1, 11),
    ]
    assert result.orders["filled"].tolist() == [10]


def test_losing_side_pays_nothing() -> None:
    result = run_backtest(
        config(**ONE_INSTANT),
        predictions({"D-1 16:00": [0.1, 0.6, 0.3]}, winner=2),
        tape(HAND_TAPE),
        None,
        markets(winner=2),
    )
    assert sum(result.trades["pnl"]) == -(
        4 * Decimal("0.40") + Decimal("0.07") + 6 * Decimal("0.41") + Decimal("0.11")
    )
    assert result.equity["equity"].iloc[-1] == Decimal(1000) + sum(result.trades["pnl"])


def test_prints_within_the_latency_are_not_ours() -> None:
    prints = [*references([0.10, 0.40, 0.30]), Print(1, 0.5, 0.40, 10, "yes")]
    kwargs = {"instants": ["D-1 16:00"], "latency_seconds": 1.0}
    result = run_backtest(
        config(**kwargs), predictions({"D-1 16:00": [0.1, 0.6, 0.3]}), tape(prints), None, markets()
    )
    assert result.trades.empty and result.orders["filled"].tolist() == [0]
    kwargs["latency_seconds"] = 0.1
    result = run_backtest(
        config(**kwargs), predictions({"D-1 16:00": [0.1, 0.6, 0.3]}), tape(prints), None, markets()
    )
    assert result.trades["count"].tolist() == [10]


def test_decisions_ignore_everything_recorded_from_the_instant_on() -> None:
    preds = predictions({"D-1 16:00": [0.1, 0.6, 0.3]})
    base = run_backtest(config(**ONE_INSTANT), preds, tape(HAND_TAPE), None, markets())
    # Wild prints at and after the instant change fills, never the order decided.
    later = [
        *HAND_TAPE,
        Print(1, 0, 0.95, 500, "no"),
        Print(1, 5, 0.02, 500, "yes"),
        Print(0, 60, 0.90, 500, "yes"),
        Print(2, 90, 0.01, 500, "no"),
    ]
    moved = run_backtest(config(**ONE_INSTANT), preds, tape(later), None, markets())
    columns = ["market_ticker", "action", "side", "count", "limit", "liquidity"]
    assert moved.orders[columns].equals(base.orders[columns])


def test_the_second_instant_sees_the_positions_really_held() -> None:
    # Both instants want the same YES at 0.41; the first order fills what was offered at or
    # below 0.41 before the second instant (4 + 10 + the next reference print's 1), so the
    # second asks for Kelly's target minus what is held.
    prints = [
        *HAND_TAPE,
        *references([0.10, 0.40, 0.30], at=D_08),
        Print(1, 600, 0.40, 100, "yes", at=D_08),
    ]
    cfg = config(
        risk={
            "max_order_cost": "1000",
            "max_event_exposure": "1000",
            "max_total_exposure": "1000",
            "max_contracts_per_order": 1000,
        }
    )
    preds = predictions({"D-1 16:00": [0.1, 0.6, 0.3], "D 08:00": [0.1, 0.6, 0.3]})
    result = run_backtest(cfg, preds, tape(prints), None, markets())
    first, second = result.orders.sort_values("decided_at")["count"].tolist()
    filled_first = int(result.orders["filled"].iloc[0])
    assert filled_first == 15
    assert second == first - filled_first
    # The first order expired at the second instant: no fill after D 08:00 belongs to it.
    o1 = result.trades[result.trades["order_id"] == "o1"]
    assert (o1["filled_at"] < D_08).all()


def test_recorded_quotes_set_the_book_and_fill_the_taker() -> None:
    quotes = pd.DataFrame(
        {
            "ticker": [ticker(1), ticker(1)],
            "at": [D1_16 - pd.Timedelta(seconds=30), D1_16 + pd.Timedelta(seconds=1)],
            "yes_bid": [0.36, 0.36],
            "yes_ask": [0.38, 0.37],
            "yes_bid_size": [5.0, 5.0],
            "yes_ask_size": [7.0, 7.0],
        }
    )
    result = run_backtest(
        config(**ONE_INSTANT),
        predictions({"D-1 16:00": [0.1, 0.6, 0.3]}),
        tape(HAND_TAPE),
        quotes,
        markets(),
    )
    # Decided on the quote before the instant (ask 0.38, 7 offered); filled at the quote in
    # force on arrival (ask 0.37, 7), immediate-or-cancel.
    assert result.orders[["count", "limit", "filled"]].values.tolist() == [[7, Decimal("0.38"), 7]]
    assert result.trades[["count", "price"]].values.tolist() == [[7, Decimal("0.37")]]


def test_events_without_an_outcome_are_not_traded() -> None:
    result = run_backtest(
        config(**ONE_INSTANT),
        predictions({"D-1 16:00": [0.1, 0.6, 0.3]}, winner=None),
        tape(HAND_TAPE),
        None,
        markets(winner=None),
    )
    assert result.trades.empty and result.stats["events_without_outcome"] == 1


def test_the_walk_outcome_settles_when_the_market_has_no_result() -> None:
    result = run_backtest(
        config(**ONE_INSTANT),
        predictions({"D-1 16:00": [0.1, 0.6, 0.3]}),
        tape(HAND_TAPE),
        None,
        markets(winner=None),
    )
    assert sum(result.trades["pnl"]) == Decimal("5.76")


def test_a_missing_predictor_or_column_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no predictor 'weather'"):
        run_backtest(
            config(predictor="weather"),
            predictions({"D-1 16:00": [0.1, 0.6, 0.3]}),
            tape(HAND_TAPE),
            None,
            markets(),
        )
    with pytest.raises(InputError, match="missing columns"):
        run_backtest(
            config(),
            predictions({"D-1 16:00": [0.1, 0.6, 0.3]}).drop(columns="lo"),
            tape(HAND_TAPE),
            None,
            markets(),
        )


# -- many events ---------------------------------------------------------------------------------


def random_world(n_days: int = 12, seed: int = 5, wrong: bool = False) -> tuple[pd.DataFrame, ...]:
    """``n_days`` Chicago events with noisy probabilities and a random tape around them
    (``wrong``: the model favours a losing bracket)."""
    rng = np.random.default_rng(seed)
    preds, tapes, markets_ = [], [], []
    for k in range(n_days):
        day = date(2025, 1, 10) + timedelta(days=k)
        event = f"KXHIGHCHI-D{k:02d}"
        shift = pd.Timedelta(days=k)
        winner = int(rng.integers(0, 3))
        truth = np.full(3, 0.1)
        truth[(winner + 1) % 3 if wrong else winner] = 0.8
        instants = {"D-1 16:00": D1_16 + shift, "D 08:00": D_08 + shift}
        probs = {
            label: list(np.clip(truth + rng.normal(0, 0.2, 3), 0.01, 0.99)) for label in instants
        }
        preds.append(
            predictions(probs, winner, event, day, instants=instants, p_market=[0.3, 0.4, 0.3])
        )
        markets_.append(
            markets(winner, event, day, close=pd.Timestamp("2025-01-11T05:59Z") + shift)
        )
        for at in instants.values():
            prints = [
                Print(
                    int(rng.integers(0, 3)),
                    float(s),
                    float(rng.integers(2, 98)) / 100,
                    float(rng.integers(1, 30)),
                    str(rng.choice(["yes", "no"])),
                    at,
                    event,
                )
                for s in rng.uniform(-3600, 16 * 3600, 60)
            ]
            tapes.append(tape(prints))
    t = pd.concat(tapes, ignore_index=True)
    t["trade_id"] = [f"t{i}" for i in range(len(t))]
    return pd.concat(preds, ignore_index=True), t, pd.concat(markets_, ignore_index=True)


WORLD_CONFIG = {
    "start": date(2025, 1, 10),
    "end": date(2025, 2, 1),
    "risk": {
        "max_order_cost": "40",
        "max_event_exposure": "60",
        "max_total_exposure": "150",
        "max_contracts_per_order": 60,
    },
}


@pytest.mark.parametrize(
    "changes",
    [
        {"strategy": "taker"},
        {"strategy": "taker", "exit": "sell_back", "slippage_cents": 1},
        {"strategy": "maker"},
        {"strategy": "maker", "exit": "sell_back"},
        {"strategy": "longshot", "strategy_params": {"margin": 0.0, "max_yes_price": 0.9}},
    ],
)
def test_equity_is_bankroll_plus_the_sum_of_trade_pnl(changes: dict[str, object]) -> None:
    preds, t, m = random_world()
    result = run_backtest(config(**WORLD_CONFIG, **changes), preds, t, None, m)
    assert len(result.trades) > 0
    total = sum(result.trades["pnl"], Decimal(0))
    assert result.equity["equity"].iloc[-1] == Decimal(1000) + total
    # Each day's equity change is the P&L realised that day; the last day has settled all.
    assert result.equity["date"].iloc[-1] == (SETTLES + pd.Timedelta(days=11)).date()
    # Never more exposure than the limits allow, counted at the order's limit price.
    per_order = result.orders["count"] * result.orders["limit"]
    assert (per_order[result.orders["action"] == "buy"] <= Decimal(40)).all()


def test_sell_back_sells_only_what_is_held() -> None:
    preds, t, m = random_world(seed=9)
    result = run_backtest(config(**WORLD_CONFIG, exit="sell_back"), preds, t, None, m)
    trades = result.trades
    assert (trades["action"] == "sell").any()
    net = trades.assign(signed=np.where(trades["action"] == "buy", 1, -1) * trades["count"])
    held = net.sort_values("filled_at").groupby(["market_ticker", "side"])["signed"].cumsum()
    assert (held >= 0).all()


def test_total_exposure_binds_across_events() -> None:
    preds, t, m = random_world()
    tight = {**WORLD_CONFIG, "risk": {**WORLD_CONFIG["risk"], "max_total_exposure": "5"}}
    result = run_backtest(config(**tight), preds, t, None, m)
    buys = result.orders[result.orders["action"] == "buy"]
    assert len(buys) > 0
    assert (buys["count"] * buys["limit"] <= Decimal(5)).all()


def test_kill_switch_trades_nothing() -> None:
    preds, t, m = random_world()
    risk = {**WORLD_CONFIG["risk"], "kill_switch": True}
    result = run_backtest(config(**{**WORLD_CONFIG, "risk": risk}), preds, t, None, m)
    assert result.orders.empty and result.trades.empty
    assert result.stats["halted_decisions"] == {"kill_switch": result.stats["decisions"]}
    assert result.equity["equity"].tolist() == [Decimal(1000)] * len(result.equity)


def test_cooldown_and_drawdown_kill_halt_new_positions() -> None:
    preds, t, m = random_world(n_days=20, seed=11, wrong=True)
    free = run_backtest(config(**WORLD_CONFIG), preds, t, None, m)
    assert (free.trades["pnl"] < 0).any()
    cooled = run_backtest(
        config(
            **{
                **WORLD_CONFIG,
                "risk": {**WORLD_CONFIG["risk"], "cooldown_after_losses": 1, "cooldown_hours": 48},
            }
        ),
        preds,
        t,
        None,
        m,
    )
    assert cooled.stats["halted_decisions"].get("cooldown", 0) > 0
    assert len(cooled.orders) < len(free.orders)
    killed = run_backtest(
        config(**{**WORLD_CONFIG, "risk": {**WORLD_CONFIG["risk"], "kill_drawdown": "0.01"}}),
        preds,
        t,
        None,
        m,
    )
    first_loss = min(
        SETTLES + pd.Timedelta(days=(row.climate_date - date(2025, 1, 10)).days)
        for row in free.trades.itertuples()
        if row.pnl < 0
    )
    assert killed.stats["halted_decisions"].get("kill_drawdown", 0) > 0
    assert (killed.orders["decided_at"] <= first_loss).all()


def test_daily_loss_limit_halts_for_the_rest_of_the_day() -> None:
    preds, t, m = random_world(n_days=20, seed=11, wrong=True)
    risk = {**WORLD_CONFIG["risk"], "daily_loss_limit": "0.01"}
    result = run_backtest(config(**{**WORLD_CONFIG, "risk": risk}), preds, t, None, m)
    assert result.stats["halted_decisions"].get("daily_loss_limit", 0) > 0


def test_the_same_inputs_give_the_same_result() -> None:
    preds, t, m = random_world()
    a = run_backtest(config(**WORLD_CONFIG, strategy="maker"), preds, t, None, m)
    b = run_backtest(config(**WORLD_CONFIG, strategy="maker"), preds, t, None, m)
    assert a.trades.equals(b.trades) and a.equity.equals(b.equity)


def test_only_configured_cities_days_and_instants_are_replayed() -> None:
    preds, t, m = random_world()
    result = run_backtest(
        config(**{**WORLD_CONFIG, "instants": ["D 08:00"], "end": date(2025, 1, 14)}),
        preds,
        t,
        None,
        m,
    )
    assert set(result.orders["instant"]) <= {"D 08:00"}
    assert result.orders["climate_date"].max() <= date(2025, 1, 14)
    assert result.stats["events"] == 5
    none = run_backtest(config(**{**WORLD_CONFIG, "cities": ["NYC"]}), preds, t, None, m)
    assert none.trades.empty and none.stats["events"] == 0


def test_trades_of_an_event_settle_with_its_outcome() -> None:
    preds, t, m = random_world()
    result = run_backtest(config(**WORLD_CONFIG), preds, t, None, m)
    winners = m.set_index("ticker")["result"].eq("yes")
    assert (result.trades["settled_yes"] == result.trades["market_ticker"].map(winners)).all()
    buys = result.trades[result.trades["action"] == "buy"]
    won = buys["settled_yes"] == (buys["side"] == "yes")
    expected = [
        (c * ((1 if w else 0) - p) - f)
        for c, p, f, w in zip(buys["count"], buys["price"], buys["fee"], won, strict=True)
    ]
    assert buys["pnl"].tolist() == expected  # no sells under "hold"
    assert EVENT not in set(result.trades["event_ticker"])  # the world names its own events


def test_maker_quotes_are_cancelled_when_the_model_version_changes() -> None:
    # A YES bid at 0.40 (one cent above the assumed 0.39 bid); a seller trades through it 3 h
    # later. When another decision 2 h in already uses model v2, the quote is gone by then.
    other = "KXHIGHCHI-25JAN11"
    later = {"D-1 16:00": D1_16 + pd.Timedelta(hours=2)}
    first = predictions({"D-1 16:00": [0.1, 0.6, 0.3]})
    second = predictions(
        {"D-1 16:00": [0.1, 0.6, 0.3]}, event=other, day=date(2025, 1, 11), instants=later
    )
    prints = [*references([0.10, 0.40, 0.30]), Print(1, 3 * 3600, 0.38, 5, "no")]
    all_markets = pd.concat([markets(), markets(event=other, day=date(2025, 1, 11))])
    cfg = config(
        instants=["D-1 16:00"],
        strategy="maker",
        end=date(2025, 1, 11),
        strategy_params={"sides": ["yes"]},
    )
    weekly = run_backtest(cfg, pd.concat([first, second]), tape(prints), None, all_markets)
    mine = weekly.trades[weekly.trades["event_ticker"] == EVENT]
    assert mine[["count", "price", "liquidity"]].values.tolist() == [[5, Decimal("0.40"), "maker"]]
    versioned = pd.concat([first.assign(model_version="v1"), second.assign(model_version="v2")])
    cancelled = run_backtest(cfg, versioned, tape(prints), None, all_markets)
    assert cancelled.trades[cancelled.trades["event_ticker"] == EVENT].empty
    order = cancelled.orders[cancelled.orders["event_ticker"] == EVENT].iloc[0]
    assert order["expires_at"] == D1_16 + pd.Timedelta(hours=2)


def test_a_taker_window_limits_how_long_a_tape_only_order_works() -> None:
    windowed = config(instants=["D-1 16:00"], taker_window_seconds=900)
    result = run_backtest(
        windowed, predictions({"D-1 16:00": [0.1, 0.6, 0.3]}), tape(HAND_TAPE), None, markets()
    )
    # Only the print 10 minutes in is within 15 minutes of arrival.
    assert result.trades["count"].tolist() == [4]
    assert result.orders["expires_at"].tolist() == [D1_16 + pd.Timedelta(seconds=901)]

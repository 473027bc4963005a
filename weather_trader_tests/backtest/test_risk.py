"""The simulated account: production's risk state, settlement P&L, halts and caps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from weather_trader.backtest.config import BacktestConfig, ConfigError, RiskConfig
from weather_trader.backtest.risk import Account, FillEvent, Resting, cap_buy
from weather_trader.core.fees import WEATHER_SERIES_FEES
from weather_trader.core.trading import Lot, risk_state_at
from weather_trader.settings import Settings

T = pd.Timestamp("2025-01-10T14:00Z")


def ns(stamp: pd.Timestamp) -> int:
    return int(stamp.value)


def test_the_risk_state_is_productions_for_the_same_lots() -> None:
    rng = np.random.default_rng(1)
    account = Account(Decimal(1000), RiskConfig())
    lots = []
    for k in range(40):
        bought = T + pd.Timedelta(hours=int(rng.integers(0, 96)))
        settles = bought + pd.Timedelta(hours=int(rng.integers(1, 40)))
        ticker, side = f"M{k % 7}", str(rng.choice(["yes", "no"]))
        count, price = int(rng.integers(1, 30)), Decimal(int(rng.integers(1, 99))) / 100
        fee = WEATHER_SERIES_FEES.taker(count, price)
        won = bool(rng.integers(0, 2))
        event = f"E{k % 3}"
        account.schedule_fill(
            ns(bought),
            FillEvent(k, f"o{k}", f"{ticker}-{k}", event, "buy", side, count, price, fee),
        )  # type: ignore[arg-type]
        account.schedule_settlement(f"{ticker}-{k}", ns(settles), won == (side == "yes"))
        pnl = count * ((1 if won else 0) - price) - fee
        lots.append(
            Lot(
                f"{ticker}-{k}",
                event,
                side,
                count,
                count * price + fee,  # type: ignore[arg-type]
                bought.to_pydatetime(),
                settles.to_pydatetime(),
                pnl,
            )
        )
    for hours in range(0, 140, 7):
        at = T + pd.Timedelta(hours=hours, minutes=30)
        account.advance(ns(at))
        ours = account.risk_state(ns(at))
        theirs = risk_state_at(Decimal(1000), lots, at.to_pydatetime())
        assert ours.total_exposure == theirs.total_exposure
        assert dict(ours.event_exposure) == {k: v for k, v in theirs.event_exposure.items() if v}
        assert dict(ours.held) == dict(theirs.held)
        assert ours.realised_pnl_today == theirs.realised_pnl_today
    account.finish()
    assert account.realised == sum((lot.pnl for lot in lots), Decimal(0))
    assert sum(account.row_pnl.values()) == account.realised


def test_resting_orders_reserve_exposure_until_they_fill_or_expire() -> None:
    account = Account(Decimal(1000), RiskConfig())
    account.rest("o1", Resting("E", 10, Decimal("0.30"), ns(T + pd.Timedelta(hours=2))))
    account.schedule_fill(
        ns(T + pd.Timedelta(hours=1)),
        FillEvent(0, "o1", "M", "E", "buy", "yes", 4, Decimal("0.30"), Decimal("0")),
    )
    assert account.risk_state(ns(T)).total_exposure == Decimal("3.00")
    account.advance(ns(T + pd.Timedelta(minutes=90)))
    state = account.risk_state(ns(T + pd.Timedelta(minutes=90)))
    assert state.total_exposure == Decimal("3.00")  # 4 held + 6 still resting, at 0.30
    assert state.held[("M", "yes")] == 4
    account.advance(ns(T + pd.Timedelta(hours=3)))
    assert account.risk_state(ns(T + pd.Timedelta(hours=3))).total_exposure == Decimal("1.20")


def test_a_sale_realises_against_fifo_cost_and_rows_sum_to_the_total() -> None:
    account = Account(Decimal(100), RiskConfig())
    buy = FillEvent(0, "o1", "M", "E", "buy", "yes", 10, Decimal("0.40"), Decimal("0.17"))
    sell = FillEvent(1, "o2", "M", "E", "sell", "yes", 4, Decimal("0.55"), Decimal("0.07"))
    account.schedule_fill(ns(T), buy)
    account.schedule_fill(ns(T + pd.Timedelta(hours=1)), sell)
    account.schedule_settlement("M", ns(T + pd.Timedelta(days=1)), settled_yes=False)
    account.finish()
    assert account.row_pnl[1] == 4 * Decimal("0.15") - Decimal("0.07")
    assert account.row_pnl[0] == -6 * Decimal("0.40") - Decimal("0.17")
    assert account.realised == sum(account.row_pnl.values())
    with pytest.raises(ValueError, match="sold 5 but held 0"):
        other = Account(Decimal(100), RiskConfig())
        other.schedule_fill(
            ns(T), FillEvent(0, "o", "X", "E", "sell", "no", 5, Decimal("0.5"), Decimal(0))
        )
        other.finish()


def test_cap_buy_fits_every_budget() -> None:
    limits = BacktestConfig(risk={"max_order_cost": "10", "max_contracts_per_order": 50}).limits()
    price = Decimal("0.41")
    n = cap_buy(1000, price, WEATHER_SERIES_FEES, "taker", Decimal(100), Decimal(100), limits)
    assert n * price + WEATHER_SERIES_FEES.taker(n, price) <= 10
    assert (n + 1) * price + WEATHER_SERIES_FEES.taker(n + 1, price) > 10
    assert (
        cap_buy(1000, price, WEATHER_SERIES_FEES, "taker", Decimal(3), Decimal(100), limits) == 7
    )  # 7 * 0.41 + 0.09 = 2.96
    assert cap_buy(1000, price, WEATHER_SERIES_FEES, "maker", Decimal(100), Decimal(0), limits) == 0
    assert (
        cap_buy(
            1000, Decimal("0.01"), WEATHER_SERIES_FEES, "maker", Decimal(100), Decimal(100), limits
        )
        == 50
    )


def test_config_defaults_are_productions_and_json_round_trips() -> None:
    fields = Settings.model_fields
    config = BacktestConfig()
    assert config.bankroll == fields["bankroll"].default
    assert config.kelly_fraction == fields["kelly_fraction"].default
    assert config.min_edge == fields["min_edge"].default
    for name in (
        "max_order_cost",
        "max_event_exposure",
        "max_total_exposure",
        "daily_loss_limit",
        "kill_switch",
    ):
        assert getattr(config.risk, name) == fields[name].default
    changed = config.with_changes(
        kelly_fraction=Decimal("0.1"),
        start=date(2024, 8, 16),
        fees={"KXHIGHNY": {"fee_type": "quadratic_with_maker_fees"}},
    )
    assert BacktestConfig.from_json(changed.to_json()) == changed
    assert changed.fees_for("KXHIGHNY").maker_fees and not changed.fees_for("KXHIGHCHI").maker_fees
    assert changed.to_jsonable()["bankroll"] == "1000"


def test_bad_configs_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="instants"):
        BacktestConfig.from_json('{"instants": ["noon"]}')
    with pytest.raises(ConfigError, match="start"):
        BacktestConfig.from_json('{"start": "2025-02-01", "end": "2025-01-01"}')
    with pytest.raises(ConfigError, match="fee_type"):
        BacktestConfig.from_json('{"default_fees": {"fee_type": "flat"}}')
    with pytest.raises(ConfigError):
        BacktestConfig.from_json("{not json")
    assert BacktestConfig(cities=["chi", "CHI", " nyc"]).cities == ["CHI", "NYC"]
    assert BacktestConfig(instants=["D-1 16:00", "D-1  16:00"]).instants == ["D-1 16:00"]

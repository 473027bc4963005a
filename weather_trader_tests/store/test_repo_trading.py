"""Decisions, orders, fills, positions, risk, settlements and P&L."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from weather_trader.core.records import OrderResult
from weather_trader.core.trading import risk_state_at
from weather_trader.store.db import StoreError, session_scope
from weather_trader.store.models import FillRow
from weather_trader.store.repo import (
    append_event,
    decisions_for,
    events_after,
    orders_for,
    pnl_summary,
    position_lots,
    positions_for,
    record_fills,
    record_order,
    replace_decisions,
    replace_markets,
    replace_settlements,
)
from weather_trader_tests.store.factories import DAY, EVENT, T0, fill, order, snapshot

COID = "wt-NYC-26MAY12-B73.5-yes-1"
TICKER = f"{EVENT}-B73.5"
SETTLED_AT = datetime(2026, 5, 13, 14, 0, tzinfo=UTC)


def _decisions(kind: str = "high", count: int = 10) -> pd.DataFrame:
    ticker = TICKER if kind == "high" else "KXLOWTNYC-26MAY12-B60.5"
    return pd.DataFrame(
        {
            "kind": [kind, kind],
            "as_of": pd.to_datetime([T0, T0], utc=True),
            "event_ticker": [EVENT, EVENT],
            "ticker": [ticker, ticker],
            "side": ["yes", "no"],
            "p_model": [0.45, 0.55],
            "price": [Decimal("0.35"), 0.67],
            "ev_per_contract": [Decimal("0.0840"), -0.13],
            "edge": [0.10, -0.12],
            "count": [count, 0],
            "cost": [Decimal("3.50"), 0],
            "fee": ["0.16", 0],
            "taken": [True, False],
            "reason": ["edge 0.10 >= 0.05", "negative EV"],
        }
    )


def _order(session: Session, coid: str = COID, **kw: object) -> bool:
    return record_order(
        session, order(coid, **kw), city="NYC", climate_date=DAY, kind="high",
        outcome_side="no" if kw.get("side") == "ask" else "yes", created_at=T0,
        reason="edge 0.10",
    )  # fmt: skip


def _settlements(pnl: str = "6.34", settled_yes: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["high"], "ticker": [TICKER], "outcome_side": ["yes"],
            "settled_value": [74], "settled_yes": [settled_yes], "count": [10],
            "cost": [Decimal("3.50")], "fees": [Decimal("0.16")],
            "payout": [Decimal("10") if settled_yes else Decimal("0")], "pnl": [Decimal(pnl)],
            "settled_at": [SETTLED_AT],
        }
    )  # fmt: skip


def test_replace_decisions_round_trips_and_is_idempotent(session: Session) -> None:
    assert replace_decisions(session, "NYC", DAY, _decisions()) == 2
    assert replace_decisions(session, "NYC", DAY, _decisions(count=12)) == 2
    replace_decisions(session, "NYC", DAY, _decisions("low"), kind="low")
    session.commit()
    df = decisions_for(session, "NYC", DAY, "high")
    assert list(df.columns) == [
        "city", "climate_date", "kind", "as_of", "taken", "event_ticker", "ticker", "side",
        "p_model", "price", "ev_per_contract", "edge", "count", "cost", "fee", "reason",
    ]  # fmt: skip
    assert len(df) == 2
    yes = df[df["side"] == "yes"].iloc[0]
    assert yes["count"] == 12
    assert yes["price"] == Decimal("0.35")
    assert isinstance(yes["price"], Decimal)
    assert yes["fee"] == Decimal("0.16")
    assert bool(yes["taken"]) is True
    assert yes["as_of"] == pd.Timestamp(T0)
    assert df[df["side"] == "no"].iloc[0]["ev_per_contract"] == Decimal("-0.13")
    assert len(decisions_for(session, "NYC", DAY)) == 4
    assert decisions_for(session, "NYC", DAY + timedelta(days=1)).empty


def test_replace_decisions_rejects_bad_money(session: Session) -> None:
    with pytest.raises(StoreError, match="price"):
        replace_decisions(session, "NYC", DAY, _decisions().assign(price=["x", "y"]))


def test_record_order_and_update(session: Session) -> None:
    assert orders_for(session).empty
    assert _order(session) is True
    assert orders_for(session)["status"].tolist() == ["pending"]
    assert _order(session) is False  # idempotent: no second row
    result = OrderResult(client_order_id=COID, status="filled", filled_count=10, fills=(fill(),))
    record_order(
        session, order(COID), city="NYC", climate_date=DAY, kind="high", outcome_side="yes",
        created_at=T0, result=result,
    )  # fmt: skip
    assert _order(session) is False  # recording it again without a result keeps the status
    session.commit()
    df = orders_for(session, "NYC", DAY)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["status"], row["filled_count"], row["reason"]) == ("filled", 10, "edge 0.10")
    assert row["price"] == Decimal("0.35")
    assert row["created_at"] == pd.Timestamp(T0)
    assert orders_for(session, "CHI").empty


def test_record_fills_builds_positions(session: Session) -> None:
    replace_markets(session, "NYC", DAY, [snapshot()])
    _order(session)
    no_coid = "wt-NYC-26MAY12-B73.5-no-1"
    _order(session, no_coid, side="ask", price=Decimal("0.40"), count=5)
    fills = [
        fill(count=4, fee=Decimal("0.07")),
        fill(count=6, fee=Decimal("0.10"), filled_at=T0 + timedelta(minutes=2)),
        fill(no_coid, side="ask", count=5, price=Decimal("0.40"), fee=Decimal("0.09")),
    ]
    assert record_fills(session, fills) == 3
    assert record_fills(session, fills) == 0  # already stored
    session.commit()
    assert session.scalar(select(func.count()).select_from(FillRow)) == 3
    positions = {p.outcome_side: p for p in positions_for(session, "NYC", DAY)}
    yes, no = positions["yes"], positions["no"]
    assert (yes.count, yes.cost, yes.fees) == (10, Decimal("3.5"), Decimal("0.17"))
    assert (no.count, no.cost, no.fees) == (5, Decimal("3.0"), Decimal("0.09"))  # 5 x (1 - 0.40)
    assert yes.event_ticker == EVENT
    assert not yes.settled


def test_record_fills_sells_at_average_cost(session: Session) -> None:
    _order(session)
    record_fills(session, [fill()])  # buy 10 YES at 0.35
    sell = "wt-sell-1"
    record_order(
        session, order(sell, side="ask", count=4, price=Decimal("0.50")), city="NYC",
        climate_date=DAY, kind="high", outcome_side="yes", created_at=T0,
    )  # fmt: skip
    record_fills(
        session, [fill(sell, side="ask", count=4, price=Decimal("0.50"), fee=Decimal("0.07"))]
    )
    (pos,) = positions_for(session)
    assert (pos.count, pos.cost) == (6, Decimal("2.1"))
    assert pos.realized_pnl == Decimal("0.6")  # 4 x (0.50 - 0.35)
    assert pos.fees == Decimal("0.23")
    assert pos.event_ticker == EVENT  # derived from the ticker when the market is unknown
    with pytest.raises(StoreError, match="only 6 are held"):
        record_fills(
            session,
            [
                fill(
                    sell,
                    side="ask",
                    count=7,
                    price=Decimal("0.50"),
                    filled_at=T0 + timedelta(hours=1),
                )
            ],
        )


def test_record_fills_rejects_unknown_or_mismatched_order(session: Session) -> None:
    with pytest.raises(StoreError, match="unknown order"):
        record_fills(session, [fill("nope")])
    _order(session)
    with pytest.raises(StoreError, match="disagrees"):
        record_fills(session, [fill(side="ask")])


def test_settlement_marks_positions_and_is_idempotent(session: Session) -> None:
    _order(session)
    record_fills(session, [fill()])
    assert replace_settlements(session, "NYC", DAY, _settlements()) == 1
    assert replace_settlements(session, "NYC", DAY, _settlements()) == 1
    session.commit()
    (pos,) = positions_for(session)
    assert pos.settled
    assert pos.realized_pnl == Decimal("6.34")
    assert positions_for(session, open_only=True) == []
    # a corrected CLI flips the outcome: the re-run replaces, never adds
    replace_settlements(session, "NYC", DAY, _settlements("-3.66", settled_yes=False))
    (pos,) = positions_for(session)
    assert pos.realized_pnl == Decimal("-3.66")
    summary = pnl_summary(session)
    assert list(summary.columns) == [
        "city", "climate_date", "markets", "contracts", "cost", "fees", "payout", "pnl",
    ]  # fmt: skip
    row = summary.iloc[0]
    assert (row["city"], row["climate_date"], row["markets"], row["contracts"]) == (
        "NYC",
        DAY,
        1,
        10,
    )
    assert (row["payout"], row["pnl"]) == (Decimal("0"), Decimal("-3.66"))
    with pytest.raises(StoreError, match="settled position"):
        record_fills(session, [fill(filled_at=T0 + timedelta(hours=2))])


def test_position_lots_give_the_point_in_time_risk(session: Session) -> None:
    assert position_lots(session) == []
    replace_markets(session, "NYC", DAY, [snapshot(), snapshot("T71", "greater", 71, None)])
    _order(session)
    other = "wt-NYC-26MAY12-T71-no-1"
    _order(session, other, ticker=f"{EVENT}-T71", side="ask", price=Decimal("0.80"), count=2)
    record_fills(
        session,
        [fill(), fill(other, ticker=f"{EVENT}-T71", side="ask", count=2, price=Decimal("0.80"))],
    )
    lots = position_lots(session)
    filled_at = T0 + timedelta(minutes=1)
    risk = risk_state_at(Decimal("1000"), lots, filled_at)
    assert risk.total_exposure == Decimal("4.22")  # 10 x 0.35 + 0.16 fee, 2 x 0.20 + 0.16 fee
    assert risk.event_exposure == {EVENT: Decimal("4.22")}
    assert risk.held == {(TICKER, "yes"): 10, (f"{EVENT}-T71", "no"): 2}
    assert risk_state_at(Decimal("1000"), lots, T0).total_exposure == 0  # before the fills
    replace_settlements(session, "NYC", DAY, _settlements("-3.66", settled_yes=False))
    lots = position_lots(session)
    still_open_then = risk_state_at(Decimal("1000"), lots, SETTLED_AT - timedelta(seconds=1))
    assert still_open_then.total_exposure == Decimal("4.22")
    after = risk_state_at(Decimal("1000"), lots, SETTLED_AT)
    assert after.total_exposure == Decimal("0.56")
    assert after.held == {(f"{EVENT}-T71", "no"): 2}
    assert after.realised_pnl_today == Decimal("-3.66")
    next_day = risk_state_at(Decimal("1000"), lots, SETTLED_AT + timedelta(days=1))
    assert next_day.realised_pnl_today == 0


def test_fill_and_event_commit_together_or_not_at_all(engine: Engine) -> None:
    with session_scope(engine) as s:
        _order(s)
    with pytest.raises(StoreError), session_scope(engine) as s:
        record_fills(s, [fill()])
        append_event(s, "fill", {"ticker": TICKER, "count": 10}, city="NYC", climate_date=DAY)
        record_fills(s, [fill("unknown")])  # fails after the event was appended
    with session_scope(engine) as s:
        assert positions_for(s) == []
        assert events_after(s, 0) == []
        assert s.scalar(select(func.count()).select_from(FillRow)) == 0

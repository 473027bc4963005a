"""Markets and books, distributions and bracket probabilities."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weather_trader.store.db import StoreError
from weather_trader.store.models import BookSnapshotRow, MarketRow
from weather_trader.store.repo import (
    bracket_probabilities_for,
    distribution_for,
    market_snapshots,
    replace_bracket_probabilities,
    replace_distribution,
    replace_markets,
    set_market_result,
)
from weather_trader.store.schemas import DistributionRecord
from weather_trader_tests.store.factories import DAY, EVENT, T0, snapshot

EVENT_MARKETS = [
    snapshot("T71", "greater", 71, None),
    snapshot("B70.5", "between", 70, 71),
    snapshot("T70", "less", None, 70),
]


def _books(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BookSnapshotRow)) or 0


def test_replace_markets_round_trips_latest_book(session: Session) -> None:
    assert replace_markets(session, "NYC", DAY, EVENT_MARKETS) == 3
    session.commit()
    got = market_snapshots(session, "NYC", DAY, "high")
    assert [s.ticker for s in got] == [f"{EVENT}-T70", f"{EVENT}-B70.5", f"{EVENT}-T71"]
    assert got[1] == EVENT_MARKETS[1]
    assert got[1].yes_bid == Decimal("0.33")
    assert got[1].yes_ask == Decimal("0.36")
    assert market_snapshots(session, "NYC", DAY, "low") == []

    later = T0 + timedelta(minutes=5)
    moved = snapshot(
        "B70.5", "between", 70, 71, captured_at=later, status="closed",
        no_bids=(), fee_multiplier=Decimal("0.5"),
    )  # fmt: skip
    assert replace_markets(session, "NYC", DAY, [moved]) == 1
    session.commit()
    got = {s.ticker: s for s in market_snapshots(session, "NYC", DAY, "high")}
    assert got[moved.ticker] == moved  # the newest book and the updated definition
    assert got[moved.ticker].yes_ask == Decimal("1")
    assert got[f"{EVENT}-T70"].captured_at == T0
    assert _books(session) == 4
    assert session.scalar(select(func.count()).select_from(MarketRow)) == 3
    # A replay at T0 must not see the book captured five minutes later.
    then = {s.ticker: s for s in market_snapshots(session, "NYC", DAY, "high", as_of=T0)}
    assert then[moved.ticker].captured_at == T0 and then[moved.ticker].yes_ask < Decimal("1")
    assert market_snapshots(session, "NYC", DAY, "high", as_of=T0 - timedelta(seconds=1)) == []


def test_replace_markets_rerun_does_not_duplicate(session: Session) -> None:
    replace_markets(session, "NYC", DAY, EVENT_MARKETS)
    replace_markets(session, "NYC", DAY, EVENT_MARKETS)
    session.commit()
    assert _books(session) == 3
    assert len(market_snapshots(session, "NYC", DAY, "high")) == 3


def test_replace_markets_rejects_other_partition(session: Session) -> None:
    with pytest.raises(StoreError, match="not NYC"):
        replace_markets(session, "NYC", DAY + timedelta(days=1), EVENT_MARKETS)


def test_set_market_result(session: Session) -> None:
    replace_markets(session, "NYC", DAY, EVENT_MARKETS)
    set_market_result(session, f"{EVENT}-T71", result="yes", settled_value=75)
    market = session.get(MarketRow, f"{EVENT}-T71")
    assert market is not None
    assert (market.result, market.settled_value) == ("yes", 75)
    with pytest.raises(StoreError, match="unknown market"):
        set_market_result(session, "NOPE", result="no", settled_value=None)


def _dist(**kw: object) -> DistributionRecord:
    values: dict[str, object] = {
        "city": "NYC", "climate_date": DAY, "kind": "high", "as_of": T0, "method": "emos",
        "model_version": "xgb-2026-05-01", "mu": 74.2, "sigma": 2.1, "n_forecasts": 41,
        "extra": {"quantiles": [71.5, 74.2, 76.9], "bias": Decimal("0.25")},
    }  # fmt: skip
    values.update(kw)
    return DistributionRecord.model_validate(values)


def test_replace_distribution_keeps_one_current_row(session: Session) -> None:
    assert distribution_for(session, "NYC", DAY, "high") is None
    replace_distribution(session, _dist())
    replace_distribution(session, _dist(kind="low", mu=60.0))
    newer = _dist(as_of=T0 + timedelta(hours=1), mu=75.0)
    replace_distribution(session, newer)
    session.commit()
    got = distribution_for(session, "NYC", DAY, "high")
    assert got is not None
    assert got.mu == 75.0
    assert got.as_of == newer.as_of
    assert got.extra == {"quantiles": [71.5, 74.2, 76.9], "bias": "0.25"}
    low = distribution_for(session, "NYC", DAY, "low")
    assert low is not None
    assert low.mu == 60.0


def _probs(kind: str = "high", p: float = 0.3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": [kind, kind],
            "ticker": [f"{EVENT}-{kind}-B70.5", f"{EVENT}-{kind}-T71"],
            "as_of": pd.to_datetime([T0, T0], utc=True),
            "p_model": [p, 1 - p],
            "p_market": [0.345, float("nan")],
            "yes_bid": [Decimal("0.33"), None],
            "yes_ask": [0.36, float("nan")],
        }
    )


def test_replace_bracket_probabilities_is_idempotent(session: Session) -> None:
    assert replace_bracket_probabilities(session, "NYC", DAY, _probs()) == 2
    assert replace_bracket_probabilities(session, "NYC", DAY, _probs(p=0.4)) == 2
    replace_bracket_probabilities(session, "NYC", DAY, _probs("low"), kind="low")
    session.commit()
    df = bracket_probabilities_for(session, "NYC", DAY, "high")
    assert list(df.columns) == [
        "city", "climate_date", "kind", "ticker", "as_of", "p_model", "p_market", "yes_bid",
        "yes_ask",
    ]  # fmt: skip
    assert df["p_model"].tolist() == [0.4, 0.6]
    assert df["yes_bid"].tolist() == [Decimal("0.3300"), None]
    assert df["yes_ask"].iloc[0] == Decimal("0.36")
    assert pd.isna(df["p_market"].iloc[1])
    assert df["as_of"].iloc[0] == pd.Timestamp(T0)
    assert len(bracket_probabilities_for(session, "NYC", DAY)) == 4
    # replacing one kind leaves the other alone
    replace_bracket_probabilities(session, "NYC", DAY, _probs().iloc[:1], kind="high")
    assert len(bracket_probabilities_for(session, "NYC", DAY)) == 3


def test_replace_bracket_probabilities_validates(session: Session) -> None:
    with pytest.raises(StoreError, match="missing columns"):
        replace_bracket_probabilities(session, "NYC", DAY, _probs().drop(columns=["p_model"]))
    with pytest.raises(StoreError, match="kind"):
        replace_bracket_probabilities(session, "NYC", DAY, _probs("low"), kind="high")
    with pytest.raises(StoreError, match="timezone-aware"):
        naive = _probs().assign(as_of=pd.Timestamp("2026-05-11 12:00"))
        replace_bracket_probabilities(session, "NYC", DAY, naive)

"""What the metrics read of the domain database: fetches per provider, orders and exposure,
the latest model version; empty tables give zeros and Nones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import (
    FillRow,
    ModelVersionRow,
    OrderRow,
    PositionRow,
    RawPayloadRow,
)

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY = date(2026, 11, 21)


def payload(source: str, status: int, at: datetime, n: int) -> RawPayloadRow:
    return RawPayloadRow(
        source=source, city="NYC", url=f"https://x/{n}", retrieved_at=at, status=status,
        content_type="application/json", sha256=f"{n:064d}", size_bytes=2, body_zlib=b"x",
    )  # fmt: skip


def order(cid: str, status: str, filled: int) -> OrderRow:
    return OrderRow(
        client_order_id=cid, city="NYC", climate_date=DAY, kind="high", ticker="KXHIGHNY-T1",
        side="bid", outcome_side="yes", count=5, price=Decimal("0.40"),
        time_in_force="immediate_or_cancel", status=status, filled_count=filled, created_at=T0,
        reason="",
    )  # fmt: skip


def test_empty_tables_read_as_zero(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert repo.weather_fetches(session) == {}
        counts = repo.trading_counts(session)
        model = repo.model_status(session, DAY)
    assert (counts.orders, counts.fills, counts.filled_contracts) == ({}, 0, 0)
    assert counts.open_exposure == 0
    assert (model.version, model.created_at, model.brier_model, model.events_scored) == (
        None, None, None, 0,
    )  # fmt: skip


def test_fetches_orders_exposure_and_model(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add_all([
            payload("nws", 200, T0 - timedelta(hours=2), 1),
            payload("nws", 503, T0 - timedelta(hours=1), 2),
            payload("open-meteo", 200, T0, 3),
            order("a", "filled", 5), order("b", "rejected", 0), order("c", "filled", 5),
        ])  # fmt: skip
        session.flush()
        session.add_all([
            FillRow(
                fill_id=f"f{i}", client_order_id=cid, ticker="KXHIGHNY-T1", side="bid", count=5,
                price=Decimal("0.40"), fee=Decimal("0.02"), is_taker=True, filled_at=T0,
            )
            for i, cid in enumerate(("a", "c"))
        ])  # fmt: skip
        session.add_all([
            PositionRow(
                ticker=f"KXHIGHNY-T{i}", outcome_side="yes", city="NYC", climate_date=DAY,
                kind="high", event_ticker="KXHIGHNY", count=count, cost=Decimal(cost),
                fees=Decimal("0"), realized_pnl=Decimal("0"), settled=settled,
            )
            for i, (count, cost, settled) in enumerate(
                [(5, "2.00", False), (3, "1.50", False), (4, "9.00", True), (0, "7.00", False)]
            )
        ])  # fmt: skip
        for version, at in (("v1", T0 - timedelta(days=8)), ("v2", T0 - timedelta(days=1))):
            session.add(
                ModelVersionRow(name="m", version=version, created_at=at, params={}, metrics={})
            )
    with session_scope(engine) as session:
        fetches = repo.weather_fetches(session)
        counts = repo.trading_counts(session)
        model = repo.model_status(session, DAY)
    assert fetches["nws"] == repo.ProviderFetches(2, 1, T0 - timedelta(hours=1))
    assert fetches["open-meteo"] == repo.ProviderFetches(1, 0, T0)
    assert counts.orders == {"filled": 2, "rejected": 1}
    assert (counts.fills, counts.filled_contracts) == (2, 10)
    assert counts.open_exposure == Decimal("3.50")
    assert (model.version, model.created_at) == ("v2", T0 - timedelta(days=1))
    assert model.brier_model is None  # nothing settled

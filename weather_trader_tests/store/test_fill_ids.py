"""Fills are keyed by the exchange's fill id: genuine look-alike fills both count, and the
0003 migration gives the fills stored before it deterministic ids."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from weather_trader.store.db import MIGRATIONS_DIR, migrate, session_scope
from weather_trader.store.models import FillRow
from weather_trader.store.repo import positions_for, record_fills, record_order
from weather_trader.store.types import MONEY, UTCDateTime
from weather_trader_tests.store.factories import DAY, T0, fill, order

COID = "wt-NYC-26MAY12-B73.5-yes-1"


def _order(session: Session, coid: str = COID) -> None:
    record_order(
        session, order(coid), city="NYC", climate_date=DAY, kind="high", outcome_side="yes",
        created_at=T0,
    )  # fmt: skip


def test_two_identical_fills_with_different_ids_both_count(engine: Engine) -> None:
    # The exchange filled 10 as two 5-lots at one price and instant (two makers matched).
    lots = [fill(count=5, fill_id="f-a", trade_id="t-a"), fill(count=5, fill_id="f-b")]
    with session_scope(engine) as session:
        _order(session)
        assert record_fills(session, lots) == 2
    with session_scope(engine) as session:
        assert record_fills(session, lots) == 0  # a re-delivery changes nothing
        assert record_fills(session, [lots[1]]) == 0
        (position,) = positions_for(session)
        stored = session.execute(select(FillRow.fill_id, FillRow.trade_id, FillRow.count)).all()
    assert position.count == 10
    assert position.cost == Decimal("3.5")
    assert sorted(stored) == [("f-a", "t-a", 5), ("f-b", None, 5)]


def _alembic(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


# The fills table as revision 0002 left it (no fill ids).
LEGACY_FILLS = sa.Table(
    "fills",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("client_order_id", sa.String(64)),
    sa.Column("ticker", sa.String(64)),
    sa.Column("side", sa.String(3)),
    sa.Column("count", sa.Integer),
    sa.Column("price", MONEY),
    sa.Column("fee", MONEY),
    sa.Column("is_taker", sa.Boolean),
    sa.Column("filled_at", UTCDateTime()),
)


def test_upgrade_from_0002_gives_existing_fills_legacy_ids(engine: Engine) -> None:
    _alembic(engine, "downgrade", "0002")
    base = fill(count=4)
    with session_scope(engine) as session:
        _order(session)
    with engine.begin() as conn:
        for minutes in (1, 2):
            values = base.model_dump(exclude={"fill_id", "trade_id"})
            values["filled_at"] = T0 + timedelta(minutes=minutes)
            conn.execute(LEGACY_FILLS.insert().values(**values))

    migrate(engine)

    with session_scope(engine) as session:
        rows = session.execute(select(FillRow.id, FillRow.fill_id, FillRow.trade_id)).all()
        assert sorted((fill_id, trade_id) for _, fill_id, trade_id in rows) == [
            (f"legacy-{row_id}", None) for row_id, _, _ in sorted(rows)
        ]
        # The legacy rows keep their place; a new fill with the exchange's id is stored next.
        assert record_fills(session, [fill(count=2, fill_id="f-new")]) == 1
        assert session.scalar(select(sa.func.count()).select_from(FillRow)) == 3


def test_downgrade_to_0002_and_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        _order(session)
        record_fills(session, [fill(count=5, fill_id="f-a")])
    _alembic(engine, "downgrade", "0002")
    with engine.connect() as conn:
        assert "fill_id" not in {c["name"] for c in sa.inspect(conn).get_columns("fills")}
    migrate(engine)
    with session_scope(engine) as session:
        ((row_id, fill_id),) = session.execute(select(FillRow.id, FillRow.fill_id)).all()
    assert fill_id == f"legacy-{row_id}"  # the exchange's id is lost with the column

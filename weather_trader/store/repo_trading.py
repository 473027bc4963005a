"""Repository functions for trading: decisions, orders, fills, positions, settlements, P&L."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weather_trader.core.cities import Kind
from weather_trader.core.records import Fill, OrderRequest, OrderResult
from weather_trader.core.settlement import SettledPosition
from weather_trader.core.trading import DECISION_RECORD_FIELDS, Lot
from weather_trader.store._util import (
    aware,
    check_kind,
    frame,
    money,
    partition_delete,
    partition_rows,
    typed,
)
from weather_trader.store.db import StoreError
from weather_trader.store.models import (
    DecisionRow,
    FillRow,
    MarketRow,
    OrderRow,
    PositionRow,
    SettlementRow,
)
from weather_trader.store.schemas import OutcomeSide, PositionRecord

DECISION_INPUT_COLUMNS = ("kind", "as_of", "taken", *DECISION_RECORD_FIELDS)
DECISION_COLUMNS = ("city", "climate_date", *DECISION_INPUT_COLUMNS)
ORDER_COLUMNS = (
    "client_order_id",
    "city",
    "climate_date",
    "kind",
    "ticker",
    "side",
    "outcome_side",
    "count",
    "price",
    "time_in_force",
    "status",
    "filled_count",
    "created_at",
    "reason",
)
SETTLEMENT_INPUT_COLUMNS = tuple(f.name for f in dataclasses.fields(SettledPosition))
PNL_COLUMNS = ("city", "climate_date", "markets", "contracts", "cost", "fees", "payout", "pnl")
ONE = Decimal("1")


def replace_decisions(
    session: Session, city: str, day: date, rows: pd.DataFrame, kind: Kind | None = None
) -> int:
    """Replace the city-day's trade decisions (only ``kind``'s when given) with ``rows``.

    Args:
        session: The session (the caller's transaction).
        city: City code.
        day: Climate day.
        rows: One row per candidate with columns ``kind`` "high"/"low", ``as_of`` aware
            datetime, ``event_ticker`` str, ``ticker`` str, ``side`` "yes"/"no",
            ``p_model`` float (our probability of ``side``), ``price`` dollars per contract,
            ``ev_per_contract`` dollars, ``edge`` float (p_model - price), ``count`` int,
            ``cost`` dollars, ``fee`` dollars (money as Decimal, float or str),
            ``taken`` bool, ``reason`` str.
        kind: Replace only this kind's rows (every row must be of it); None replaces both.

    Returns:
        The number of decisions stored.

    Raises:
        StoreError: On missing columns, a row of the wrong kind or a bad money value.
    """
    records = partition_rows(rows, DECISION_INPUT_COLUMNS, kind, "decisions")
    session.execute(partition_delete(DecisionRow, city, day, kind))
    session.add_all(
        DecisionRow(
            city=city,
            climate_date=day,
            kind=r["kind"],
            as_of=aware(r["as_of"], "as_of"),
            event_ticker=r["event_ticker"],
            ticker=r["ticker"],
            side=r["side"],
            p_model=float(r["p_model"]),
            price=money(r["price"], "price"),
            ev_per_contract=money(r["ev_per_contract"], "ev_per_contract"),
            edge=float(r["edge"]),
            count=int(r["count"]),
            cost=money(r["cost"], "cost"),
            fee=money(r["fee"], "fee"),
            taken=bool(r["taken"]),
            reason=str(r["reason"] or ""),
        )
        for r in records
    )
    session.flush()
    return len(records)


def decisions_for(session: Session, city: str, day: date, kind: Kind | None = None) -> pd.DataFrame:
    """The city-day's decisions (one kind's when given).

    Returns:
        Columns ``city``, ``climate_date`` (datetime.date) and those of
        :func:`replace_decisions`' input, with ``as_of`` datetime64[UTC], ``p_model`` and
        ``edge`` float, ``count`` int, ``taken`` bool, and ``price``, ``ev_per_contract``,
        ``cost``, ``fee`` as Decimal; sorted by kind, ticker, side.
    """
    check_kind(kind)
    stmt = select(*(getattr(DecisionRow, c) for c in DECISION_COLUMNS)).where(
        DecisionRow.city == city, DecisionRow.climate_date == day
    )
    if kind is not None:
        stmt = stmt.where(DecisionRow.kind == kind)
    df = frame(session.execute(stmt.order_by("kind", "ticker", "side")).all(), DECISION_COLUMNS)
    return typed(
        df,
        {
            "as_of": "datetime",
            "p_model": "float64",
            "edge": "float64",
            "count": "int64",
            "taken": "bool",
        },
    )


def record_order(
    session: Session,
    order: OrderRequest,
    *,
    city: str,
    climate_date: date,
    kind: Kind,
    outcome_side: OutcomeSide,
    created_at: datetime,
    result: OrderResult | None = None,
    reason: str = "",
) -> bool:
    """Record an order, or update its status when it is already recorded.

    Call it before sending (``result=None``: status ``pending``) and again with the broker's
    :class:`OrderResult`; :func:`record_fills` stores the fills.

    Args:
        session: The session (the caller's transaction).
        order: The order as sent.
        city: City code.
        climate_date: Climate day of the market.
        kind: ``high`` or ``low``.
        outcome_side: The outcome the order trades (``yes`` for bid-to-buy-YES, ``no`` for
            ask-to-buy-NO; the opposite pairs sell).
        created_at: When the order was created (aware).
        result: The broker's answer, if there is one yet.
        reason: Why the order was placed (kept unless ``result`` carries a reason).

    Returns:
        True if the order was new; False if it was already recorded (then only a given
        ``result`` updates its status, filled count and reason).
    """
    check_kind(kind)
    status = "pending" if result is None else result.status
    filled = 0 if result is None else result.filled_count
    row = session.scalars(
        select(OrderRow).where(OrderRow.client_order_id == order.client_order_id)
    ).one_or_none()
    if row is not None:
        if result is not None:
            row.status, row.filled_count = result.status, result.filled_count
            row.reason = result.reason or row.reason
            session.flush()
        return False
    session.add(
        OrderRow(
            client_order_id=order.client_order_id,
            city=city,
            climate_date=climate_date,
            kind=kind,
            ticker=order.ticker,
            side=order.side,
            outcome_side=outcome_side,
            count=order.count,
            price=order.price,
            time_in_force=order.time_in_force,
            status=status,
            filled_count=filled,
            created_at=aware(created_at, "created_at"),
            reason=(result.reason if result is not None and result.reason else reason),
        )
    )
    session.flush()
    return True


def orders_for(session: Session, city: str | None = None, day: date | None = None) -> pd.DataFrame:
    """Recorded orders, optionally of one city and/or climate day, oldest first.

    Returns:
        Columns ``client_order_id`` str, ``city`` str, ``climate_date`` datetime.date,
        ``kind`` str, ``ticker`` str, ``side`` "bid"/"ask", ``outcome_side`` "yes"/"no",
        ``count`` int, ``price`` Decimal (YES price), ``time_in_force`` str, ``status`` str,
        ``filled_count`` int, ``created_at`` datetime64[UTC], ``reason`` str.
    """
    stmt = select(*(getattr(OrderRow, c) for c in ORDER_COLUMNS)).order_by(
        OrderRow.created_at, OrderRow.id
    )
    if city is not None:
        stmt = stmt.where(OrderRow.city == city)
    if day is not None:
        stmt = stmt.where(OrderRow.climate_date == day)
    df = frame(session.execute(stmt).all(), ORDER_COLUMNS)
    return typed(df, {"count": "int64", "filled_count": "int64", "created_at": "datetime"})


def record_fills(session: Session, fills: Iterable[Fill]) -> int:
    """Store new fills and apply them to positions; fills already stored are skipped.

    A fill is known by its ``fill_id`` alone: two fills alike in every other field are two
    executions (one taker order matching two makers at one price) and both count.

    A fill that buys its order's outcome (bid + yes, ask + no) adds contracts and their cost
    (YES price for yes, 1 - YES price for no); one that sells removes contracts at their
    average cost and books the gross profit in ``realized_pnl``. Fees accumulate in ``fees``.

    Returns:
        The number of fills newly stored.

    Raises:
        StoreError: If a fill's order is unknown or disagrees with it, if it sells more than
            is held, or if its position is already settled.
    """
    fills = list(fills)
    orders = {
        o.client_order_id: o
        for o in session.scalars(
            select(OrderRow).where(OrderRow.client_order_id.in_({f.client_order_id for f in fills}))
        )
    }
    seen = set(
        session.scalars(
            select(FillRow.fill_id).where(FillRow.fill_id.in_({f.fill_id for f in fills}))
        )
    )
    stored = 0
    for f in fills:
        order = orders.get(f.client_order_id)
        if order is None:
            raise StoreError(f"fill for unknown order {f.client_order_id!r}")
        if (f.ticker, f.side) != (order.ticker, order.side):
            raise StoreError(f"fill {f!r} disagrees with its order ({order.ticker}, {order.side})")
        if f.fill_id in seen:
            continue
        seen.add(f.fill_id)
        session.add(
            FillRow(
                fill_id=f.fill_id,
                trade_id=f.trade_id,
                client_order_id=f.client_order_id,
                ticker=f.ticker,
                side=f.side,
                count=f.count,
                price=f.price,
                fee=f.fee,
                is_taker=f.is_taker,
                filled_at=f.filled_at,
            )
        )
        _apply_fill(session, order, f)
        stored += 1
    session.flush()
    return stored


def _apply_fill(session: Session, order: OrderRow, fill: Fill) -> None:
    position = session.scalars(
        select(PositionRow).where(
            PositionRow.ticker == order.ticker, PositionRow.outcome_side == order.outcome_side
        )
    ).one_or_none()
    if position is None:
        event_ticker = session.scalar(
            select(MarketRow.event_ticker).where(MarketRow.ticker == order.ticker)
        )
        position = PositionRow(
            ticker=order.ticker,
            outcome_side=order.outcome_side,
            city=order.city,
            climate_date=order.climate_date,
            kind=order.kind,
            event_ticker=event_ticker or order.ticker.rsplit("-", 1)[0],
            count=0,
            cost=Decimal("0"),
            fees=Decimal("0"),
            realized_pnl=Decimal("0"),
            settled=False,
        )
        session.add(position)
    if position.settled:
        raise StoreError(f"fill {fill!r} on settled position {order.ticker} {order.outcome_side}")
    unit = fill.price if order.outcome_side == "yes" else ONE - fill.price
    buys = (order.side == "bid") == (order.outcome_side == "yes")
    position.fees = money(position.fees + fill.fee)
    if buys:
        position.count += fill.count
        position.cost = money(position.cost + unit * fill.count)
        return
    if fill.count > position.count:
        raise StoreError(f"fill {fill!r} sells {fill.count} but only {position.count} are held")
    basis = money(position.cost * fill.count / position.count)
    position.count -= fill.count
    position.cost = money(position.cost - basis)
    position.realized_pnl = money(position.realized_pnl + unit * fill.count - basis)


def _to_position(p: PositionRow) -> PositionRecord:
    return PositionRecord(
        ticker=p.ticker,
        outcome_side=p.outcome_side,
        city=p.city,
        climate_date=p.climate_date,
        kind=p.kind,
        event_ticker=p.event_ticker,
        count=p.count,
        cost=p.cost,
        fees=p.fees,
        realized_pnl=p.realized_pnl,
        settled=p.settled,
    )


def positions_for(
    session: Session, city: str | None = None, day: date | None = None, open_only: bool = False
) -> list[PositionRecord]:
    """Positions, optionally of one city and/or climate day; ``open_only`` keeps unsettled
    positions still holding contracts. Ordered by city, climate day, ticker, outcome side."""
    stmt = select(PositionRow).order_by(
        PositionRow.city, PositionRow.climate_date, PositionRow.ticker, PositionRow.outcome_side
    )
    if city is not None:
        stmt = stmt.where(PositionRow.city == city)
    if day is not None:
        stmt = stmt.where(PositionRow.climate_date == day)
    if open_only:
        stmt = stmt.where(PositionRow.settled.is_(False), PositionRow.count > 0)
    return [_to_position(p) for p in session.scalars(stmt)]


def position_lots(session: Session) -> list[Lot]:
    """Every bought fill as a :class:`~weather_trader.core.trading.Lot`, with its settlement.

    A lot settles when its position's settlement was recorded (``settled_at``), and its P&L is
    its share of that settlement. Sells are not lots (the trading rule only buys).
    """
    stmt = (
        select(
            FillRow,
            OrderRow.outcome_side,
            PositionRow.event_ticker,
            SettlementRow.settled_at,
            SettlementRow.settled_yes,
        )
        .join(OrderRow, OrderRow.client_order_id == FillRow.client_order_id)
        .join(
            PositionRow,
            (PositionRow.ticker == FillRow.ticker)
            & (PositionRow.outcome_side == OrderRow.outcome_side),
        )
        .outerjoin(
            SettlementRow,
            (SettlementRow.ticker == FillRow.ticker)
            & (SettlementRow.outcome_side == OrderRow.outcome_side),
        )
        .where(
            ((FillRow.side == "bid") & (OrderRow.outcome_side == "yes"))
            | ((FillRow.side == "ask") & (OrderRow.outcome_side == "no"))
        )
    )
    lots = []
    for fill, outcome_side, event_ticker, settled_at, settled_yes in session.execute(stmt):
        price = fill.price if outcome_side == "yes" else ONE - fill.price
        exposure = fill.count * price + fill.fee
        pnl = None
        if settled_at is not None:
            won = (outcome_side == "yes") == settled_yes
            pnl = (Decimal(fill.count) if won else Decimal(0)) - exposure
        lots.append(
            Lot(
                fill.ticker,
                event_ticker,
                outcome_side,
                fill.count,
                exposure,
                fill.filled_at,
                settled_at,
                pnl,
            )
        )
    return lots


def replace_settlements(
    session: Session, city: str, day: date, rows: pd.DataFrame, kind: Kind | None = None
) -> int:
    """Replace the city-day's settlements (only ``kind``'s when given) and settle positions.

    Each settlement marks its position (same ticker and outcome side) settled and adds its
    ``pnl`` to the position's ``realized_pnl``; a re-run first reverses what the replaced
    settlements applied, so repeating it changes nothing.

    Args:
        session: The session (the caller's transaction).
        city: City code.
        day: Climate day.
        rows: One row per settled position with columns ``kind`` "high"/"low", ``ticker``
            str, ``outcome_side`` "yes"/"no", ``settled_value`` int or None (the CLI value),
            ``settled_yes`` bool, ``count`` int, ``cost``, ``fees``, ``payout``, ``pnl``
            dollars (pnl = payout - cost - fees), ``settled_at`` aware datetime.
        kind: Replace only this kind's rows (every row must be of it); None replaces both.

    Returns:
        The number of settlements stored.

    Raises:
        StoreError: On missing columns, a row of the wrong kind or a bad money value.
    """
    records = partition_rows(rows, SETTLEMENT_INPUT_COLUMNS, kind, "settlements")
    old = select(SettlementRow).where(SettlementRow.city == city, SettlementRow.climate_date == day)
    if kind is not None:
        old = old.where(SettlementRow.kind == kind)
    for s in session.scalars(old).all():
        position = _position(session, s.ticker, s.outcome_side)
        if position is not None and position.settled:
            position.realized_pnl = money(position.realized_pnl - s.pnl)
            position.settled = False
    session.execute(partition_delete(SettlementRow, city, day, kind))
    for r in records:
        pnl = money(r["pnl"], "pnl")
        session.add(
            SettlementRow(
                ticker=r["ticker"],
                outcome_side=r["outcome_side"],
                city=city,
                climate_date=day,
                kind=r["kind"],
                settled_value=None if r["settled_value"] is None else int(r["settled_value"]),
                settled_yes=bool(r["settled_yes"]),
                count=int(r["count"]),
                cost=money(r["cost"], "cost"),
                fees=money(r["fees"], "fees"),
                payout=money(r["payout"], "payout"),
                pnl=pnl,
                settled_at=aware(r["settled_at"], "settled_at"),
            )
        )
        position = _position(session, r["ticker"], r["outcome_side"])
        if position is not None:
            position.realized_pnl = money(position.realized_pnl + pnl)
            position.settled = True
    session.flush()
    return len(records)


def _position(session: Session, ticker: str, outcome_side: str) -> PositionRow | None:
    return session.scalars(
        select(PositionRow).where(
            PositionRow.ticker == ticker, PositionRow.outcome_side == outcome_side
        )
    ).one_or_none()


def pnl_summary(session: Session) -> pd.DataFrame:
    """Settled P&L per city and climate day.

    Returns:
        Columns ``city`` str, ``climate_date`` datetime.date, ``markets`` int (distinct
        tickers), ``contracts`` int, ``cost``, ``fees``, ``payout``, ``pnl`` Decimal dollars;
        sorted by city and climate_date.
    """
    stmt = (
        select(
            SettlementRow.city,
            SettlementRow.climate_date,
            func.count(func.distinct(SettlementRow.ticker)),
            func.sum(SettlementRow.count),
            func.sum(SettlementRow.cost),
            func.sum(SettlementRow.fees),
            func.sum(SettlementRow.payout),
            func.sum(SettlementRow.pnl),
        )
        .group_by(SettlementRow.city, SettlementRow.climate_date)
        .order_by(SettlementRow.city, SettlementRow.climate_date)
    )
    df = frame(session.execute(stmt).all(), PNL_COLUMNS)
    for column in ("cost", "fees", "payout", "pnl"):
        df[column] = [money(v) for v in df[column]]
    return typed(df, {"markets": "int64", "contracts": "int64"})

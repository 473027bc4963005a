"""Repository functions for markets, order books, distributions and bracket probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from weather_trader.core.cities import Kind
from weather_trader.core.records import BookLevel, MarketSnapshot, PublicTrade
from weather_trader.store._util import (
    aware,
    check_kind,
    frame,
    insert_ignoring_duplicates,
    jsonable,
    optional_money,
    partition_delete,
    partition_rows,
    typed,
)
from weather_trader.store.db import StoreError
from weather_trader.store.models import (
    BookSnapshotRow,
    BracketProbabilityRow,
    DistributionRow,
    MarketRow,
    MarketTradeRow,
)
from weather_trader.store.schemas import DistributionRecord

BRACKET_INPUT_COLUMNS = ("kind", "ticker", "as_of", "p_model", "p_market", "yes_bid", "yes_ask")
BRACKET_COLUMNS = ("city", "climate_date", *BRACKET_INPUT_COLUMNS)


def _levels(levels: Sequence[BookLevel]) -> list[list[str]]:
    return [[str(level.price), str(level.count)] for level in levels]


def replace_markets(
    session: Session, city: str, day: date, snapshots: Sequence[MarketSnapshot]
) -> int:
    """Upsert the markets of ``snapshots`` and append their order books.

    The market definition (strikes, status, close time, fees) is updated in place; a book
    snapshot is keyed by (ticker, captured_at), so storing the same snapshot again replaces it
    rather than duplicating it.

    Returns:
        The number of book snapshots written.

    Raises:
        StoreError: If a snapshot belongs to another city or climate day.
    """
    for s in snapshots:
        if (s.city, s.climate_date) != (city, day):
            raise StoreError(
                f"market {s.ticker} is for {s.city} {s.climate_date}, not {city} {day}"
            )
    for s in snapshots:
        values = {
            "event_ticker": s.event_ticker, "series_ticker": s.series_ticker, "city": s.city,
            "climate_date": s.climate_date, "kind": s.kind, "strike_type": s.strike_type,
            "floor_strike": s.floor_strike, "cap_strike": s.cap_strike, "title": s.title,
            "status": s.status, "close_time": s.close_time, "fee_multiplier": s.fee_multiplier,
        }  # fmt: skip
        market = session.get(MarketRow, s.ticker)
        if market is None:
            session.add(MarketRow(ticker=s.ticker, **values))
        else:
            for k, v in values.items():
                setattr(market, k, v)
    session.flush()
    books = {(s.ticker, s.captured_at.astimezone(UTC)): s for s in snapshots}
    for (ticker, captured_at), s in books.items():
        session.execute(
            delete(BookSnapshotRow).where(
                BookSnapshotRow.ticker == ticker, BookSnapshotRow.captured_at == captured_at
            )
        )
        session.add(
            BookSnapshotRow(
                ticker=ticker,
                city=city,
                climate_date=day,
                kind=s.kind,
                captured_at=captured_at,
                yes_bid=s.yes_bid,
                yes_ask=s.yes_ask,
                yes_bid_size=s.yes_bids[0].count if s.yes_bids else Decimal("0"),
                yes_ask_size=s.no_bids[0].count if s.no_bids else Decimal("0"),
                levels={"yes": _levels(s.yes_bids), "no": _levels(s.no_bids)},
            )
        )
    session.flush()
    return len(books)


def _book_levels(raw: list[list[str]]) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(price=Decimal(p), count=Decimal(c)) for p, c in raw)


def market_snapshots(
    session: Session, city: str, day: date, kind: Kind, as_of: datetime | None = None
) -> list[MarketSnapshot]:
    """The city-day's ``kind`` markets, each with its latest stored book (at ``as_of``).

    Args:
        session: The session.
        city: City code.
        day: Climate day.
        kind: ``high`` or ``low``.
        as_of: Only books captured at or before this instant (no look-ahead in replays).

    Returns:
        Snapshots ordered by strike (``less`` first, then ``between`` upwards, ``greater`` last).
    """
    check_kind(kind)
    books = select(
        BookSnapshotRow.ticker, func.max(BookSnapshotRow.captured_at).label("captured_at")
    )
    books = books.where(
        BookSnapshotRow.city == city,
        BookSnapshotRow.climate_date == day,
        BookSnapshotRow.kind == kind,
    )
    if as_of is not None:
        books = books.where(BookSnapshotRow.captured_at <= aware(as_of, "as_of"))
    latest = books.group_by(BookSnapshotRow.ticker).subquery()
    stmt = (
        select(MarketRow, BookSnapshotRow)
        .join(BookSnapshotRow, BookSnapshotRow.ticker == MarketRow.ticker)
        .join(
            latest,
            (latest.c.ticker == BookSnapshotRow.ticker)
            & (latest.c.captured_at == BookSnapshotRow.captured_at),
        )
    )
    out = [
        MarketSnapshot(
            ticker=m.ticker,
            event_ticker=m.event_ticker,
            series_ticker=m.series_ticker,
            city=m.city,
            climate_date=m.climate_date,
            kind=m.kind,
            strike_type=m.strike_type,
            floor_strike=m.floor_strike,
            cap_strike=m.cap_strike,
            title=m.title,
            status=m.status,
            captured_at=b.captured_at,
            close_time=m.close_time,
            yes_bids=_book_levels(b.levels["yes"]),
            no_bids=_book_levels(b.levels["no"]),
            fee_multiplier=m.fee_multiplier,
        )
        for m, b in session.execute(stmt).all()
    ]
    return sorted(out, key=lambda s: s.strike_order)


def set_market_result(
    session: Session, ticker: str, *, result: str, settled_value: int | None
) -> None:
    """Record a market's outcome (``result`` "yes"/"no") and the settled temperature.

    Raises:
        StoreError: If the market is unknown.
    """
    market = session.get(MarketRow, ticker)
    if market is None:
        raise StoreError(f"unknown market {ticker!r}")
    market.result = result
    market.settled_value = settled_value
    session.flush()


def replace_distribution(session: Session, dist: DistributionRecord) -> None:
    """Store ``dist`` as the current distribution of its city-day-kind (replacing any other)."""
    session.execute(partition_delete(DistributionRow, dist.city, dist.climate_date, dist.kind))
    session.add(
        DistributionRow(
            city=dist.city,
            climate_date=dist.climate_date,
            kind=dist.kind,
            as_of=dist.as_of,
            method=dist.method,
            model_version=dist.model_version,
            mu=dist.mu,
            sigma=dist.sigma,
            n_forecasts=dist.n_forecasts,
            # The observed bounds ride in the JSON column under their own names.
            extra=jsonable({**dist.extra, **_bounds(dist.floor, dist.cap)}),
        )
    )
    session.flush()


def distribution_for(
    session: Session, city: str, day: date, kind: Kind
) -> DistributionRecord | None:
    """The current distribution of the city-day's ``kind``, or None."""
    row = session.scalars(
        select(DistributionRow).where(
            DistributionRow.city == city,
            DistributionRow.climate_date == day,
            DistributionRow.kind == kind,
        )
    ).one_or_none()
    if row is None:
        return None
    extra = dict(row.extra)
    return DistributionRecord(
        city=row.city, climate_date=row.climate_date, kind=row.kind, as_of=row.as_of,
        method=row.method, model_version=row.model_version, mu=row.mu, sigma=row.sigma,
        n_forecasts=row.n_forecasts, floor=extra.pop("floor", None), cap=extra.pop("cap", None),
        extra=extra,
    )  # fmt: skip


def _bounds(floor: float | None, cap: float | None) -> dict[str, float]:
    return {k: v for k, v in (("floor", floor), ("cap", cap)) if v is not None}


def replace_bracket_probabilities(
    session: Session, city: str, day: date, rows: pd.DataFrame, kind: Kind | None = None
) -> int:
    """Replace the city-day's bracket probabilities (only ``kind``'s when given) with ``rows``.

    Args:
        session: The session (the caller's transaction).
        city: City code.
        day: Climate day.
        rows: One row per market with columns ``kind`` "high"/"low", ``ticker`` str,
            ``as_of`` aware datetime, ``p_model`` float (our P(YES)), ``p_market`` float or
            NaN (book mid), ``yes_bid`` and ``yes_ask`` Decimal/float dollars or NaN.
        kind: Replace only this kind's rows (every row must be of it); None replaces both.

    Returns:
        The number of rows stored.

    Raises:
        StoreError: On missing columns or a row of the wrong kind.
    """
    records = partition_rows(rows, BRACKET_INPUT_COLUMNS, kind, "bracket probabilities")
    session.execute(partition_delete(BracketProbabilityRow, city, day, kind))
    session.add_all(
        BracketProbabilityRow(
            city=city,
            climate_date=day,
            kind=r["kind"],
            ticker=r["ticker"],
            as_of=aware(r["as_of"], "as_of"),
            p_model=float(r["p_model"]),
            p_market=None if r["p_market"] is None else float(r["p_market"]),
            yes_bid=optional_money(r["yes_bid"], "yes_bid"),
            yes_ask=optional_money(r["yes_ask"], "yes_ask"),
        )
        for r in records
    )
    session.flush()
    return len(records)


def bracket_probabilities_for(
    session: Session, city: str, day: date, kind: Kind | None = None
) -> pd.DataFrame:
    """The city-day's bracket probabilities (one kind's when given).

    Returns:
        Columns ``city`` str, ``climate_date`` datetime.date, ``kind`` str, ``ticker`` str,
        ``as_of`` datetime64[UTC], ``p_model`` float, ``p_market`` float (NaN if none),
        ``yes_bid`` / ``yes_ask`` Decimal or None; sorted by kind and ticker.
    """
    check_kind(kind)
    stmt = select(*(getattr(BracketProbabilityRow, c) for c in BRACKET_COLUMNS)).where(
        BracketProbabilityRow.city == city, BracketProbabilityRow.climate_date == day
    )
    if kind is not None:
        stmt = stmt.where(BracketProbabilityRow.kind == kind)
    df = frame(session.execute(stmt.order_by("kind", "ticker")).all(), BRACKET_COLUMNS)
    return typed(df, {"as_of": "datetime", "p_model": "float64", "p_market": "float64"})


def append_trades(session: Session, trades: Sequence[PublicTrade]) -> int:
    """Append trades to the tape; a trade already recorded (same ``trade_id``) is skipped.

    Returns:
        The number of trades newly recorded.
    """
    rows = [
        {
            "trade_id": t.trade_id,
            "ticker": t.ticker,
            "traded_at": t.traded_at.astimezone(UTC),
            "yes_price": t.yes_price,
            "count": t.count,
            "taker_side": t.taker_side,
        }
        for t in trades
    ]
    return insert_ignoring_duplicates(session, MarketTradeRow, rows)


def trades_for(session: Session, ticker: str, start: datetime, end: datetime) -> list[PublicTrade]:
    """The recorded trades of ``ticker`` in ``[start, end)``, oldest first."""
    stmt = (
        select(MarketTradeRow)
        .where(
            MarketTradeRow.ticker == ticker,
            MarketTradeRow.traded_at >= aware(start, "start"),
            MarketTradeRow.traded_at < aware(end, "end"),
        )
        .order_by(MarketTradeRow.traded_at, MarketTradeRow.id)
    )
    return [
        PublicTrade(
            trade_id=row.trade_id,
            ticker=row.ticker,
            traded_at=row.traded_at,
            yes_price=row.yes_price,
            count=row.count,
            taker_side=row.taker_side,  # type: ignore[arg-type]
        )
        for row in session.scalars(stmt)
    ]

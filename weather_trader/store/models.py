"""SQLAlchemy ORM models of the domain database (not Dagster's own storage).

Per-partition tables carry ``city``, ``climate_date`` and (where it applies) ``kind`` columns and an
index on ``(city, climate_date)``. Money columns are ``NUMERIC(12, 4)`` read back as ``Decimal``;
temperatures are floats in degrees F; datetimes are timezone-aware UTC on every backend.
The Alembic migration in ``migrations/versions`` creates exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from weather_trader.store.types import COUNT, MONEY, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DETERMINISTIC_MEMBER = -1
"""``forecasts.member`` value of a deterministic run (a NULL would defeat the unique key)."""


class Base(DeclarativeBase):
    """Declarative base of the domain database with deterministic constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _partition(table: str, *, kind: bool = True) -> tuple[Any, ...]:
    """The ``(city, climate_date)`` index and the ``kind`` check shared by partition tables."""
    args: list[Any] = [Index(f"ix_{table}_city_climate_date", "city", "climate_date")]
    if kind:
        args.append(CheckConstraint("kind IN ('high', 'low')", name="kind"))
    return tuple(args)


class ForecastRow(Base):
    """One archived forecast value: append-only, never overwritten (point-in-time archive)."""

    __tablename__ = "forecasts"
    __table_args__ = (
        *_partition("forecasts"),
        UniqueConstraint(
            "city", "climate_date", "kind", "source", "model", "member", "issued_at",
            name="uq_forecasts_point",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    source: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    member: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retrieved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lead_days: Mapped[int] = mapped_column(Integer)
    value_f: Mapped[float] = mapped_column(Double)


class ObservationRow(Base):
    """One station temperature observation inside a city's climate day."""

    __tablename__ = "observations"
    __table_args__ = (
        *_partition("observations", kind=False),
        UniqueConstraint("city", "observed_at", name="uq_observations_city_observed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    station: Mapped[str] = mapped_column(String(8))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    temp_f: Mapped[float] = mapped_column(Double)


class ClimateReportRow(Base):
    """One Daily Climate Report (CLI) as issued; corrections are further rows."""

    __tablename__ = "climate_reports"
    __table_args__ = (
        *_partition("climate_reports", kind=False),
        UniqueConstraint(
            "product", "climate_date", "issued_at", name="uq_climate_reports_product_issue"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(16))
    max_f: Mapped[int | None] = mapped_column(Integer)
    min_f: Mapped[int | None] = mapped_column(Integer)
    final: Mapped[bool] = mapped_column(Boolean)
    correction: Mapped[bool] = mapped_column(Boolean)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)


class RawPayloadRow(Base):
    """A source response body exactly as received, zlib-compressed, kept for audit.

    Identical bodies are stored once (``sha256`` of the uncompressed body is unique); the first
    retrieval is kept. Archived forecasts link to it by ``(source, city, retrieved_at)``.
    """

    __tablename__ = "raw_payloads"
    __table_args__ = (
        UniqueConstraint("sha256", name="uq_raw_payloads_sha256"),
        Index("ix_raw_payloads_source_retrieved_at", "source", "retrieved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    retrieved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    body_zlib: Mapped[bytes] = mapped_column(LargeBinary)


class MarketRow(Base):
    """A Kalshi binary bracket market (the latest known definition and result)."""

    __tablename__ = "markets"
    __table_args__ = (
        *_partition("markets"),
        Index("ix_markets_event_ticker", "event_ticker"),
        CheckConstraint("strike_type IN ('between', 'less', 'greater')", name="strike_type"),
    )

    ticker: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_ticker: Mapped[str] = mapped_column(String(64))
    series_ticker: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    strike_type: Mapped[str] = mapped_column(String(8))
    floor_strike: Mapped[int | None] = mapped_column(Integer)
    cap_strike: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    close_time: Mapped[datetime] = mapped_column(UTCDateTime)
    fee_multiplier: Mapped[Decimal] = mapped_column(MONEY)
    result: Mapped[str | None] = mapped_column(String(8))
    settled_value: Mapped[int | None] = mapped_column(Integer)


class BookSnapshotRow(Base):
    """A market's order book at one instant: best prices plus both bid ladders as JSON.

    ``levels`` is ``{"yes": [[price, count], ...], "no": [[price, count], ...]}`` with decimal
    strings, best first.
    """

    __tablename__ = "book_snapshots"
    __table_args__ = (
        *_partition("book_snapshots"),
        UniqueConstraint("ticker", "captured_at", name="uq_book_snapshots_ticker_captured_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticker: Mapped[str] = mapped_column(String(64), ForeignKey("markets.ticker"))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    yes_bid: Mapped[Decimal] = mapped_column(MONEY)
    yes_ask: Mapped[Decimal] = mapped_column(MONEY)
    yes_bid_size: Mapped[Decimal] = mapped_column(COUNT)
    yes_ask_size: Mapped[Decimal] = mapped_column(COUNT)
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)


class MarketTradeRow(Base):
    """One public trade on a Kalshi market (the feed's tick archive for backtests)."""

    __tablename__ = "market_trades"
    __table_args__ = (
        UniqueConstraint("trade_id", name="uq_market_trades_trade_id"),
        Index("ix_market_trades_ticker_traded_at", "ticker", "traded_at"),
        CheckConstraint("taker_side IN ('yes', 'no')", name="taker_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str] = mapped_column(String(64))
    traded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    yes_price: Mapped[Decimal] = mapped_column(MONEY)
    count: Mapped[Decimal] = mapped_column(COUNT)
    taker_side: Mapped[str] = mapped_column(String(3))


class DistributionRow(Base):
    """The current predictive distribution of a city-day's high or low (re-runs replace it)."""

    __tablename__ = "distributions"
    __table_args__ = (
        *_partition("distributions"),
        UniqueConstraint("city", "climate_date", "kind", name="uq_distributions_partition"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(64))
    mu: Mapped[float] = mapped_column(Double)
    sigma: Mapped[float] = mapped_column(Double)
    n_forecasts: Mapped[int] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)


class BracketProbabilityRow(Base):
    """P(YES) of one market: our model's and the market's (mid), with the book it saw."""

    __tablename__ = "bracket_probabilities"
    __table_args__ = (
        *_partition("bracket_probabilities"),
        UniqueConstraint("ticker", name="uq_bracket_probabilities_ticker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    ticker: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    p_model: Mapped[float] = mapped_column(Double)
    p_market: Mapped[float | None] = mapped_column(Double)
    yes_bid: Mapped[Decimal | None] = mapped_column(MONEY)
    yes_ask: Mapped[Decimal | None] = mapped_column(MONEY)


class DecisionRow(Base):
    """One trade candidate with its expected value, size, risk verdict and reason."""

    __tablename__ = "decisions"
    __table_args__ = (
        *_partition("decisions"),
        UniqueConstraint("ticker", "side", "as_of", name="uq_decisions_ticker_side_as_of"),
        CheckConstraint("side IN ('yes', 'no')", name="side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    event_ticker: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(3))
    p_model: Mapped[float] = mapped_column(Double)
    price: Mapped[Decimal] = mapped_column(MONEY)
    ev_per_contract: Mapped[Decimal] = mapped_column(MONEY)
    edge: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(MONEY)
    fee: Mapped[Decimal] = mapped_column(MONEY)
    taken: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


class OrderRow(Base):
    """An order we sent (or are about to send), keyed by its deterministic client order id."""

    __tablename__ = "orders"
    __table_args__ = (
        *_partition("orders"),
        UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        CheckConstraint("side IN ('bid', 'ask')", name="side"),
        CheckConstraint("outcome_side IN ('yes', 'no')", name="outcome_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    ticker: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(3))
    outcome_side: Mapped[str] = mapped_column(String(3))
    count: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(MONEY)
    time_in_force: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(20))
    filled_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)


class FillRow(Base):
    """One execution of (part of) an order, keyed by the exchange's fill id."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("fill_id", name="uq_fills_fill_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fill_id: Mapped[str] = mapped_column(String(128))
    trade_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    client_order_id: Mapped[str] = mapped_column(String(64), ForeignKey("orders.client_order_id"))
    ticker: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(3))
    count: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(MONEY)
    fee: Mapped[Decimal] = mapped_column(MONEY)
    is_taker: Mapped[bool] = mapped_column(Boolean)
    filled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PositionRow(Base):
    """Contracts held of one outcome (YES or NO) of one market, built from fills."""

    __tablename__ = "positions"
    __table_args__ = (
        *_partition("positions"),
        UniqueConstraint("ticker", "outcome_side", name="uq_positions_ticker_outcome_side"),
        CheckConstraint("outcome_side IN ('yes', 'no')", name="outcome_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticker: Mapped[str] = mapped_column(String(64))
    outcome_side: Mapped[str] = mapped_column(String(3))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    event_ticker: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(MONEY)
    fees: Mapped[Decimal] = mapped_column(MONEY)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    settled: Mapped[bool] = mapped_column(Boolean)


class SettlementRow(Base):
    """The settled outcome of one position: payout and P&L net of fees."""

    __tablename__ = "settlements"
    __table_args__ = (
        *_partition("settlements"),
        UniqueConstraint("ticker", "outcome_side", name="uq_settlements_ticker_outcome_side"),
        CheckConstraint("outcome_side IN ('yes', 'no')", name="outcome_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticker: Mapped[str] = mapped_column(String(64))
    outcome_side: Mapped[str] = mapped_column(String(3))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    settled_value: Mapped[int | None] = mapped_column(Integer)
    settled_yes: Mapped[bool] = mapped_column(Boolean)
    count: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(MONEY)
    fees: Mapped[Decimal] = mapped_column(MONEY)
    payout: Mapped[Decimal] = mapped_column(MONEY)
    pnl: Mapped[Decimal] = mapped_column(MONEY)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettingRow(Base):
    """A runtime setting (JSON value) editable from the dashboard."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(Base):
    """The live-feed outbox: appended in the same transaction as the data it describes.

    Ids are strictly increasing in commit order (SQLite AUTOINCREMENT never reuses ids; on
    Postgres appends are serialised by a transaction-level advisory lock). ``dedupe_key`` names
    the logical event (topic, city, day and its identity): an event whose key is stored is not
    appended again, so a re-run does not repeat the feed. Events without a key always append.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("uq_events_dedupe_key", "dedupe_key", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(16))
    climate_date: Mapped[date | None] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ModelVersionRow(Base):
    """A trained model version with its parameters and evaluation metrics."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)


# -- the cockpit: users, sessions, the settings audit, encrypted secrets (migration 0006) --------


class UserRow(Base):
    """A person who may log in to the sidecar; the password is kept as an argon2 hash."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSessionRow(Base):
    """A logged-in browser: the SHA-256 of its cookie token (never the token) and its CSRF token."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_username", "username"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE")
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettingsAuditRow(Base):
    """One change of one operator setting: who, when, the old and the new value (JSON)."""

    __tablename__ = "settings_audit"
    __table_args__ = (Index("ix_settings_audit_changed_at", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(128))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)


class SecretRow(Base):
    """A secret encrypted with AES-256-GCM (the Kalshi private key); never stored in clear."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


# -- the approval queue (migration 0007) ----------------------------------------------------------


class ProposalRow(Base):
    """A taken decision waiting for a person's approval (manual-approval mode).

    Known by the client order id its order would carry; ``status`` is ``pending``,
    ``approved`` or ``rejected``; expiry and "ordered" are read against ``expires_at`` and the
    ``orders`` table rather than stored (``core/approval.py``).
    """

    __tablename__ = "proposals"
    __table_args__ = (
        *_partition("proposals"),
        UniqueConstraint("client_order_id", name="uq_proposals_client_order_id"),
        Index("ix_proposals_status_expires_at", "status", "expires_at"),
        CheckConstraint("side IN ('yes', 'no')", name="side"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    city: Mapped[str] = mapped_column(String(16))
    climate_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(4))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    event_ticker: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(3))
    p_model: Mapped[float] = mapped_column(Double)
    price: Mapped[Decimal] = mapped_column(MONEY)
    edge: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(MONEY)
    fee: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# -- the series registry (migration 0008) ---------------------------------------------------------


class SeriesRegistryRow(Base):
    """One Kalshi temperature series as last discovered and reconciled with our station table.

    The whole set is replaced by each discovery (``store/repo_registry.py``); ``verified`` says
    whether the series may be traded and ``reason`` why not (``core/series_registry.py``).
    ``city``, ``kind``, ``station``, ``cli_product`` and ``utc_offset`` are empty where our table
    has no candidate for the series.
    """

    __tablename__ = "series_registry"
    __table_args__ = (CheckConstraint("kind IN ('high', 'low')", name="kind"),)

    series_ticker: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str | None] = mapped_column(String(16), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(4), nullable=True)
    station: Mapped[str | None] = mapped_column(String(8), nullable=True)
    cli_product: Mapped[str | None] = mapped_column(String(16), nullable=True)
    utc_offset: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)

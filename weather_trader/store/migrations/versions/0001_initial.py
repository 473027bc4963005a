"""Initial schema of the domain database: every table of ``weather_trader.store.models``.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from weather_trader.store.types import COUNT, MONEY, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bracket_probabilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("p_model", sa.Double(), nullable=False),
        sa.Column("p_market", sa.Double(), nullable=True),
        sa.Column("yes_bid", MONEY, nullable=True),
        sa.Column("yes_ask", MONEY, nullable=True),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_bracket_probabilities_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bracket_probabilities")),
        sa.UniqueConstraint("ticker", name="uq_bracket_probabilities_ticker"),
    )
    op.create_index(
        "ix_bracket_probabilities_city_climate_date",
        "bracket_probabilities",
        ["city", "climate_date"],
    )
    op.create_table(
        "climate_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("max_f", sa.Integer(), nullable=True),
        sa.Column("min_f", sa.Integer(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_climate_reports")),
        sa.UniqueConstraint(
            "product", "climate_date", "issued_at", name="uq_climate_reports_product_issue"
        ),
    )
    op.create_index(
        "ix_climate_reports_city_climate_date", "climate_reports", ["city", "climate_date"]
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("event_ticker", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("p_model", sa.Double(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("ev_per_contract", MONEY, nullable=False),
        sa.Column("edge", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("taken", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_decisions_kind")),
        sa.CheckConstraint("side IN ('yes', 'no')", name=op.f("ck_decisions_side")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("ticker", "side", "as_of", name="uq_decisions_ticker_side_as_of"),
    )
    op.create_index("ix_decisions_city_climate_date", "decisions", ["city", "climate_date"])
    op.create_table(
        "distributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("mu", sa.Double(), nullable=False),
        sa.Column("sigma", sa.Double(), nullable=False),
        sa.Column("n_forecasts", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_distributions_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributions")),
        sa.UniqueConstraint("city", "climate_date", "kind", name="uq_distributions_partition"),
    )
    op.create_index("ix_distributions_city_climate_date", "distributions", ["city", "climate_date"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=True),
        sa.Column("climate_date", sa.Date(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("member", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("retrieved_at", UTCDateTime(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("value_f", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_forecasts_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
        sa.UniqueConstraint(
            "city",
            "climate_date",
            "kind",
            "source",
            "model",
            "member",
            "issued_at",
            name="uq_forecasts_point",
        ),
    )
    op.create_index("ix_forecasts_city_climate_date", "forecasts", ["city", "climate_date"])
    op.create_table(
        "markets",
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("event_ticker", sa.String(length=64), nullable=False),
        sa.Column("series_ticker", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("strike_type", sa.String(length=8), nullable=False),
        sa.Column("floor_strike", sa.Integer(), nullable=True),
        sa.Column("cap_strike", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("close_time", UTCDateTime(), nullable=False),
        sa.Column("fee_multiplier", MONEY, nullable=False),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("settled_value", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_markets_kind")),
        sa.CheckConstraint(
            "strike_type IN ('between', 'less', 'greater')", name=op.f("ck_markets_strike_type")
        ),
        sa.PrimaryKeyConstraint("ticker", name=op.f("pk_markets")),
    )
    op.create_index("ix_markets_city_climate_date", "markets", ["city", "climate_date"])
    op.create_index("ix_markets_event_ticker", "markets", ["event_ticker"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("station", sa.String(length=8), nullable=False),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.Column("temp_f", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("city", "observed_at", name="uq_observations_city_observed_at"),
    )
    op.create_index("ix_observations_city_climate_date", "observations", ["city", "climate_date"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("outcome_side", sa.String(length=3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("time_in_force", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filled_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_orders_kind")),
        sa.CheckConstraint("outcome_side IN ('yes', 'no')", name=op.f("ck_orders_outcome_side")),
        sa.CheckConstraint("side IN ('bid', 'ask')", name=op.f("ck_orders_side")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_city_climate_date", "orders", ["city", "climate_date"])
    op.create_table(
        "positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("outcome_side", sa.String(length=3), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("event_ticker", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_positions_kind")),
        sa.CheckConstraint("outcome_side IN ('yes', 'no')", name=op.f("ck_positions_outcome_side")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("ticker", "outcome_side", name="uq_positions_ticker_outcome_side"),
    )
    op.create_index("ix_positions_city_climate_date", "positions", ["city", "climate_date"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("outcome_side", sa.String(length=3), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("settled_value", sa.Integer(), nullable=True),
        sa.Column("settled_yes", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("payout", MONEY, nullable=False),
        sa.Column("pnl", MONEY, nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_settlements_kind")),
        sa.CheckConstraint(
            "outcome_side IN ('yes', 'no')", name=op.f("ck_settlements_outcome_side")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("ticker", "outcome_side", name="uq_settlements_ticker_outcome_side"),
    )
    op.create_index("ix_settlements_city_climate_date", "settlements", ["city", "climate_date"])
    op.create_table(
        "book_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("yes_bid", MONEY, nullable=False),
        sa.Column("yes_ask", MONEY, nullable=False),
        sa.Column("yes_bid_size", COUNT, nullable=False),
        sa.Column("yes_ask_size", COUNT, nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_book_snapshots_kind")),
        sa.ForeignKeyConstraint(
            ["ticker"], ["markets.ticker"], name=op.f("fk_book_snapshots_ticker_markets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_snapshots")),
        sa.UniqueConstraint("ticker", "captured_at", name="uq_book_snapshots_ticker_captured_at"),
    )
    op.create_index(
        "ix_book_snapshots_city_climate_date", "book_snapshots", ["city", "climate_date"]
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("is_taker", sa.Boolean(), nullable=False),
        sa.Column("filled_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name=op.f("fk_fills_client_order_id_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint(
            "client_order_id", "filled_at", "price", "count", name="uq_fills_execution"
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("fills")
    op.drop_index("ix_book_snapshots_city_climate_date", table_name="book_snapshots")
    op.drop_table("book_snapshots")
    op.drop_index("ix_settlements_city_climate_date", table_name="settlements")
    op.drop_table("settlements")
    op.drop_table("settings")
    op.drop_index("ix_positions_city_climate_date", table_name="positions")
    op.drop_table("positions")
    op.drop_index("ix_orders_city_climate_date", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_observations_city_climate_date", table_name="observations")
    op.drop_table("observations")
    op.drop_table("model_versions")
    op.drop_index("ix_markets_event_ticker", table_name="markets")
    op.drop_index("ix_markets_city_climate_date", table_name="markets")
    op.drop_table("markets")
    op.drop_index("ix_forecasts_city_climate_date", table_name="forecasts")
    op.drop_table("forecasts")
    op.drop_table("events")
    op.drop_index("ix_distributions_city_climate_date", table_name="distributions")
    op.drop_table("distributions")
    op.drop_index("ix_decisions_city_climate_date", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_climate_reports_city_climate_date", table_name="climate_reports")
    op.drop_table("climate_reports")
    op.drop_index("ix_bracket_probabilities_city_climate_date", table_name="bracket_probabilities")
    op.drop_table("bracket_probabilities")

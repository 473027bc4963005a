"""Raw source payloads kept for audit, and the Kalshi trade tape.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from weather_trader.store.types import COUNT, MONEY, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "raw_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("retrieved_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("body_zlib", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_payloads")),
        sa.UniqueConstraint("sha256", name="uq_raw_payloads_sha256"),
    )
    op.create_index(
        "ix_raw_payloads_source_retrieved_at", "raw_payloads", ["source", "retrieved_at"]
    )
    op.create_table(
        "market_trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("traded_at", UTCDateTime(), nullable=False),
        sa.Column("yes_price", MONEY, nullable=False),
        sa.Column("count", COUNT, nullable=False),
        sa.Column("taker_side", sa.String(length=3), nullable=False),
        sa.CheckConstraint(
            "taker_side IN ('yes', 'no')", name=op.f("ck_market_trades_taker_side")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_trades")),
        sa.UniqueConstraint("trade_id", name="uq_market_trades_trade_id"),
    )
    op.create_index(
        "ix_market_trades_ticker_traded_at", "market_trades", ["ticker", "traded_at"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_market_trades_ticker_traded_at", table_name="market_trades")
    op.drop_table("market_trades")
    op.drop_index("ix_raw_payloads_source_retrieved_at", table_name="raw_payloads")
    op.drop_table("raw_payloads")

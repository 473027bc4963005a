"""The approval queue: ``proposals``, taken decisions waiting for a person's verdict.

One row per decision that would become an order in manual-approval mode, known by that order's
client order id; ``status`` pending, approved or rejected, with who decided and when, and the
instant after which it can no longer be approved or placed (``expires_at``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from weather_trader.store.types import MONEY, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("climate_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("event_ticker", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("p_model", sa.Double(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("edge", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_proposals_kind")),
        sa.CheckConstraint("side IN ('yes', 'no')", name=op.f("ck_proposals_side")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_proposals_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
        sa.UniqueConstraint("client_order_id", name="uq_proposals_client_order_id"),
    )
    op.create_index("ix_proposals_city_climate_date", "proposals", ["city", "climate_date"])
    op.create_index("ix_proposals_status_expires_at", "proposals", ["status", "expires_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_proposals_status_expires_at", table_name="proposals")
    op.drop_index("ix_proposals_city_climate_date", table_name="proposals")
    op.drop_table("proposals")

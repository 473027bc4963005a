"""The series registry: ``series_registry``, Kalshi's temperature series as discovered.

One row per series the exchange lists, reconciled with our station table: city, kind, station,
CLI product and standard UTC offset, whether the station is verified (only verified series are
traded) and why not, the series title and when it was discovered. Each discovery replaces the
whole set.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from weather_trader.store.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "series_registry",
        sa.Column("series_ticker", sa.String(length=64), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=True),
        sa.Column("kind", sa.String(length=4), nullable=True),
        sa.Column("station", sa.String(length=8), nullable=True),
        sa.Column("cli_product", sa.String(length=16), nullable=True),
        sa.Column("utc_offset", sa.Integer(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("discovered_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('high', 'low')", name=op.f("ck_series_registry_kind")),
        sa.PrimaryKeyConstraint("series_ticker", name=op.f("pk_series_registry")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("series_registry")

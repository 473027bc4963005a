"""Fills keyed by the exchange's fill id (and its trade id kept).

Two genuine fills of one order can agree on time, price and count (a taker order matching two
makers at one price), so the old unique key ``(client_order_id, filled_at, price, count)``
merged them. Existing rows get the deterministic id ``legacy-<id>``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("fill_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("trade_id", sa.String(length=128), nullable=True))
    op.execute("UPDATE fills SET fill_id = 'legacy-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("fills") as batch:
        batch.alter_column("fill_id", existing_type=sa.String(length=128), nullable=False)
        batch.drop_constraint("uq_fills_execution", type_="unique")
        batch.create_unique_constraint("uq_fills_fill_id", ["fill_id"])


def downgrade() -> None:
    """Revert this revision (fails if two fills share the old key, as it then should)."""
    with op.batch_alter_table("fills") as batch:
        batch.drop_constraint("uq_fills_fill_id", type_="unique")
        batch.create_unique_constraint(
            "uq_fills_execution", ["client_order_id", "filled_at", "price", "count"]
        )
        batch.drop_column("trade_id")
        batch.drop_column("fill_id")

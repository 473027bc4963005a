"""Outbox events keyed by their logical identity, so a re-run appends none twice.

``events.dedupe_key`` (nullable, unique): topic, city, climate day and the event's identity
(a decision's ticker, side and instant; an order's client order id and status; ...). Existing
events keep a NULL key (NULLs never conflict), so the feed's history is untouched.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # A plain ADD COLUMN and a unique index: no table rebuild on SQLite (which would drop the
    # table's AUTOINCREMENT, and with it the rule that event ids are never reused).
    op.add_column("events", sa.Column("dedupe_key", sa.String(length=255), nullable=True))
    op.create_index("uq_events_dedupe_key", "events", ["dedupe_key"], unique=True)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("uq_events_dedupe_key", table_name="events")
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("dedupe_key")

"""feed health: fetch URL, disabling, down notices, content hash, adaptive polling

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("fetch_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_warning", sa.Text(), nullable=True))
        batch.add_column(sa.Column("down_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("down_notified", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("adaptive", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("min_interval", sa.Float(), nullable=True))
        batch.add_column(sa.Column("max_interval", sa.Float(), nullable=True))
        batch.add_column(sa.Column("poll_interval", sa.Float(), nullable=True))
        batch.create_index("ix_feeds_due", ["active", "next_check_at"])


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_index("ix_feeds_due")
        for name in ("poll_interval", "max_interval", "min_interval", "adaptive", "content_hash",
                     "down_notified", "down_since", "last_warning", "disabled_reason",
                     "fetch_url"):
            batch.drop_column(name)

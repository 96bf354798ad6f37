"""Feeds name their kind of source and keep its settings and state; notices go through
an outbox of their own

A feed's ``kind`` picks the source that reads it (``monitor.sources``); ``options`` and
``state`` are that kind's settings and what it keeps between polls, as JSON, so a new
kind of source needs no migration. Existing feeds are RSS/Atom.

Operational notices (feed down, feed recovered) were sent over the network from inside
the database thread as a poll's outcome was kept; now they are rows written in the same
transaction and sent by the delivery pass, retried like alerts.

A dashboard session signed out is kept until its cookie would have expired, so signing out
ends it on every replica. A delivery records which of its channel's targets already have
it, so a retry goes only to those that failed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "feeds", sa.Column("kind", sa.String(length=20), nullable=False, server_default="rss")
    )
    op.add_column("feeds", sa.Column("options", sa.JSON(), nullable=True))
    op.add_column("feeds", sa.Column("state", sa.JSON(), nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notices_status_due", "notices", ["status", "next_attempt_at"])
    op.create_table(
        "signed_out_sessions",
        sa.Column("sid", sa.String(length=64), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signed_out_sessions_until", "signed_out_sessions", ["until"])
    op.add_column("deliveries", sa.Column("targets_done", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "targets_done")
    op.drop_index("ix_signed_out_sessions_until", table_name="signed_out_sessions")
    op.drop_table("signed_out_sessions")
    op.drop_index("ix_notices_status_due", table_name="notices")
    op.drop_table("notices")
    # Plain DROP COLUMN (SQLite 3.35 and later): a batch copy of the feeds table is refused
    # while the caller's connection still reads it.
    for column in ("state", "options", "kind"):
        op.drop_column("feeds", column)

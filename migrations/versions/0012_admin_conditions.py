"""Admin conditions: what is wrong now, so each failure is announced once and its recovery
once; notices carry a kind so those of one kind queued together go out as one message

A condition (a channel failing, a rule file that no longer loads, no successful poll) is a
row keyed by kind and subject: raising it inserts the row, announcing it flips ``notified``
in one UPDATE (so of several replicas exactly one announces), clearing it deletes the row
and announces the recovery only when the failure was announced.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_conditions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.UniqueConstraint("kind", "subject", name="uq_admin_condition"),
    )
    op.add_column("notices", sa.Column("kind", sa.String(length=30), nullable=True))


def downgrade() -> None:
    op.drop_column("notices", "kind")
    op.drop_table("admin_conditions")

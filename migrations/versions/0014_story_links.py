"""Stories across wording and language: each alerted article's embedding and anchors, why
it joined its story, and what each channel was told of each story

Articles stored before have no row: they group by copies only, as they did.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_links",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("anchors", sa.JSON(), nullable=False),
        sa.Column("linked_to", sa.Integer(), nullable=True),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_index("ix_story_links_recent", "story_links", ["created_at"])
    op.create_index("ix_story_links_story_id", "story_links", ["story_id"])
    op.create_table(
        "story_messages",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("outlets", sa.Integer(), nullable=False),
        sa.Column("languages", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("story_id", "channel"),
    )


def downgrade() -> None:
    op.drop_table("story_messages")
    op.drop_index("ix_story_links_story_id", table_name="story_links")
    op.drop_index("ix_story_links_recent", table_name="story_links")
    op.drop_table("story_links")

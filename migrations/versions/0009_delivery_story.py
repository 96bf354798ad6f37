"""Deliveries carry their story and rule, indexed

The outbox tells an alert as a copy ("also reported by") when its story was already told
for the same rule on the same channel; finding that first delivery joined articles, hits
and deliveries. Without planner statistics (a fresh database, or PostgreSQL with autovacuum
off) both SQLite and PostgreSQL started that join from the status index and read every
delivery ever told, for every claimed batch: about 45 ms per batch on PostgreSQL with
25,000 deliveries stored, growing with the table. Copied onto the delivery at store time
(an article's story and a hit's rule never change), the look-up is one index range per key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("story_id", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("rule_id", sa.String(length=100), nullable=True))
    op.execute(
        """
        UPDATE deliveries SET
            rule_id = (SELECT hits.rule_id FROM hits WHERE hits.id = deliveries.hit_id),
            story_id = (
                SELECT coalesce(articles.story_id, articles.id)
                FROM hits JOIN articles ON articles.id = hits.article_id
                WHERE hits.id = deliveries.hit_id
            )
        """
    )
    op.create_index(
        "ix_deliveries_story", "deliveries", ["story_id", "rule_id", "channel", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_story", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("rule_id")
        batch.drop_column("story_id")

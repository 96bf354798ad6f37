"""Articles keep what the language layer read in them: figures, places and countries as
JSON, and an index string of country codes and place names for search filters

Articles stored before have none (NULL): they show no facts line and do not match a
search by place until they are revised.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("facts", sa.JSON(), nullable=True))
    op.add_column("articles", sa.Column("places_index", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "places_index")
    op.drop_column("articles", "facts")

"""Items identified within their feed, articles seen from several feeds, revisions, and
what a feed offered that was not kept, counted on its row

``articles.url_hash`` held the canonical URL's hash and was unique across all feeds, so a
live blog's ``#post-1`` and ``#post-2``, or a feed's press releases that all link to one
section page, became one article. It now holds the item's own key (its feed and guid,
hashed; existing rows keep theirs, which are unique too), and ``link_hash`` (the canonical
URL's, not unique, NULL for an item with no web link) finds the same article reached from
another feed. Keeping the column instead of dropping its constraint spares SQLite a copy
of the table, whose full-text triggers a copy would lose.

``entry_hash`` is what the feed said of the item (title and summary) when it was last
stored: a change is a new revision, whose predecessor goes to ``article_revisions``.
Existing articles have none yet, so their next poll records it without re-alerting.
``article_sightings`` records the other feeds (and new guids) an article was seen under.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLIES = ("skipped", "merged", "republished", "revised", "charset_guessed", "links_unresolved")


def upgrade() -> None:
    op.add_column("articles", sa.Column("link_hash", sa.String(length=64), nullable=True))
    op.add_column("articles", sa.Column("entry_hash", sa.String(length=64), nullable=True))
    op.add_column(
        "articles", sa.Column("revision", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("articles", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE articles SET link_hash = url_hash "
        "WHERE canonical_url LIKE 'http://%' OR canonical_url LIKE 'https://%'"
    )
    op.create_index("ix_articles_link_hash", "articles", ["link_hash"])
    op.add_column("hits", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("article_id", "revision", name="uq_article_revisions"),
    )
    op.create_table(
        "article_sightings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "feed_id", sa.Integer(), sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("guid", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("feed_id", "guid", name="uq_article_sightings_feed_guid"),
    )
    op.create_index("ix_article_sightings_article", "article_sightings", ["article_id"])
    for name in TALLIES:
        op.add_column(
            "feeds",
            sa.Column(f"tally_{name}", sa.Integer(), nullable=False, server_default="0"),
        )


def downgrade() -> None:
    for name in TALLIES:
        op.drop_column("feeds", f"tally_{name}")
    op.drop_index("ix_article_sightings_article", table_name="article_sightings")
    op.drop_table("article_sightings")
    op.drop_table("article_revisions")
    op.drop_column("hits", "revision")
    op.drop_index("ix_articles_link_hash", table_name="articles")
    for column in ("updated_at", "revision", "entry_hash", "link_hash"):
        op.drop_column("articles", column)

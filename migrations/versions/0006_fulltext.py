"""full-text index over article titles and text, for dashboard search

SQLite: an FTS5 table with external content (the articles table), kept current by triggers;
a later migration that rebuilds ``articles`` (batch_alter_table) must create the triggers
again. PostgreSQL: a generated tsvector column with a GIN index.

Both fold case, ё and Latin accents as the rules do, so a word a rule would find is in the
index; the matcher then decides (monitor.rules.prefilter, monitor.store.fulltext).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import unicodedata
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_INDEXED_CHARS = 200_000  # PostgreSQL refuses a tsvector over 1 MB

# SQLite's unicode61 strips Latin accents only, so ё is folded on the way in. With external
# content, 'delete' must be given the values once indexed: the same expressions.
_FOLD_SQLITE = "replace(replace({}, 'ё', 'е'), 'Ё', 'Е')"
_NEW = ", ".join(_FOLD_SQLITE.format(f"new.{c}") for c in ("title", "text"))
_OLD = ", ".join(_FOLD_SQLITE.format(f"old.{c}") for c in ("title", "text"))
_SQLITE = [
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, {_NEW});
    END""",
    f"""CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, {_OLD});
    END""",
    f"""CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, {_OLD});
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, {_NEW});
    END""",
    "INSERT INTO articles_fts(rowid, title, text) SELECT id, "
    + ", ".join(_FOLD_SQLITE.format(c) for c in ("title", "text"))
    + " FROM articles",
]


def _pg_folding() -> tuple[str, str]:
    """translate() arguments: accented Latin letters to their base letter, ё to е, and
    combining accents (Russian stress marks) removed, as the rules' fold does."""
    source, target = ["ёЁ"], ["еЕ"]
    for code in range(0xC0, 0x250):
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and len(base) == 1 and base.isascii() and base.isalpha():
            source.append(ch)
            target.append(base)
    marks = "".join(chr(c) for c in range(0x300, 0x370))
    return "".join(source) + marks, "".join(target)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    upgrade_postgresql()


def upgrade_postgresql() -> None:
    """Also what 0007's downgrade puts back."""
    source, target = _pg_folding()
    op.execute(
        "ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS ("
        "to_tsvector('simple', translate("
        f"left(coalesce(title, '') || ' ' || coalesce(text, ''), {PG_INDEXED_CHARS}), "
        f"'{source}', '{target}'))) STORED"
    )
    op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_fts_{name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search")

"""PostgreSQL full-text index kept by a trigger that folds only the words that need folding

0006's generated column ran translate() with its 358-character table over the whole of every
article: about 5 ms of the database's CPU for a 3 KB article, most of what storing an article
cost PostgreSQL on a cold cycle (pg_stat_statements). The trigger folds ё with replace() and
runs the same translate() only on the words that hold an accented Latin letter or a combining
mark, so the index holds the same words (tests/test_fulltext.py) for about 1 ms.
DROP EXPRESSION keeps every stored article's vector: no table rewrite. SQLite: nothing to do
(its FTS5 triggers fold with replace()).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Accented Latin letters (the range 0006 folds) and combining marks.
_NEEDS_TRANSLATE = "[\u00c0-\u024f\u0300-\u036f]"


def _fulltext() -> ModuleType:
    """Migration 0006, for its folding table and its column (files named by revision are not
    importable by name)."""
    path = Path(__file__).with_name("0006_fulltext.py")
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    fulltext = _fulltext()
    source, target = fulltext._pg_folding()
    op.execute(
        "CREATE FUNCTION monitor_search_fold(t text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
        f"SELECT CASE WHEN y !~ '{_NEEDS_TRANSLATE}' THEN y ELSE ("
        f"  SELECT string_agg(CASE WHEN w ~ '{_NEEDS_TRANSLATE}' "
        f"    THEN translate(w, '{source}', '{target}') ELSE w END, ' ' ORDER BY n) "
        "  FROM regexp_split_to_table(y, '\\s+') WITH ORDINALITY AS words(w, n)) END "
        "FROM (SELECT replace(replace(t, 'ё', 'е'), 'Ё', 'Е') AS y) AS yo_folded $$"
    )
    op.execute(
        "CREATE FUNCTION articles_search_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN NEW.search := to_tsvector('simple', monitor_search_fold(left("
        "coalesce(NEW.title, '') || ' ' || coalesce(NEW.text, ''), "
        f"{fulltext.PG_INDEXED_CHARS}))); RETURN NEW; END $$"
    )
    op.execute("ALTER TABLE articles ALTER COLUMN search DROP EXPRESSION")
    op.execute(
        "CREATE TRIGGER articles_search BEFORE INSERT OR UPDATE OF title, text ON articles "
        "FOR EACH ROW EXECUTE FUNCTION articles_search_update()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER articles_search ON articles")
    op.execute("DROP FUNCTION articles_search_update()")
    op.execute("DROP FUNCTION monitor_search_fold(text)")
    op.execute("ALTER TABLE articles DROP COLUMN search")  # and its index
    _fulltext().upgrade_postgresql()

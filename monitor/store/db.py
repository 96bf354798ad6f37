"""Engine creation and schema migration. Nothing here runs at import time."""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Statement journals and temporary tables in memory, not in files: an article's multi-row
# inserts (20 story keys, its hits) inside a poll's transaction each need a statement
# journal, and past 64 KiB SQLite spilled it to a new temporary file, about a hundred
# writes per article stored (two thirds of all writes) for files deleted at once.
SQLITE_TEMP_STORE = "MEMORY"
# Page cache per connection, KiB (SQLite's default is 2 MiB): with the default, the random
# index pages that storing an article touches were read from disk again and again, 83 reads
# per article at 5,000 articles; 22 with this. The cache grows only as pages are used.
SQLITE_CACHE_KIB = 32 * 1024
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
            # Rows inserted together (an article's 20 story keys, its deliveries) go as one
            # multi-row INSERT: psycopg's executemany runs one statement per row on the
            # server, a tenth of PostgreSQL's CPU in a cold cycle.
            engine.dialect.use_insertmanyvalues_wo_returning = True
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"MONITOR_DATABASE_URL {_safe(url)!r}: {exc}") from exc
    return engine


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA temp_store={SQLITE_TEMP_STORE}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


@contextmanager
def single_process(url: str) -> Iterator[None]:
    """SQLite is for one process: a second `monitor run` on the same file refuses to start.
    PostgreSQL takes any number of processes (they coordinate through the database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(f"{parsed.database}.lock")
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(
            f"another `monitor run` is using {parsed.database}; SQLite serves one process. "
            "For several replicas use PostgreSQL (MONITOR_DATABASE_URL=postgresql+psycopg://...)"
        ) from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


MIGRATION_LOCK = 727_003  # PostgreSQL advisory lock: one process migrates at a time


def _alembic() -> AlembicConfig:
    if not MIGRATIONS_DIR.is_dir():
        raise StoreError(f"migrations directory not found at {MIGRATIONS_DIR}")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head() -> str:
    """The newest schema revision this code knows."""
    found = ScriptDirectory.from_config(_alembic()).get_current_head()
    assert found is not None, "no migrations"
    return found


def current(engine: Engine) -> str | None:
    """The database's schema revision; None for a database never migrated."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"database {_safe(str(engine.url))}: {exc}") from exc


def require_current(engine: Engine) -> None:
    """Refuse to read a database whose schema is older than the code (a rolling upgrade's
    older replicas must not be migrated under them by a newer CLI)."""
    found, newest = current(engine), head()
    if found != newest:
        state = f"at revision {found}" if found else "not created yet"
        raise StoreError(
            f"database {_safe(str(engine.url))} is {state}, this code needs {newest}: "
            "run `monitor db upgrade` first"
        )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; (revision before, revision now). Processes
    starting together take turns (PostgreSQL advisory lock, SQLite file lock), so the
    second finds the work done instead of racing the first."""
    cfg = _alembic()
    try:
        with _migration_lock(engine), engine.begin() as connection:
            before = MigrationContext.configure(connection).get_current_revision()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
            after = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"database {_safe(str(engine.url))}: upgrade failed: {exc}") from exc
    return before, after or head()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:  # a session lock on a connection of its own
            holder.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            try:
                yield
            finally:
                holder.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                holder.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    try:
        handle = Path(f"{database}.migrate.lock").open("a+")  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise StoreError(f"database {database}: cannot open its folder: {exc.strerror}") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"

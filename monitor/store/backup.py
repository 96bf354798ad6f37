"""Backup and restore of the whole database.

SQLite goes through its online backup API: a consistent copy taken while the service keeps
writing (WAL included), restored the same way under the file's single-process lock, so a
running service and a restore never meet. PostgreSQL goes through pg_dump's custom format
and pg_restore in one transaction, so a restore that fails changes nothing. A backup never
overwrites a file, and a restore never overwrites stored articles unless asked to.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url

from monitor.errors import StoreError
from monitor.store.db import current, make_engine, single_process

PG_TIMEOUT = 3600.0  # seconds pg_dump or pg_restore may take


@dataclass(frozen=True)
class Contents:
    revision: str | None  # the schema revision
    articles: int


def backup(url: str, target: Path) -> Contents:
    """Copy the database at ``url`` into the new file ``target``."""
    if target.exists():
        raise StoreError(f"{target}: exists; a backup never overwrites a file, name a new one")
    if not target.parent.is_dir():
        raise StoreError(f"{target}: its folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_copy(Path(_sqlite_file(parsed)), partial)
        else:
            _pg(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}"], parsed)
        partial.replace(target)  # only a whole backup gets the name asked for
    finally:
        partial.unlink(missing_ok=True)
    return contents(make_engine(url))


def restore(url: str, source: Path, replace: bool = False) -> Contents:
    """Load the backup ``source`` into the database at ``url``: refused when that database
    holds articles, unless ``replace``."""
    if not source.is_file():
        raise StoreError(f"{source}: no such backup file")
    engine = make_engine(url)
    held = contents(engine).articles
    if held and not replace:
        raise StoreError(
            f"the database holds {held} articles; restore into an empty database, or add "
            "--replace to overwrite them with the backup"
        )
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_backup(source)
        engine.dispose()
        with single_process(url):  # refused while `monitor run` holds the file
            _sqlite_copy(source, Path(_sqlite_file(parsed)))
    else:
        _pg(["pg_restore", "--list", str(source)])  # a custom-format dump at all?
        clean = ["--clean", "--if-exists"] if _has_tables(engine) else []
        _pg(["pg_restore", "--no-owner", "--single-transaction", *clean, str(source)], parsed)
    return contents(make_engine(url))


def contents(engine: Engine) -> Contents:
    """The schema revision and how many articles the database holds."""
    revision = current(engine)
    if "articles" not in inspect(engine).get_table_names():
        return Contents(revision, 0)
    with engine.connect() as conn:
        return Contents(revision, int(conn.execute(text("SELECT count(*) FROM articles")).one()[0]))


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def _sqlite_file(parsed: URL) -> str:
    if parsed.database in (None, "", ":memory:"):
        raise StoreError("an in-memory SQLite database has nothing to back up or restore")
    return str(parsed.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise StoreError(f"{source} -> {target}: {exc}") from exc


def _check_sqlite_backup(source: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise StoreError(f"{source}: not a SQLite backup ({exc})") from exc
    if "alembic_version" not in tables:
        raise StoreError(f"{source}: not a backup of this service's database")


def _pg(command: list[str], database: URL | None = None) -> None:
    """Run pg_dump or pg_restore, on ``database`` if given; the password goes in the
    environment, never on a command line another user could read."""
    env = dict(os.environ)
    if database is not None:
        conninfo = database.set(drivername="postgresql", password=None).render_as_string()
        command = [*command, f"--dbname={conninfo}"]
        if database.password:
            env["PGPASSWORD"] = str(database.password)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT)
    except FileNotFoundError:
        raise StoreError(f"{command[0]} is not installed (PostgreSQL's client programs)") from None
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise StoreError(f"{command[0]} failed: {said[0] if said else f'exit {done.returncode}'}")

"""Shared fixtures: databases (SQLite file and a PostgreSQL database made per run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from monitor.entities import Hit
from monitor.store.db import MIGRATIONS_DIR, make_engine, upgrade
from monitor.store.models import Base

REPO = Path(__file__).resolve().parents[1]
# Real articles the desk must be alerted to: ../shared/corpus beside the checkout, and a copy
# in tests/corpus so the tests do not depend on what surrounds the repository.
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
CORPUS = SHARED_CORPUS if SHARED_CORPUS.is_dir() else REPO / "tests" / "corpus"
PG_ENV = "MONITOR_TEST_POSTGRES_URL"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{PG_ENV} is not set; under CI the PostgreSQL tests must run")
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    admin_url = _pg_admin_url()
    if admin_url is None:
        pytest.skip(
            f"PostgreSQL tests skipped: set {PG_ENV} (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)"
        )
    name = f"monitor_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def downgrade(conn: Connection, revision: str) -> None:
    """Take the schema back to ``revision`` on this connection (``monitor.store.db.upgrade``
    brings it to the newest again): for tests of what a migration does to stored rows."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, revision)


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every storage test runs on both backends, each test on empty tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def clean_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any MONITOR_ setting, plus ``settings``: what a
    `monitor` subprocess in a test runs with."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | settings


@contextmanager
def query_plan(engine: Engine, marker: str) -> Iterator[list[str]]:
    """The lines of the database's plan for the first statement containing ``marker`` that
    the block runs (filled in when the block ends)."""
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if marker in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    steps: list[str] = []
    yield steps
    event.remove(engine, "before_cursor_execute", record)
    statement, parameters = sent[0]
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as conn:
        steps += [row[-1] for row in conn.exec_driver_sql(f"{explain} {statement}", parameters)]


def to_default(hits: list[Hit]) -> list[Hit]:
    """Hits routed to the ``default`` channel, whatever their rules notify."""
    return [replace(hit, channels=("default",)) for hit in hits]

"""Backup and restore of the whole database, on SQLite and PostgreSQL, through the CLI:
a backup taken while another connection writes, restored into an empty database with every
article, hit and delivery; a database that holds articles is never overwritten unless asked;
a backup never overwrites a file; a running service's SQLite file is never restored over."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from monitor.cli import cli
from monitor.store.db import head, make_engine, single_process
from tests.test_alerts import WIRE, seed


def monitor(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["db", *args], env={"MONITOR_DATABASE_URL": url})


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def empty_database(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same server as ``engine``."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin_url = os.environ["MONITOR_TEST_POSTGRES_URL"]
    name = f"monitor_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def snapshot(url: str) -> dict[str, object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "articles": conn.execute(text("SELECT id, title FROM articles ORDER BY id")).all(),
                "hits": conn.execute(text("SELECT id, rule_id FROM hits ORDER BY id")).all(),
                "deliveries": conn.execute(text("SELECT id, status FROM deliveries")).all(),
                "feeds": conn.execute(text("SELECT name FROM feeds ORDER BY name")).all(),
            }
    finally:
        engine.dispose()


STORIES = [
    ("Daily", "Belarus moves brigades", WIRE),
    ("Weekly", "Iskander launchers moved", "Iskander launchers " * 30),
]


def test_a_backup_restores_into_an_empty_database_whole(
    engine: Engine, empty_database: str, tmp_path: Path
) -> None:
    seed(engine, STORIES)
    source = url_of(engine)
    with engine.connect() as writer:  # another connection is writing meanwhile
        writer.execute(text("UPDATE feeds SET items_seen = 99"))
        made = monitor(source, "backup", str(tmp_path / "monitor.backup"))
        writer.rollback()
    assert made.exit_code == 0, made.output
    assert f"backed up 2 articles, schema {head()}" in made.output
    assert not (tmp_path / "monitor.backup.partial").exists()
    restored = monitor(empty_database, "restore", str(tmp_path / "monitor.backup"))
    assert restored.exit_code == 0, restored.output
    assert "restored 2 articles" in restored.output
    assert snapshot(empty_database) == snapshot(source)
    assert len(snapshot(empty_database)["hits"]) == 2  # type: ignore[arg-type]
    current = monitor(empty_database, "current")
    assert current.exit_code == 0 and "up to date" in current.output


def test_what_is_stored_is_never_overwritten_unless_asked(
    engine: Engine, empty_database: str, tmp_path: Path
) -> None:
    seed(engine, STORIES[:1])
    backup = tmp_path / "one.backup"
    assert monitor(url_of(engine), "backup", str(backup)).exit_code == 0
    again = monitor(url_of(engine), "backup", str(backup))
    assert again.exit_code == 1 and "a backup never overwrites a file" in again.output
    nowhere = monitor(url_of(engine), "backup", str(tmp_path / "no" / "such" / "x.backup"))
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output
    seed(engine, STORIES[1:])  # the live database moved on: two articles now
    before = snapshot(url_of(engine))
    refused = monitor(url_of(engine), "restore", str(backup))
    assert refused.exit_code == 1
    assert "the database holds 2 articles" in refused.output and "--replace" in refused.output
    assert snapshot(url_of(engine)) == before
    missing = monitor(url_of(engine), "restore", str(tmp_path / "nothing.backup"))
    assert missing.exit_code == 1 and "no such backup file" in missing.output
    engine.dispose()
    replaced = monitor(url_of(engine), "restore", "--replace", str(backup))
    assert replaced.exit_code == 0, replaced.output
    assert len(snapshot(url_of(engine))["articles"]) == 1  # type: ignore[arg-type]


def test_a_file_that_is_no_backup_is_refused(
    engine: Engine, empty_database: str, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 100)
    refused = monitor(empty_database, "restore", str(junk))
    assert refused.exit_code == 1 and "error:" in refused.output
    assert "Traceback" not in refused.output


def test_a_running_services_sqlite_file_is_not_restored_over(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(live)
    from monitor.store.db import upgrade

    upgrade(engine)
    seed(engine, STORIES[:1])
    assert monitor(live, "backup", str(tmp_path / "b")).exit_code == 0
    engine.dispose()
    with single_process(live):  # as `monitor run` holds it
        refused = monitor(live, "restore", "--replace", str(tmp_path / "b"))
    assert refused.exit_code == 1 and "another `monitor run` is using" in refused.output

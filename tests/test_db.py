from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from monitor.errors import StoreError
from monitor.store.db import make_engine, upgrade


def test_upgrade_creates_every_table_and_is_repeatable(engine) -> None:  # type: ignore[no-untyped-def]
    upgrade(engine)  # a second time is a no-op
    names = set(inspect(engine).get_table_names())
    assert {"feeds", "articles", "hits", "deliveries", "alembic_version"} <= names
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_unknown_database_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="MONITOR_DATABASE_URL 'nosuchdb://x'"):
        make_engine("nosuchdb://x")


def test_unreachable_database_names_url_without_password() -> None:
    engine = make_engine("postgresql+psycopg://user:secret@127.0.0.1:9/db")
    with pytest.raises(StoreError) as err:
        upgrade(engine)
    assert "secret" not in str(err.value) and "127.0.0.1:9" in str(err.value)

"""What is wrong now, for the admin: each failure announced once and its recovery once.

A condition is a row keyed by kind and subject (``channel_failing``/``default``,
``rule_file``/``troops.yaml``, ``no_poll``/``feeds``). ``raise_condition`` inserts it if
absent and flips ``notified`` in one UPDATE once it has lasted long enough, so of several
replicas seeing the same failure exactly one gets True and queues the notice;
``clear_condition`` deletes it and returns True only when the failure had been announced,
so a recovery notice never follows a failure nobody was told of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.models import ConditionRow

_CONDITIONS = cast(Table, ConditionRow.__table__)
_INSERT = {
    name: make.insert(_CONDITIONS).on_conflict_do_nothing()
    for name, make in (("postgresql", postgresql), ("sqlite", sqlite))
}


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    since: datetime
    notified: bool
    detail: str | None


def _is(kind: str, subject: str) -> ColumnElement[bool]:
    return and_(_CONDITIONS.c.kind == kind, _CONDITIONS.c.subject == subject)


def raise_condition(
    session: Session,
    kind: str,
    subject: str,
    now: datetime,
    after: float = 0.0,
    detail: str | None = None,
) -> bool:
    """Record that ``subject`` is wrong. True exactly once across processes: when it has
    been wrong for ``after`` seconds and was not announced yet."""
    conn = session.connection()
    row = {"kind": kind, "subject": subject[:300], "since": now, "notified": False}
    conn.execute(_INSERT[conn.dialect.name], row | {"detail": detail})
    announced = conn.execute(
        update(_CONDITIONS)
        .where(_is(kind, subject[:300]), ~_CONDITIONS.c.notified)
        .where(_CONDITIONS.c.since <= now - timedelta(seconds=after))
        .values(notified=True, detail=detail)
    )
    return announced.rowcount == 1


def clear_condition(session: Session, kind: str, subject: str) -> bool:
    """``subject`` is fine again. True exactly once, when its failure had been announced."""
    gone = session.connection().execute(
        delete(_CONDITIONS).where(_is(kind, subject[:300])).returning(_CONDITIONS.c.notified)
    )
    return any(notified for (notified,) in gone)


def sync_conditions(
    session: Session, kind: str, wrong: Mapping[str, str], now: datetime
) -> tuple[list[str], list[str]]:
    """Make the conditions of ``kind`` the subjects in ``wrong`` (subject -> detail), each
    announced at once. Returns the subjects to announce as failing and as recovered."""
    known = list(session.scalars(select(_CONDITIONS.c.subject).where(_CONDITIONS.c.kind == kind)))
    raised = [s for s, detail in wrong.items() if raise_condition(session, kind, s, now, 0, detail)]
    cleared = [s for s in known if s not in wrong and clear_condition(session, kind, s)]
    return raised, cleared


def conditions(session: Session) -> list[Condition]:
    """Every condition recorded now, oldest first."""
    rows = session.execute(select(ConditionRow).order_by(ConditionRow.since, ConditionRow.id))
    return [Condition(r.kind, r.subject, r.since, r.notified, r.detail) for (r,) in rows]

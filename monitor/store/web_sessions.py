"""Dashboard sessions signed out before their cookies expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.store.models import SignedOutRow, utcnow


def sign_out(session: Session, sid: str, lifetime: float) -> None:
    """Refuse session ``sid`` from now on; forget it once its cookie would have expired."""
    now = utcnow()
    session.execute(delete(SignedOutRow).where(SignedOutRow.until < now))
    if session.get(SignedOutRow, sid) is None:
        session.add(SignedOutRow(sid=sid, until=now + timedelta(seconds=lifetime)))


def signed_out(session: Session, sid: str, now: datetime | None = None) -> bool:
    until = session.scalar(select(SignedOutRow.until).where(SignedOutRow.sid == sid))
    return until is not None and until >= (now or utcnow())

"""An article's new revision: the old text kept, new rules alerted as updates, rules that
had fired not again, corrections told to the channels that ask, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select, update

from monitor.entities import Document, Hit, Severity
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import ArticleRow, DeliveryRow, HitRow, NoticeRow, RevisionRow
from tests.test_repository import article, feeds

TROOPS = Hit("troops", "Troops", Severity.high, 1.0, (), ("desk", "mail"))
BORDER = Hit("border", "Border", Severity.high, 1.0, (), ("desk", "mail"))


def test_a_revision_keeps_the_old_text_and_alerts_only_new_rules(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
        first = repo.store_article(s, article(feed.id, 1), [TROOPS])
        s.execute(update(DeliveryRow).values(status="sent"))
    revised = replace(
        article(feed.id, 1),
        document=Document("UPDATE: troops at the border", "Now at the border", "en"),
        entry_hash="new",
        revises=first,
        revision=2,
    )
    with sessions.begin() as s:
        [stored] = repo.store_group(s, [(revised, [TROOPS, BORDER])], corrections={"mail"})
    assert stored.article_id == first and stored.revised and stored.rules == ("border",)
    with sessions() as s:
        row = s.get_one(ArticleRow, first)
        assert (row.title, row.revision, row.entry_hash) == revised_state(revised)
        kept = s.execute(select(RevisionRow.revision, RevisionRow.title)).all()
        assert kept == [(1, "Title 1")]
        hits = dict(s.execute(select(HitRow.rule_id, HitRow.revision)).all())
        assert hits == {"troops": 1, "border": 2}
        pending = s.scalars(select(DeliveryRow.channel).where(DeliveryRow.status == "pending"))
        assert sorted(pending) == ["desk", "mail"]  # the new rule's, to both channels
        [notice] = s.scalars(select(NoticeRow))
        assert (
            notice.channel == "mail" and notice.title == "Corrected: UPDATE: troops at the border"
        )
        assert "Was: Title 1" in notice.body and "Troops" in notice.body
    with sessions.begin() as s:  # the same revision again (another replica): nothing twice
        [again] = repo.store_group(s, [(revised, [TROOPS, BORDER])], corrections={"mail"})
    assert again.article_id is None
    with sessions() as s:
        assert len(s.scalars(select(RevisionRow)).all()) == 1
        assert len(s.scalars(select(NoticeRow)).all()) == 1


def revised_state(a):  # type: ignore[no-untyped-def]
    return a.document.title, a.revision, a.entry_hash

"""Alert delivery as desk staff live it: retries, routing, stories, quiet hours, rate limits
and digests, through real apprise to loopback receivers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, select

from monitor.config import FeedConfig
from monitor.entities import Article, Document, Evidence, Hit, Severity
from monitor.notify.channels import Channels
from monitor.notify.deliver import MAX_ATTEMPTS, decide, deliver_due
from monitor.notify.digest import send_digest
from monitor.notify.sender import Sender
from monitor.notify.settings import ChannelSettings, MonitorFile, QuietHours
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import ArticleRow, DeliveryRow
from monitor.store.stories import STORY_CANDIDATES, story_candidates
from monitor.stories import band_keys, signature
from tests.servers import HTTPServer, http_server

WIRE = (
    "Belarus moved two mechanised brigades toward its southern border with Ukraine on "
    "Thursday, the defence ministry in Minsk said, describing the deployment as a snap "
    "readiness check. Satellite images showed columns of armoured vehicles near Mazyr, "
    "and Ukrainian border guards reported increased activity along the frontier. "
    "Officials in Kyiv said they were watching the troop movements closely."
)


def seed(
    engine: Engine,
    stories: list[tuple[str, str, str]],
    severity: Severity = Severity.high,
    channels: tuple[str, ...] = ("desk",),
) -> None:
    """(feed, headline, text) articles, each hit by one rule routed to ``channels``."""
    sessions = session_factory(engine)
    names = sorted({feed for feed, _, _ in stories})
    with sessions.begin() as s:
        feeds = {
            f.name: f
            for f in repo.sync_feeds(
                s, [FeedConfig(url=f"https://{i}.example/rss", name=n) for i, n in enumerate(names)]
            )
        }
    for n, (feed, title, text) in enumerate(stories):
        url = f"https://{feed.lower().replace(' ', '-')}.example/a/{n}"
        art = Article(
            feeds[feed].id,
            f"g{n}",
            url,
            url,
            Document(title, text),
            "page",
            None,
            datetime.now(UTC) - timedelta(minutes=n % 60),
            signature(title, text),
        )
        hit = Hit(
            "troop-movements",
            "Troop movements",
            severity,
            2.0,
            (Evidence("troop*", "text", "watching the troop movements"),),
            channels,
        )
        with sessions.begin() as s:
            repo.store_article(s, art, [hit])


def sender(
    hook: HTTPServer,
    settings: MonitorFile | None = None,
    extra: dict[str, tuple[str, ...]] | None = None,
) -> Sender:
    urls = {"desk": (f"json://127.0.0.1:{hook.port}/desk?rto=2&cto=2",), **(extra or {})}
    return Sender(Channels(urls), print, settings or MonitorFile())


def statuses(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(DeliveryRow.status).order_by(DeliveryRow.id)))


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def later(**delta: float) -> datetime:
    """A moment after the rows were made (they are due from their real creation time)."""
    return datetime.now(UTC) + timedelta(seconds=1, **delta)


def test_retries_with_backoff_until_the_channel_answers(engine: Engine) -> None:
    seed(engine, [("Daily", "Belarus moves brigades", WIRE)])
    sessions = session_factory(engine)
    with http_server() as hook:
        hook.post_statuses = [500, 500]
        out = sender(hook)
        first = run(deliver_due(sessions, out, later()))
        assert (first.sent, first.retrying) == (0, 1)
        early = run(deliver_due(sessions, out, later(minutes=1)))
        assert early.sent + early.retrying == 0  # not due yet: backing off
        second = run(deliver_due(sessions, out, later(minutes=4)))
        assert second.retrying == 1
        third = run(deliver_due(sessions, out, later(minutes=15)))
        assert third.sent == 1 and len(hook.posted_json()) == 3
    assert statuses(engine) == ["sent"]


def test_a_dead_channel_ends_failed_without_blocking_another(engine: Engine) -> None:
    seed(engine, [("Daily", "Belarus moves brigades", WIRE)], channels=("desk", "email"))
    sessions = session_factory(engine)
    with http_server() as hook, http_server() as dead:
        dead.post_status = 500
        out = sender(hook, extra={"email": (f"json://127.0.0.1:{dead.port}/x",)})
        when = later()
        for _ in range(MAX_ATTEMPTS):
            run(deliver_due(sessions, out, when))
            when += timedelta(hours=7)
        assert len(hook.posted_json()) == 1 and len(dead.posted_json()) == MAX_ATTEMPTS
    with sessions() as s:
        [failed] = repo.list_deliveries(s, failed_only=True)
    assert (failed.channel, failed.attempts) == ("email", MAX_ATTEMPTS)
    assert "channel 'email'" in (failed.last_error or "")
    assert sorted(statuses(engine)) == ["failed", "sent"]


def test_timeouts_and_dropped_connections_are_retried(engine: Engine) -> None:
    seed(engine, [("Daily", "Belarus moves brigades", WIRE)], channels=("slow", "drop"))
    sessions = session_factory(engine)
    with http_server() as slow, http_server() as drop:
        slow.post_delay = 4
        drop.post_mode = "drop"
        out = Sender(
            Channels(
                {
                    "slow": (f"json://127.0.0.1:{slow.port}/?rto=1&cto=1",),
                    "drop": (f"json://127.0.0.1:{drop.port}/",),
                }
            ),
            print,
        )
        report = run(deliver_due(sessions, out, later()))
    assert (report.sent, report.retrying) == (0, 2)
    assert statuses(engine) == ["pending", "pending"]


def test_ten_outlets_one_story_make_one_alert_and_a_digest_names_them(engine: Engine) -> None:
    outlets = [f"Outlet {i}" for i in range(10)]
    seed(
        engine,
        [
            (
                o,
                f"{o.split()[1]}: Belarus moves brigades to the border",
                f"By {o} staff. {WIRE} Reporting by {o}.",
            )
            for o in outlets
        ],
    )
    sessions = session_factory(engine)
    with http_server() as hook:
        out = sender(hook)
        report = run(deliver_due(sessions, out, later()))
        assert (report.sent, report.folded) == (1, 9)
        assert len(hook.posted_json()) == 1
        assert run(send_digest(sessions, out, "desk", later(hours=1))) == 9
        [_alert, digest] = hook.posted_json()
    assert digest["title"] == "Digest for desk: 1 story"
    also = digest["message"].split("also reported by ", 1)[1]
    assert sorted(also.split("\n")[0].split(", ")) == outlets[1:]
    assert statuses(engine) == ["sent"] * 10


def test_a_different_story_is_alerted_on_its_own(engine: Engine) -> None:
    seed(
        engine,
        [
            ("A", "Belarus moves brigades", WIRE),
            (
                "B",
                "Russia redeploys troops to Kursk",
                "Russian forces redeployed two brigades from Kherson toward Kursk on "
                "Monday, Ukrainian officials said, after weeks of heavy fighting.",
            ),
        ],
    )
    with http_server() as hook:
        report = run(deliver_due(session_factory(engine), sender(hook), later()))
    assert (report.sent, report.folded) == (2, 0)


def test_quiet_hours_hold_and_release_but_not_critical(engine: Engine) -> None:
    seed(engine, [("A", "Belarus moves brigades", WIRE)])
    seed(
        engine,
        [
            (
                "B",
                "Nuclear warheads arrive in Belarus",
                "Russian tactical nuclear warheads were delivered to Belarus, Minsk said.",
            )
        ],
        severity=Severity.critical,
    )
    quiet = ChannelSettings(
        timezone="Europe/Kyiv", quiet_hours=QuietHours(start="22:00", end="07:00")
    )
    settings = MonitorFile(channels={"desk": quiet})
    kyiv = ZoneInfo("Europe/Kyiv")
    tomorrow = (datetime.now(kyiv) + timedelta(days=1)).replace(second=0, microsecond=0)
    night = tomorrow.replace(hour=23, minute=30).astimezone(UTC)
    sessions = session_factory(engine)
    with http_server() as hook:
        out = sender(hook, settings)
        report = run(deliver_due(sessions, out, night))
        assert (report.sent, report.held) == (1, 1)  # the critical one goes through
        assert "Nuclear warheads" in hook.posted_json()[0]["message"]
        later = run(deliver_due(sessions, out, night + timedelta(hours=3)))
        assert later.sent == 0  # still quiet
        morning = (tomorrow + timedelta(days=1)).replace(hour=7, minute=1).astimezone(UTC)
        assert run(deliver_due(sessions, out, morning)).sent == 1
        assert "Belarus moves brigades" in hook.posted_json()[1]["message"]


def test_rate_limit_folds_overflow_into_the_digest_and_tells_the_channel_once(
    engine: Engine,
) -> None:
    headlines = [
        "Tanks in Brest",
        "Drones over Mazyr",
        "Troops near Homel",
        "Artillery by Pinsk",
        "Brigades at Gomel",
    ]
    seed(
        engine,
        [
            (
                f"Feed {i}",
                h,
                f"{h}. Story number {i} about something else entirely, "
                f"with words {i * 'x'} unique to it.",
            )
            for i, h in enumerate(headlines)
        ],
    )
    settings = MonitorFile(channels={"desk": ChannelSettings(rate_limit=3)})
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    with http_server() as hook:
        out = sender(hook, settings)
        report = run(deliver_due(sessions, out, now))
        assert (report.sent, report.to_digest) == (3, 2)
        titles = [p["title"] for p in hook.posted_json()]
        assert titles.count("Rate limited: desk") == 1 and len(titles) == 4
        assert run(send_digest(sessions, out, "desk", now.replace(microsecond=0))) == 2
        digest = hook.posted_json()[-1]
    assert digest["title"] == "Digest for desk: 2 stories"
    assert "Artillery by Pinsk" in digest["message"] and "Brigades at Gomel" in digest["message"]


def test_digest_channel_gets_one_digest_per_slot_at_its_cron_time(engine: Engine) -> None:
    seed(engine, [("A", "Belarus moves brigades", WIRE)])
    seed(
        engine,
        [
            (
                "B",
                "Nuclear warheads arrive in Belarus",
                "Russian tactical nuclear warheads were delivered to Belarus, Minsk said.",
            )
        ],
        severity=Severity.critical,
    )
    daily = ChannelSettings(mode="digest", digest="0 8 * * *", timezone="Europe/Kyiv")
    settings = MonitorFile(channels={"desk": daily})
    slot = daily.trigger().get_next_fire_time(None, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert slot == datetime(2026, 11, 21, 8, 0, tzinfo=ZoneInfo("Europe/Kyiv"))
    sessions = session_factory(engine)
    with http_server() as hook:
        out = sender(hook, settings)
        report = run(deliver_due(sessions, out, later()))
        assert (report.sent, report.to_digest) == (0, 2) and hook.posted_json() == []
        assert run(send_digest(sessions, out, "desk", slot)) == 2
        assert run(send_digest(sessions, out, "desk", slot)) is None  # that slot is done
        [digest] = hook.posted_json()
    lines = digest["message"].splitlines()
    critical = lines.index("[critical]")
    high = lines.index("[high]")
    assert critical < high  # most severe first
    nuclear = next(i for i, line in enumerate(lines) if "Nuclear warheads" in line)
    brigades = next(i for i, line in enumerate(lines) if "Belarus moves brigades" in line)
    assert critical < nuclear < high < brigades
    assert statuses(engine) == ["sent", "sent"]


def test_copies_fold_silently_and_low_severity_can_be_filtered(engine: Engine) -> None:
    """Another outlet's copy of a story the channel has is no message of its own, even on a
    channel that once asked for "also reported" follow-ups (now: only when it matters)."""
    seed(engine, [("A", "Belarus moves brigades", WIRE)])
    seed(engine, [("B", "B: Belarus moves brigades", f"From B. {WIRE}")])
    seed(
        engine,
        [("C", "Minor note on drills", "Small drills near Minsk, a short note.")],
        severity=Severity.low,
    )
    settings = MonitorFile(
        channels={"desk": ChannelSettings(also_reported="followup", min_severity="medium")}
    )
    sessions = session_factory(engine)
    with http_server() as hook:
        first = run(deliver_due(sessions, sender(hook, settings), later()))
        titles = [p["title"] for p in hook.posted_json()]
    assert first.sent == 1 and first.folded == 2  # B folded, the low one dropped (skipped)
    assert titles == ["[high] Troop movements: Belarus moves brigades"]
    assert sorted(statuses(engine)) == ["folded", "sent", "skipped"]


def test_operator_templates_override_and_stay_escaped(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "alert.md.j2").write_text("ALERT {{ headline }} -> {{ link(url) }}", "utf-8")
    from apprise.plugins.slack import NotifySlack

    seed(engine, [("A", "Troops <!channel> move", WIRE)])
    with http_server() as slack:
        slack.post_body = b"ok"
        original = NotifySlack.webhook_url
        NotifySlack.webhook_url = slack.url("/services")
        try:
            out = Sender(
                Channels({"desk": ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",)}),
                print,
                templates=str(tmp_path),
            )
            assert run(deliver_due(session_factory(engine), out, later())).sent == 1
        finally:
            NotifySlack.webhook_url = original
        [payload] = slack.posted_json()
    text = payload["attachments"][0]["text"]
    assert text.startswith("ALERT Troops &lt;!channel&gt; move") and "<!channel>" not in text


def test_markdown_escaping_of_untrusted_text() -> None:
    from monitor.notify.render import md_escape, safe_url

    assert md_escape("*bold* [x](y) <!here> _i_ `c` #h") == (
        r"\*bold\* \[x\]\(y\) \<\!here\> \_i\_ \`c\` \#h"
    )
    assert (
        safe_url("javascript:alert(1)") == "#" and safe_url("https://e.org/a") == "https://e.org/a"
    )


def test_a_backlog_is_drained_in_one_pass_and_critical_alerts_go_first(engine: Engine) -> None:
    """More due alerts than one claimed batch: one pass sends them all, and a critical alert
    made last is sent first (it must not wait behind a flood of routine ones)."""
    routine = [("Daily", f"Routine story {n}", f"{WIRE} {n}") for n in range(120)]
    seed(engine, routine, severity=Severity.low)
    seed(engine, [("Wire", "Critical story", "Nuclear warheads moved.")], Severity.critical)
    settings = MonitorFile(channels={"desk": ChannelSettings(rate_limit=0)})
    with http_server() as hook:
        report = run(deliver_due(session_factory(engine), sender(hook, settings), later()))
        posted = hook.posted_json()
    assert report.sent + report.folded == 121
    assert statuses(engine).count("pending") == 0
    assert "Critical story" in str(posted[0])


def test_a_story_told_by_hundreds_is_one_alert_and_claiming_does_not_query_per_alert(
    engine: Engine,
) -> None:
    """After a cold start one story may wait in the outbox hundreds of times. Claiming a
    batch looks its stories up in a fixed number of statements (one query per alert made
    the drain take minutes), and copies in later batches still fold under the first."""
    seed(engine, [(f"Outlet {i:03}", f"Brigades move, says {i}", WIRE) for i in range(250)])
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sessions = session_factory(engine)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with sessions.begin() as s:
            claimed = repo.claim_due(s, later(), "probe", 0.0)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(claimed) == 100
    assert len({a.story_id for a in claimed}) == 1
    assert len(statements) <= 5, statements
    with http_server() as hook:
        report = run(deliver_due(sessions, sender(hook), later()))
        assert len(hook.posted_json()) == 1
    assert (report.sent, report.folded) == (1, 249)
    assert statuses(engine).count("folded") == 249


def test_grouping_compares_a_bounded_number_of_close_articles(engine: Engine) -> None:
    """A lead shared by many stored articles (a wire story, a boilerplate paragraph) makes
    them all candidates; only the STORY_CANDIDATES sharing the most band keys are compared,
    and a copy still joins the story."""
    seed(engine, [(f"Outlet {i:03}", f"Brigades move ({i})", WIRE) for i in range(70)])
    since = datetime.now(UTC) - timedelta(days=1)
    keys = band_keys(signature("Brigades move", WIRE))
    with engine.connect() as conn:
        found = story_candidates(conn, keys, since)
        stories = {story for _id, story, _sig in found}
    assert len(found) == STORY_CANDIDATES < 70
    assert len(stories) == 1
    seed(engine, [("Late outlet", "Brigades move, late", WIRE)])
    with session_factory(engine)() as s:
        late = s.scalars(select(ArticleRow.story_id).order_by(ArticleRow.id.desc())).first()
    assert late in stories


def test_items_old_at_their_first_sighting_are_catch_up_in_the_digest_not_alerts(
    engine: Engine,
) -> None:
    """A new feed's back catalogue: stored and matched, but the desk gets it in the digest
    marked catch-up; a channel may ask for every item (catch_up_after: 0)."""
    seed(engine, [("Archive", "Belarus moves brigades", WIRE)])
    with session_factory(engine).begin() as s:
        row = s.scalars(select(ArticleRow)).one()
        row.published_at = row.fetched_at - timedelta(days=13, minutes=1)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [old] = repo.claim_due(s, later(), "probe", 0.0)
    assert decide(old, ChannelSettings(catch_up_after=0), later(), 0).action == "send"
    with http_server() as hook:
        out = sender(hook)
        report = run(deliver_due(sessions, out, later()))
        assert (report.sent, report.to_digest) == (0, 1)
        assert run(send_digest(sessions, out, "desk", later(hours=1))) == 1
        [digest] = hook.posted_json()
    assert "Belarus moves brigades" in digest["message"] and "[catch-up]" in digest["message"]
    with sessions() as s:
        reason = s.scalar(select(DeliveryRow.reason))
    assert reason == "catch-up: 13 days old when first seen"

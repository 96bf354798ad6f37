"""One message per story per channel, on SQLite and PostgreSQL through real apprise to a
loopback receiver: several rules are one message, other outlets and languages fold in,
a follow-up only when it matters (and once), rate limits count stories by severity, and
two workers never both send a story's first message."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from monitor.entities import Article, Document, Evidence, Facts, Figure, Hit, Severity
from monitor.notify.channels import Channels
from monitor.notify.deliver import deliver_due
from monitor.notify.digest import send_digest
from monitor.notify.sender import Sender
from monitor.notify.settings import ChannelSettings, MonitorFile
from monitor.store import repository as repo
from monitor.store import story_messages as told_db
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.store.models import ArticleRow, DeliveryRow, FeedRow
from monitor.stories import signature
from monitor.stories.anchors import anchors
from monitor.stories.embed import E5Embedder, lead
from tests.conftest import _truncate
from tests.servers import HTTPServer, http_server

RULES = {
    "troop-movements": ("Troop movements", Severity.high),
    "belarus-border-activity": ("Belarus border activity", Severity.high),
    "nuclear-weapons-belarus": ("Nuclear weapons in Belarus", Severity.critical),
    "sport": ("Sport", Severity.low),
}
EMBEDDER = E5Embedder()


def hit(rule: str) -> Hit:
    name, severity = RULES[rule]
    return Hit(rule, name, severity, 1.0, (Evidence(rule, "title", "evidence"),), ("desk",))


def troops(*values: float) -> Facts:
    return Facts(figures=tuple(Figure(v, "troops", "people", False, "text", 0, 1) for v in values))


def store(
    engine: Engine,
    feed: str,
    title: str,
    text: str,
    rules: list[str],
    language: str = "en",
    facts: Facts | None = None,
) -> int:
    """One article from ``feed``, hit by ``rules``, read for stories as the pipeline does."""
    article = read(engine, feed, title, text, language, facts)
    with session_factory(engine).begin() as s:
        stored = repo.store_article(s, article, [hit(r) for r in rules])
    assert stored is not None
    return stored


def read(
    engine: Engine, feed: str, title: str, text: str, language: str, facts: Facts | None
) -> Article:
    """The article as the pipeline hands it to the store: embedded, with its anchors."""
    with session_factory(engine).begin() as s:
        known = {f.name: f for f in s.scalars(select(FeedRow))}
        if feed not in known:
            row = FeedRow(name=feed, url=f"https://{len(known)}.example/rss", **FEED)
            s.add(row)
            s.flush()
            known[feed] = row
        feed_id = known[feed].id
    url = f"https://{feed.lower()}.example/{abs(hash(title))}"
    [vector] = EMBEDDER.embed([lead(title, text)])
    return Article(
        feed_id,
        url,
        url,
        url,
        Document(title, text, language, facts=facts),
        "page",
        None,
        datetime.now(UTC),
        signature(title, text),
        embedding=vector,
        anchors=tuple(anchors(title, text, facts).as_list()),
    )


FEED = {"interval_seconds": 600.0, "tags": [], "language": None}


def sender(hook: HTTPServer, **channel: object) -> Sender:
    settings = MonitorFile(channels={"desk": ChannelSettings(**channel)})  # type: ignore[arg-type]
    return Sender(Channels({"desk": (f"json://127.0.0.1:{hook.port}/desk",)}), print, settings)


def deliver(engine: Engine, out: Sender, minutes: float = 0) -> object:
    now = datetime.now(UTC) + timedelta(seconds=1, minutes=minutes)
    return asyncio.run(deliver_due(session_factory(engine), out, now))


def titles(hook: HTTPServer) -> list[str]:
    return [p["title"] for p in hook.posted_json()]


EN = (
    "Belarus and Russia begin joint drills near Brest with 9,000 troops",
    "Belarusian and Russian units started a joint exercise at the Brestsky training ground "
    "on Monday, with about 9,000 troops, tanks and artillery, the defence ministry said.",
)
RU = (
    "Беларусь и Россия начали совместные учения под Брестом с участием 9 тысяч военных",
    "Совместное учение белорусских и российских подразделений началось в понедельник на "
    "Брестском полигоне, в нём задействованы около 9 тысяч военнослужащих и танки.",
)
UK = (
    "Білорусь і Росія розпочали спільні навчання біля Бреста, задіяно 9 тисяч військових",
    "Спільні навчання білоруських і російських підрозділів розпочалися в понеділок на "
    "Брестському полігоні, у них беруть участь близько 9 тисяч військовослужбовців.",
)
OTHER = (
    "Dinamo Minsk beat SKA 4-2 in KHL",
    "Dinamo Minsk came back from two goals down to beat SKA St Petersburg 4-2 at home.",
)


def test_three_rules_and_three_languages_are_one_message_naming_the_rules(engine: Engine) -> None:
    store(engine, "Wire", *EN, ["troop-movements", "belarus-border-activity"], facts=troops(9000))
    store(engine, "Ru", *RU, ["troop-movements"], "ru", troops(9000))
    store(engine, "Uk", *UK, ["belarus-border-activity"], "uk", troops(9000))
    with session_factory(engine)() as s:
        stories = set(s.scalars(select(ArticleRow.story_id)))
    assert len(stories) == 1  # linked across languages when stored
    with http_server() as hook:
        report = deliver(engine, sender(hook))
        [message] = hook.posted_json()
        assert run_digest(engine, sender(hook)) == 2  # the other languages, "also reported"
        digest = hook.posted_json()[-1]["message"]
    assert message["title"] == ("[high] Belarus border activity, Troop movements: " + EN[0])
    assert "reported by 3 outlets in en, ru, uk" in message["message"]
    assert report.sent == 1  # type: ignore[attr-defined]
    assert "Ru" in digest and "Uk" in digest


def run_digest(engine: Engine, out: Sender) -> int | None:
    later = datetime.now(UTC) + timedelta(hours=1)
    return asyncio.run(send_digest(session_factory(engine), out, "desk", later))


def test_a_story_that_becomes_critical_sends_one_follow_up_and_copies_fold(
    engine: Engine,
) -> None:
    store(engine, "Wire", *EN, ["troop-movements"], facts=troops(9000))
    with http_server() as hook:
        out = sender(hook)
        deliver(engine, out)
        store(engine, "Ru", *RU, ["troop-movements"], "ru", troops(9000))
        deliver(engine, out)  # a copy in another language: folded, silent
        nuclear = (EN[0] + ", nuclear-capable Iskanders among them", EN[1])
        store(engine, "Second", *nuclear, ["nuclear-weapons-belarus"], facts=troops(9000))
        deliver(engine, out)
        store(
            engine,
            "Third",
            EN[0] + " (update)",
            EN[1],
            ["nuclear-weapons-belarus"],
            facts=troops(9000),
        )
        deliver(engine, out)  # critical again: nothing new to say
        sent = titles(hook)
    assert len(sent) == 2
    assert sent[1].startswith("[critical] follow-up (now critical: Nuclear weapons in Belarus)")
    with session_factory(engine)() as s:
        statuses = list(s.scalars(select(DeliveryRow.status).order_by(DeliveryRow.id)))
    assert statuses == ["sent", "folded", "sent", "folded"]


def test_changed_figures_and_spread_send_one_follow_up_an_hour(engine: Engine) -> None:
    store(engine, "Wire", *EN, ["troop-movements"], facts=troops(9000))
    with http_server() as hook:
        out = sender(hook, followup_outlets=3, followup_languages=0)
        deliver(engine, out)
        # "9,000 at first, 12,000 now": the same story (9,000 agrees), a larger figure
        store(engine, "Ru", *RU, ["troop-movements"], "ru", troops(9000, 12000))
        deliver(engine, out)
        store(engine, "Uk", *UK, ["troop-movements"], "uk", troops(9000, 12000))
        deliver(engine, out)  # 3 outlets now, but a follow-up was sent this hour
        sent = titles(hook)
    assert len(sent) == 2
    assert "figures changed: 9,000 → 12,000 troops" in sent[1]


def test_over_the_limit_only_less_severe_stories_wait_and_critical_never(engine: Engine) -> None:
    store(engine, "Sport", *OTHER, ["sport"])
    with http_server() as hook:
        out = sender(hook, rate_limit=1, digest="0 * * * *")
        deliver(engine, out)  # the low story spends the hour's one message
        store(engine, "Wire", *EN, ["troop-movements"], facts=troops(9000))
        deliver(engine, out)  # high does not wait behind low
        store(
            engine,
            "Other",
            "Lukashenko pardons 30 political prisoners",
            "Alexander Lukashenko pardoned 30 people, his press service said.",
            ["belarus-border-activity"],
        )
        deliver(engine, out)  # high waits behind high
        store(
            engine,
            "Nuke",
            "Oreshnik on combat duty in Belarus, Lukashenko says",
            "The Belarusian leader said Russia's Oreshnik missile was deployed.",
            ["nuclear-weapons-belarus"],
        )
        deliver(engine, out)  # critical never waits
        sent = titles(hook)
    messages = [t for t in sent if not t.startswith("Rate limited")]
    assert [t.split("]")[0] for t in messages] == ["[low", "[high", "[critical"]
    [notice] = [p for p in hook.posted_json() if p["title"] == "Rate limited: desk"]
    assert "1 less severe story waits for the digest at" in notice["message"]


def test_of_two_workers_exactly_one_takes_a_storys_first_message(engine: Engine) -> None:
    sessions = session_factory(engine)
    won: list[bool] = []
    barrier = threading.Barrier(4)

    def take(delivery: int) -> None:
        barrier.wait()
        with sessions.begin() as s:
            won.append(told_db.reserve_first(s, (7, "desk"), delivery, "sending", 3))

    threads = [threading.Thread(target=take, args=(i,)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count(True) == 1
    with sessions.begin() as s:  # a digest-waiting story may still be sent once
        assert told_db.reserve_first(s, (8, "desk"), 10, "digest", 3)
        assert told_db.reserve_first(s, (8, "desk"), 11, "sending", 4)
        assert not told_db.reserve_first(s, (8, "desk"), 12, "sending", 4)


def test_two_replicas_storing_two_languages_of_one_event_at_once_make_one_story(
    postgres_url: str,
) -> None:
    """Replicas (PostgreSQL: SQLite serves one process with one writer) store the English and
    the Russian report in the same moment: linking takes turns under an advisory lock, so
    the second, started while the first's transaction is still open, waits, sees the first
    and joins its story instead of opening another."""
    engine = make_engine(postgres_url)
    _truncate(engine)
    upgrade(engine)
    english = read(engine, "Wire", *EN, "en", troops(9000))
    russian = read(engine, "Ru", *RU, "ru", troops(9000))
    sessions = session_factory(engine)
    stored: list[int | None] = []
    second = threading.Thread(
        target=lambda: stored.append(store_in(sessions, russian)), name="second worker"
    )
    with sessions.begin() as first:
        stored.append(repo.store_article(first, english, [hit("troop-movements")]))
        second.start()
        second.join(1.0)
        assert second.is_alive()  # waiting for the first worker's linking to commit
    second.join(30)
    with sessions() as s:
        stories = set(s.scalars(select(ArticleRow.story_id)))
    engine.dispose()
    assert len(stored) == 2 and None not in stored and len(stories) == 1


def store_in(sessions, article: Article) -> int | None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        return repo.store_article(s, article, [hit("troop-movements")])

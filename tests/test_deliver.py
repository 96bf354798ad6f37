import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from apprise.plugins.slack import NotifySlack

from monitor.config import FeedConfig
from monitor.entities import Alert, Article, Document, Evidence, Hit, Severity
from monitor.errors import DeliveryError
from monitor.notify.channels import Channels
from monitor.notify.deliver import MAX_ATTEMPTS, deliver_due, retry_at
from monitor.notify.sender import Sender
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import utcnow
from tests.servers import SMTPSink, http_server

HOSTILE = "Troops <!channel> <@U024BE7LH> <https://evil.example|click> & more"


def alert(channel: str = "desk", headline: str = "Belarus moves brigades") -> Alert:
    return Alert(
        1,
        channel,
        "troop-movements",
        "Troop movements",
        Severity.high,
        headline,
        "Daily Test",
        "http://e.org/a",
        datetime(2026, 11, 20, tzinfo=UTC),
        (Evidence("brigade*", "text", "two brigades <!here> moved"),),
    )


def store_hit(engine, channels: tuple[str, ...], severity: Severity = Severity.high) -> int:  # type: ignore[no-untyped-def]
    """One stored article with one hit to ``channels``: pending deliveries to send."""
    with session_factory(engine).begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="A")])
        art = Article(
            feed.id, "g", "http://e.org/a", "http://e.org/a", Document("T", "x"), "page", None, None
        )
        article_id = repo.store_article(s, art, [Hit("r", "R", severity, 1.0, (), channels)])
    assert article_id is not None
    return article_id


def test_json_webhook_receives_the_alert() -> None:
    with http_server() as hook:
        sender = Sender(Channels({"desk": (f"json://127.0.0.1:{hook.port}/hook",)}), print)
        sender.send(alert())
        [payload] = hook.posted_json()
    assert payload["title"] == "[high] Troop movements: Belarus moves brigades"
    assert "Link: http://e.org/a" in payload["message"]
    assert "brigade* (text): two brigades <!here> moved" in payload["message"]


def test_slack_plugin_gets_escaped_text_so_nobody_is_pinged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with http_server() as slack:
        slack.post_body = b"ok"
        monkeypatch.setattr(NotifySlack, "webhook_url", slack.url("/services"))
        url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
        Sender(Channels({"desk": (url,)}), print).send(alert(headline=HOSTILE))
        [payload] = slack.posted_json()
    raw = json.dumps(payload)
    for dangerous in ("<!channel>", "<!here>", "<@U024BE7LH>", "<https://evil.example|click>"):
        assert dangerous not in raw
    attachment = payload["attachments"][0]
    assert "&lt;!channel&gt;" in attachment["title"] and "&amp; more" in attachment["title"]
    assert "&lt;!here&gt;" in attachment["text"] and "&lt;@U024BE7LH&gt;" in attachment["text"]
    assert payload["mrkdwn"] is True  # our own markup works: a headline link, bold terms
    assert attachment["text"].startswith("*<http://e.org/a|Troops &lt;!channel&gt;")
    assert "*brigade*" not in attachment["text"]  # the term is brigade*, the word "brigades"


def test_email_has_html_and_text_parts_and_no_header_injection() -> None:
    smtp = SMTPSink().start()
    try:
        sender = Sender(Channels({"email": (smtp.url(),)}), print)
        sender.send(alert("email", headline="Hi\r\nBcc: victim@example.org <script>x</script>"))
        [message] = smtp.messages
    finally:
        smtp.stop()
    assert (
        message["Subject"]
        == "[high] Troop movements: Hi Bcc: victim@example.org <script>x</script>"
    )
    assert message["Bcc"] is None
    assert message.get_content_type() == "multipart/alternative"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "&lt;script&gt;x&lt;/script&gt;" in parts["text/html"]
    assert "<script>" not in parts["text/html"]
    assert '<a href="http://e.org/a">' in parts["text/html"]
    assert "two brigades" in parts["text/plain"]


def test_failing_channel_raises_with_its_name() -> None:
    with http_server() as hook:
        hook.post_status = 500
        sender = Sender(Channels({"desk": (f"json://127.0.0.1:{hook.port}/hook",)}), print)
        with pytest.raises(DeliveryError, match="channel 'desk'"):
            sender.send(alert())


def test_unconfigured_channel_says_which_variable_to_set() -> None:
    sender = Sender(Channels({"desk": ("json://127.0.0.1:9/x",)}), print)
    with pytest.raises(DeliveryError, match="not configured \\(set MONITOR_CHANNEL_SLACK\\)"):
        sender.send(alert("slack"))


def test_no_channels_at_all_prints_alerts() -> None:
    out = io.StringIO()
    Sender(Channels({}), out.write).send(alert("anything"))
    assert "[high] Troop movements: Belarus moves brigades" in out.getvalue()


def test_retry_schedule_backs_off_with_jitter_then_gives_up() -> None:
    import random

    now = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(1)
    delays = [retry_at(n, now, rng) for n in range(1, MAX_ATTEMPTS + 1)]
    assert MAX_ATTEMPTS == 8 and delays[-1] is None
    steps = [(d - now).total_seconds() / 60 for d in delays[:-1] if d]
    for n, minutes in enumerate(steps):
        assert 0.8 * 3 * 2**n <= minutes <= 1.2 * 3 * 2**n
    assert 4.5 * 60 < sum(steps) < 8 * 60  # about six hours from first failure to giving up
    again = [retry_at(1, now, rng) for _ in range(5)]
    assert len(set(again)) > 1  # jitter spreads retries of many alerts


def test_one_broken_channel_never_blocks_another(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    store_hit(engine, ("good", "bad"), Severity.low)
    with http_server() as good, http_server() as bad:
        bad.post_status = 500
        channels = Channels(
            {"good": (f"json://127.0.0.1:{good.port}/",), "bad": (f"json://127.0.0.1:{bad.port}/",)}
        )
        report = asyncio.run(deliver_due(sessions, Sender(channels, print)))
        assert (report.sent, report.retrying, report.failed) == (1, 1, 0)
        assert len(good.posted_json()) == 1
        again = asyncio.run(deliver_due(sessions, Sender(channels, print)))
        assert (again.sent, again.retrying) == (0, 0)  # the retry is not due yet
        assert len(good.posted_json()) == 1  # and the good channel is never resent
    with sessions() as s:
        [view] = repo.recent_hits(s, utcnow() - timedelta(hours=1))
    assert view.deliveries == (("bad", "pending"), ("good", "sent"))


def test_alerts_link_to_the_story_page_when_a_base_url_is_set(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    article_id = store_hit(engine, ("desk",))
    with http_server() as hook:
        channels = Channels({"desk": (f"json://127.0.0.1:{hook.port}/",)})
        linked = Sender(channels, print, base_url="https://monitor.example/desk/")
        assert asyncio.run(deliver_due(sessions, linked)).sent == 1
        [posted] = hook.posted_json()
    assert f"Story: https://monitor.example/desk/stories/{article_id}" in posted["message"]


def test_delivery_does_its_database_work_on_the_executor_it_is_given(engine) -> None:  # type: ignore[no-untyped-def]
    """Claims, routing and results run on the database thread, not on the event loop."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import current_thread

    from sqlalchemy import event

    threads: set[str] = set()
    event.listen(engine, "checkout", lambda *_: threads.add(current_thread().name))
    sessions = session_factory(engine)
    store_hit(engine, ("desk",))
    with sessions.begin() as s:
        repo.queue_notice(s, "admin", "Feed down: A", "A has been failing")
    threads.clear()
    db = ThreadPoolExecutor(1, "dbwork")
    with http_server() as hook:
        channels = Channels({k: (f"json://127.0.0.1:{hook.port}/{k}",) for k in ("desk", "admin")})
        report = asyncio.run(deliver_due(sessions, Sender(channels, print), db=db))
    db.shutdown()
    assert (report.sent, report.notices) == (1, 1)
    assert threads == {"dbwork_0"}


def test_a_transport_is_chosen_by_the_url_scheme() -> None:
    """A channel type apprise lacks: a class with target and send, mapped to its scheme."""
    from monitor.notify.channels import StdoutTransport, transport_for, transports
    from monitor.notify.render import Message, Target

    class Pager:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str, Message]] = []

        def target(self, url: str) -> Target:
            return "txt"

        def send(self, channel: str, url: str, message: Message) -> None:
            self.sent.append((channel, url, message))

    pager = Pager()
    table = {**transports(print), "pager": pager}
    assert isinstance(transport_for(table, "stdout"), StdoutTransport)
    assert transport_for(table, "PAGER://desk") is pager
    assert type(transport_for(table, "json://x/")).__name__ == "AppriseTransport"
    sender = Sender(Channels({"desk": ("pager://desk-7",)}), print, carriers=table)
    sender.send(alert())
    [(channel, url, message)] = pager.sent
    assert (channel, url) == ("desk", "pager://desk-7")
    assert message.title == "[high] Troop movements: Belarus moves brigades"


def test_a_retry_goes_only_to_the_targets_that_failed(engine) -> None:  # type: ignore[no-untyped-def]
    """A channel of two targets, one refusing: the working one gets the alert exactly once
    across every retry; the refusing one is tried each time, its answer kept."""
    sessions = session_factory(engine)
    store_hit(engine, ("combo",))
    with http_server() as good, http_server() as bad:
        bad.post_status = 500
        combo = (f"json://127.0.0.1:{good.port}/ok", f"json://127.0.0.1:{bad.port}/refuses")
        sender = Sender(Channels({"combo": combo}), print)
        reports = [
            asyncio.run(deliver_due(sessions, sender, utcnow() + timedelta(hours=hours)))
            for hours in (0, 1, 3)
        ]
        assert [r.retrying for r in reports] == [1, 1, 1]
        assert len(good.posted_json()) == 1 and len(bad.posted_json()) == 3
        with sessions() as s:
            [row] = repo.list_deliveries(s)
        assert "json: " in (row.last_error or "") and row.status == "pending"
        bad.post_status = 200
        last = asyncio.run(deliver_due(sessions, sender, utcnow() + timedelta(hours=8)))
        assert last.sent == 1
        assert len(good.posted_json()) == 1 and len(bad.posted_json()) == 4


def test_slack_gets_text_as_written_with_only_its_own_specials_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack's mrkdwn needs only & < > escaped: rule ids, times and sentence ends arrive as
    written, with no backslashes."""
    with http_server() as slack:
        slack.post_body = b"ok"
        monkeypatch.setattr(NotifySlack, "webhook_url", slack.url("/services"))
        url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
        headline = "Колонна вышла к границе: 12:00 & далее до рубежей."
        Sender(Channels({"desk": (url,)}), print).send(alert(headline=headline))
        [payload] = slack.posted_json()
    text = payload["attachments"][0]["text"]
    assert "\\" not in text
    assert "troop-movements" in text and "2026-11-20 00:00 UTC" in text
    assert "12:00 &amp; далее до рубежей.|" in text or "рубежей.>" in text


def test_the_emails_text_part_has_the_links_and_one_snippet_a_line() -> None:
    smtp = SMTPSink().start()
    try:
        sender = Sender(Channels({"email": (smtp.url(),)}), print, base_url="https://m.example")
        sender.send(alert("email"))
        [message] = smtp.messages
    finally:
        smtp.stop()
    [text] = [
        p.get_payload(decode=True).decode()
        for p in message.walk()
        if p.get_content_type() == "text/plain"
    ]
    assert "Link: http://e.org/a" in text
    assert "Story: https://m.example/stories/" in text

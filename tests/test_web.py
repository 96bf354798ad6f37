"""The web app through its ASGI interface against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, update

from monitor.config import Config, FeedConfig
from monitor.config.web import WebSettings, hash_password
from monitor.entities import Article, Document
from monitor.extractor import ExtractorPool
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import LinkGuard
from monitor.feeds.hosts import HostLimiter
from monitor.feeds.pages import Pages
from monitor.rules import compile_rules, load_rules
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import ArticleRow, DeliveryRow, StoryLinkRow
from monitor.stories import signature
from monitor.web import api, pages, websub
from monitor.web.app import create_app
from monitor.web.runtime import Runtime
from tests.conftest import REPO, to_default

TOKEN = "s3cret-token"
HEADLINE = "Troops <script>alert(1)</script> moved to the Belarus border"
TEXT = "Russian troops and armour moved towards the Belarus border near Brest on Monday."


def seed(engine: Engine) -> int:
    sessions = session_factory(engine)
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://wire.example/rss", name="Wire")])
        doc = Document(HEADLINE, TEXT, "en", feed="Wire")
        article = Article(
            feed.id,
            "g1",
            "https://wire.example/a/1",
            "https://wire.example/a/1",
            doc,
            "page",
            None,
            datetime(2026, 11, 21, tzinfo=UTC),
            signature(HEADLINE, TEXT),
        )
        found = matcher.match(doc)
        assert found
        article_id = repo.store_article(s, article, to_default(found))
    assert article_id is not None
    return article_id


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    users = {"ana": hash_password("correct horse")}
    config = Config(rules_dir=REPO / "rules", web=WebSettings(None, TOKEN, users, b"k" * 32))
    sessions = session_factory(engine)
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    page_client = make_client("test", 2, guarded=True)
    pool = ExtractorPool(1, 10, 1024).start()
    pages = Pages(page_client, HostLimiter(2, 0), LinkGuard(()), config.fetch, pool.extract)
    runtime = Runtime(config, sessions, lambda: matcher, pages.text)
    try:
        yield TestClient(create_app(runtime))
    finally:
        pool.close()


def signed_in(client: TestClient) -> TestClient:
    response = client.post("/login", data={"password": TOKEN}, follow_redirects=False)
    assert response.status_code == 303
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_every_route_but_the_probes_refuses_without_credentials(client: TestClient) -> None:
    seed_id = 1
    assert client.get("/healthz").text == "ok"
    assert client.get("/readyz").status_code in {200, 503}
    app_routes = [r for r in client.app.routes if hasattr(r, "path")]  # type: ignore[attr-defined]
    routes = [*app_routes, *pages.router.routes, *api.router.routes, *websub.router.routes]
    assert len(routes) > 15
    for route in routes:
        path = route.path.replace("{article_id}", str(seed_id))
        path = path.replace("{story_id}", str(seed_id))
        if path in {"/healthz", "/readyz", "/login", "/local-time.js"}:  # the sign-in page's
            continue
        if path == "/websub/{key}":  # hubs sign nothing in: a key we made, and an HMAC
            assert client.get(path).status_code == client.post(path).status_code == 404
            continue
        for method in route.methods - {"HEAD"}:
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code in {401, 303}, (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")
    wrong = client.get("/api/hits", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    bad_cookie = client.get("/", cookies={"monitor_session": "forged"}, follow_redirects=False)
    assert bad_cookie.status_code == 303


def test_sign_in_hits_article_with_highlights_and_escaped_headline(
    client: TestClient, engine: Engine
) -> None:
    article_id = seed(engine)
    assert client.post("/login", data={"password": "wrong"}).status_code == 401
    named = client.post(
        "/login", data={"user": "ana", "password": "correct horse"}, follow_redirects=False
    )
    assert named.status_code == 303
    hits = client.get("/")
    assert hits.status_code == 200 and "ana" in hits.text
    assert "<script>alert(1)</script>" not in hits.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hits.text
    assert f'href="/articles/{article_id}"' in hits.text
    page = client.get(f"/articles/{article_id}").text
    assert re.search(r"<mark>[^<]*troops[^<]*</mark>", page) and "<mark>Belarus</mark>" in page
    assert "<script>alert" not in page
    assert "Belarus border activity" in page and "default: <span" in page
    for path in ("/feeds", "/rules", "/alerts", "/playground"):
        assert client.get(path).status_code == 200, path
    assert "Wire" in client.get("/feeds").text
    assert "troop-movements" in client.get("/rules").text


def test_hit_filters_and_search_use_the_rule_query_syntax(
    client: TestClient, engine: Engine
) -> None:
    seed(engine)
    signed_in(client)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    every = client.get("/api/hits", headers=auth).json()["hits"]
    assert {h["rule_id"] for h in every} >= {"belarus-border-activity"}
    only = client.get("/api/hits?rule=belarus-border-activity", headers=auth).json()["hits"]
    assert [h["rule_id"] for h in only] == ["belarus-border-activity"]
    assert client.get("/api/hits?language=uk", headers=auth).json()["hits"] == []
    assert client.get("/api/hits?severity=critical", headers=auth).json()["hits"] == []
    found = client.get("/api/hits", params={"q": "troops NEAR/3 armour"}, headers=auth).json()
    assert found["hits"]
    none = client.get("/api/hits", params={"q": "troops AND NOT brest"}, headers=auth).json()
    assert none["hits"] == []
    broken = client.get("/api/hits", params={"q": "troops AND ("}, headers=auth)
    assert broken.status_code == 400 and "search" in broken.json()["detail"]
    assert "troops AND (" in client.get("/", params={"q": "troops AND ("}).text


def test_retry_needs_the_csrf_token(client: TestClient, engine: Engine) -> None:
    seed(engine)
    with session_factory(engine).begin() as s:
        s.execute(update(DeliveryRow).values(status="failed", last_error="HTTP 500"))
    signed_in(client)
    page = client.get("/alerts").text
    assert "HTTP 500" in page
    assert client.post("/alerts/retry", data={}).status_code == 403
    assert client.post("/alerts/retry", data={"csrf": "0" * 64}).status_code == 403
    done = client.post("/alerts/retry", data={"csrf": csrf(page)})
    assert done.status_code == 200 and "queued again" in done.text
    with session_factory(engine)() as s:
        assert set(s.scalars(select(DeliveryRow.status))) == {"pending"}


def test_api_article_feeds_rules_and_openapi(client: TestClient, engine: Engine) -> None:
    article_id = seed(engine)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    article = client.get(f"/api/articles/{article_id}", headers=auth).json()
    assert article["title"] == HEADLINE
    assert article["hits"][0]["deliveries"][0]["channel"] == "default"
    assert client.get("/api/articles/999999", headers=auth).status_code == 404
    assert client.get("/api/feeds", headers=auth).json()[0]["name"] == "Wire"
    rules = client.get("/api/rules", headers=auth).json()
    assert {"troop-movements", "belarus-border-activity"} <= {r["id"] for r in rules["rules"]}
    spec = client.get("/api/openapi.json", headers=auth).json()
    assert {
        "/api/hits",
        "/api/articles/{article_id}",
        "/api/feeds",
        "/api/rules",
        "/api/playground",
    } <= set(spec["paths"])


def test_playground_with_live_rules_a_pasted_rule_and_its_errors(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    live = client.post("/api/playground", json={"title": "Troops", "text": TEXT}, headers=auth)
    assert "belarus-border-activity" in {h["rule_id"] for h in live.json()["hits"]}
    rule = "name: Armour\nseverity: high\nquery: 'armour AND brest'\n"
    mine = client.post("/api/playground", json={"text": TEXT, "rule": rule}, headers=auth).json()
    assert [h["rule_id"] for h in mine["hits"]] == ["playground"]
    assert mine["marks"]["text"]
    broken = "name: Armour\nseverity: high\nquery: 'armour AND'\n"
    bad = client.post("/api/playground", json={"text": TEXT, "rule": broken}, headers=auth).json()
    assert bad["problem"].startswith("playground.yaml:3") and not bad["hits"]
    signed_in(client)
    form = client.get("/playground").text
    shown = client.post(
        "/playground", data={"csrf": csrf(form), "text": TEXT, "title": "<b>x</b>"}
    ).text
    assert "rules fired" in shown and re.search(r"<mark>[^<]*troops[^<]*</mark>", shown)
    assert "<b>x</b>" not in shown and "&lt;b&gt;x&lt;/b&gt;" in shown


def test_the_playground_takes_a_bare_query_and_says_why_not(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bare = "query: 'armour AND minsk'\n"  # no name, no severity: the placeholder's own shape
    tried = client.post("/api/playground", json={"text": TEXT, "rule": bare}, headers=auth).json()
    assert tried["problem"] is None and tried["hits"] == []
    assert tried["why_not"] == {"playground": ["'minsk' not found"]}
    broken = "query: 'armour AND'\n"
    bad = client.post("/api/playground", json={"text": TEXT, "rule": broken}, headers=auth).json()
    assert bad["problem"].startswith("playground.yaml:1")  # the line pasted, not a shifted one
    live = client.post(
        "/api/playground", json={"title": "Hockey in Minsk", "text": "The troops of fans."},
        headers=auth,
    ).json()  # fmt: skip
    assert "excluded by none: 'hockey' found" in live["why_not"]["belarus-border-activity"]
    signed_in(client)
    page = client.post(
        "/playground",
        data={"csrf": csrf(client.get("/playground").text), "text": TEXT, "rule": bare},
    ).text
    assert 'id="why-not"' in page and "&#39;minsk&#39; not found" in page


def test_playground_url_cannot_reach_private_addresses(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for url in ("http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data/"):
        out = client.post("/api/playground", json={"url": url}, headers=auth).json()
        assert out["problem"] and "blocked" in out["problem"], out


def test_readyz_and_metrics(client: TestClient, engine: Engine) -> None:
    seed(engine)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/readyz", headers=auth).text == "ready"
    assert client.get("/readyz").text == "ready"  # open, for probes
    assert client.get("/metrics").status_code == 401
    metrics = client.get("/metrics", headers=auth).text
    assert "monitor_outbox_depth" in metrics and "monitor_feeds_down 0.0" in metrics
    depth = re.search(r"^monitor_outbox_depth (\S+)$", metrics, re.M)
    assert depth and float(depth.group(1)) >= 1
    assert "monitor_oldest_undelivered_seconds" in metrics


def test_an_articles_page_lists_its_revisions_and_where_else_it_was_seen(
    client: TestClient, engine: Engine
) -> None:
    from dataclasses import replace

    article_id = seed(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        wire, other = sorted(
            repo.sync_feeds(
                s,
                [
                    FeedConfig(url="https://wire.example/rss", name="Wire"),
                    FeedConfig(url="https://other.example/rss", name="Other <b>outlet</b>"),
                ],
            ),
            key=lambda f: f.name != "Wire",
        )
        doc = Document("Correction: troops moved to Brest", TEXT, "en", feed="Wire")
        url = "https://wire.example/a/1"
        revised = Article(wire.id, "g1", url, url, doc, "page", None, None)
        repo.store_group(s, [(replace(revised, revises=article_id, revision=2), [])])
        elsewhere = Article(other.id, "o1", url + "?utm_source=x", url, doc, "page", None, None)
        assert repo.store_article(s, elsewhere, []) is None
    page = signed_in(client).get(f"/articles/{article_id}").text
    assert "Revised: this is revision 2" in page
    assert "revision 1: Troops &lt;script&gt;alert(1)&lt;/script&gt; moved" in page
    assert "Other &lt;b&gt;outlet&lt;/b&gt;" in page and "merged" in page


def test_the_feeds_page_shows_what_each_feed_had_counted(
    client: TestClient, engine: Engine
) -> None:
    from monitor.store.models import FeedRow

    seed(engine)
    with session_factory(engine).begin() as s:
        s.execute(update(FeedRow).values(tally_merged=3, tally_charset_guessed=1))
    page = signed_in(client).get("/feeds").text
    assert "counted: 3 merged, 1 charset guessed" in page


def test_readiness_names_what_is_not_ready_and_no_errors_text() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from monitor.web.app import readiness

    unreachable = create_engine("postgresql+psycopg://watcher:pa55word@127.0.0.1:1/x")

    async def no_page(_: str) -> None:
        return None

    runtime = Runtime(
        Config(), sessionmaker(unreachable), lambda: compile_rules([]), no_page, lambda: False
    )
    problems = readiness(runtime)
    assert problems == ["database unreachable", "scheduler not running", "no rules loaded"]
    assert "pa55word" not in " ".join(problems)


def test_the_alerts_page_shows_by_default_everything_not_yet_delivered_and_why(
    client: TestClient, engine: Engine
) -> None:
    article_id = seed(engine)
    with session_factory(engine).begin() as s:
        [first, *_] = s.scalars(select(DeliveryRow.id).order_by(DeliveryRow.id))
        s.execute(update(DeliveryRow).values(status="sent"))  # the seeded ones went out
        later = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
        rows = [
            {"status": "pending", "attempts": 2, "last_error": "HTTP 502 bad gateway"},
            {"status": "pending", "attempts": 0, "reason": "quiet hours"},
            {"status": "digest", "reason": "rate limited"},
            {"status": "failed", "attempts": 8, "last_error": "554 rejected: policy"},
            {"status": "sent", "reason": "rate limited", "digest_id": None},
        ]
        for offset, values in enumerate(rows):
            s.execute(
                insert(DeliveryRow).values(
                    hit_id=s.scalar(select(DeliveryRow.hit_id).where(DeliveryRow.id == first)),
                    channel=f"c{offset}",
                    next_attempt_at=later,
                    **{"attempts": 0} | values,
                )
            )
    signed_in(client)
    page = client.get("/alerts").text
    assert "retrying: attempt 2 failed, next at 2026-11-21 07:00 UTC" in page
    assert "HTTP 502 bad gateway" in page
    assert "held (quiet hours) until 2026-11-21 07:00 UTC" in page
    assert "waiting for the digest (rate limited)" in page
    assert "given up after 8 attempts" in page and "554 rejected: policy" in page
    assert page.count("<tr>") == 1 + 4  # the header and the four not delivered
    assert f'<a href="/articles/{article_id}">' in page
    everything = client.get("/alerts", params={"view": "all"}).text
    assert everything.count("<tr>") > page.count("<tr>")
    assert client.get("/alerts", params={"view": "failed"}).text.count("<tr>") == 2


def test_an_articles_figures_and_places_are_shown_returned_and_searchable(
    client: TestClient, engine: Engine
) -> None:
    from monitor.language.understand import default_understanding

    seed(engine)  # an article stored without facts
    title, text = "Belarus moves two battalions to Mazyr", "About 9,000 troops gathered near Brest."
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    with session_factory(engine).begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://wire.example/rss", name="Wire")])
        doc = default_understanding().read(Document(title, text, "en", feed="Wire"))
        article = Article(
            feed.id, "g2", "https://wire.example/a/2", "https://wire.example/a/2", doc, "page",
            None, datetime(2026, 11, 22, tzinfo=UTC), signature(title, text),
        )  # fmt: skip
        article_id = repo.store_article(s, article, to_default(matcher.match(doc)))
    signed_in(client)
    page = client.get(f"/articles/{article_id}").text
    assert '<mark class="figure">two battalions</mark>' in page
    assert '<mark class="place">Mazyr</mark>' in page and '<mark class="place">Brest</mark>' in page
    assert "Figures and places:</b> ≈9,000 troops · 2 battalions · Mazyr (BY) · Brest (BY)" in page
    auth = {"Authorization": f"Bearer {TOKEN}"}
    facts = client.get(f"/api/articles/{article_id}", headers=auth).json()["facts"]
    assert [f["value"] for f in facts["figures"]] == [2.0, 9000.0]
    assert [(p["name"], p["country"]) for p in facts["places"]] == [
        ("Mazyr", "BY"),
        ("Brest", "BY"),
    ]

    def found(place: str) -> set[int]:
        hits = client.get("/api/hits", params={"place": place}, headers=auth).json()["hits"]
        return {h["article_id"] for h in hits}

    assert found("BY") == found("brest") == found("Mazyr") == {article_id}
    assert found("UA") == set() and found("%") == set()
    assert len(found("")) == 2
    assert 'value="Brest"' in client.get("/", params={"place": "Brest"}).text


def test_the_front_page_lists_stories_and_a_story_page_says_why_each_report_joined(
    client: TestClient, engine: Engine
) -> None:
    first = seed(engine)
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    sessions = session_factory(engine)
    with sessions.begin() as s:  # a second outlet's report of the story, linked as the store does
        feeds = repo.sync_feeds(
            s,
            [
                FeedConfig(url="https://wire.example/rss", name="Wire"),
                FeedConfig(url="https://ru.example/rss", name="Ru <b>"),
            ],
        )
        feed = next(f for f in feeds if f.name == "Ru <b>")
        title = "Российские войска и бронетехника у границы с Беларусью под Брестом"
        text = "Российские войска и бронетехника в понедельник двинулись к границе под Брестом."
        doc = Document(title, text, "ru", feed="Ru")
        url = "https://ru.example/a/1"
        article = Article(
            feed.id, "r1", url, url, doc, "page", None, datetime(2026, 11, 21, tzinfo=UTC)
        )
        second = repo.store_article(s, article, to_default(matcher.match(doc)))
        s.execute(update(ArticleRow).where(ArticleRow.id == second).values(story_id=first))
        s.execute(
            insert(StoryLinkRow).values(
                article_id=second,
                story_id=first,
                language="ru",
                embedding=b"",
                anchors=["=brst"],
                linked_to=first,
                why="cosine 0.870 + 1 shared (=brst) >= 0.845",
                created_at=datetime.now(UTC),
            )
        )
    signed_in(client)
    front = client.get("/").text
    assert front.count('class="card"') == 1  # two reports, one story
    assert f'href="/stories/{first}"' in front and "2 outlets (Wire, Ru &lt;b&gt;)" in front
    assert "en, ru" in front and "Belarus border activity" in front
    assert '<time datetime="' in front and "data-local" in front
    page = client.get(f"/stories/{first}").text
    assert "cosine 0.870 + 1 shared (=brst) &gt;= 0.845" in page
    assert f'href="/articles/{second}"' in page and "<h3>ru</h3>" in page
    auth = {"Authorization": f"Bearer {TOKEN}"}
    [story] = client.get("/api/stories", headers=auth).json()["stories"]
    assert story["id"] == first and story["outlets"] == ["Wire", "Ru <b>"]
    detail = client.get(f"/api/stories/{first}", headers=auth).json()
    assert [r["id"] for r in detail["reports"]] == [first, second]
    assert detail["reports"][1]["why"].startswith("cosine 0.870")
    assert client.get("/api/stories/999", headers=auth).status_code == 404
    assert client.get("/local-time.js").headers["content-type"].startswith("text/javascript")


def test_search_covers_every_stored_article_and_a_bad_query_shows_no_results(
    client: TestClient, engine: Engine
) -> None:
    seed(engine)
    with session_factory(engine).begin() as s:  # an article no rule hit
        feeds = repo.sync_feeds(
            s,
            [
                FeedConfig(url="https://wire.example/rss", name="Wire"),
                FeedConfig(url="https://t.example/rss", name="Travel"),
            ],
        )
        feed = next(f for f in feeds if f.name == "Travel")
        doc = Document("Antalya hotels full", "Tourists fill Antalya hotels this winter.", "en")
        url = "https://t.example/a/1"
        article = Article(feed.id, "t1", url, url, doc, "page", None, None)
        repo.store_article(s, article, [])
    signed_in(client)
    for path in ("/", "/hits"):
        found = client.get(path, params={"q": "antalya"}).text
        assert "Articles matching the search (1)" in found and "Antalya hotels full" in found
        broken = client.get(path, params={"q": "troops AND ("}).text
        assert 'class="bad"' in broken and "troops AND (" in broken
        assert "Troops &lt;script&gt;" not in broken  # no unfiltered list under the error
    hits = client.get("/hits").text
    assert "Belarus border activity" in hits and "default: pending" in hits
    assert '<div class="snippet">Troops &lt;script&gt;' in hits  # the evidence's snippet
    assert hits.count('class="hit"') == 1  # one row for the article, its three rules in it


def test_signed_in_users_add_and_remove_sources_on_the_feeds_page(
    engine: Engine, tmp_path: Path
) -> None:
    """The feeds page adds a source by its address (discovered and read once, as `monitor
    feeds add` does) and removes one, editing feeds.yaml; only with the CSRF token."""
    from tests.content import Item, rss
    from tests.servers import Route, http_server

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("# the desk's sources\n- {name: Wire, url: 'https://wire.example/rss'}\n")
    config = Config(
        rules_dir=REPO / "rules",
        feeds_path=feeds,
        web=WebSettings(None, TOKEN, {}, b"k" * 32),
    )
    runtime = Runtime(config, session_factory(engine), lambda: None, None)  # type: ignore[arg-type]
    client = signed_in(TestClient(create_app(runtime)))
    with http_server() as site:
        site.routes["/"] = Route(
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head>'
            b"<body>MoD</body></html>"
        )
        site.routes["/rss"] = Route(rss("MoD", [Item("Drills", site.url("/a/1"), "x")]))
        page = client.get("/feeds").text
        form = {"url": site.url("/"), "name": "MoD <b>", "tags": "by, mil"}
        refused = client.post("/feeds/add", data=form, follow_redirects=False)
        added = client.post("/feeds/add", data=form | {"csrf": csrf(page)})
    assert refused.status_code == 403
    assert f"added &#39;MoD &lt;b&gt;&#39;: {site.url('/rss')}, 1 items now" in added.text
    text = feeds.read_text()
    assert text.startswith("# the desk's sources") and site.url("/rss") in text
    removed = client.post("/feeds/remove", data={"name": "Wire", "csrf": csrf(page)})
    assert "removed &#39;Wire&#39;" in removed.text and "wire.example" not in feeds.read_text()
    unknown = client.post("/feeds/add", data={"url": "http://127.0.0.1:9/x", "csrf": csrf(page)})
    assert 'class="bad"' in unknown.text

"""The dashboard under attack: the open dashboard (no credential) cannot be driven or read
by another site, every response carries the security headers, sign-in is rate-limited and
does not tell which names exist, CSRF holds whatever other headers say, signing out ends
the session, and odd input is answered 4xx."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from monitor.config import Config
from monitor.config.web import WebSettings, hash_password
from monitor.rules import compile_rules, load_rules
from monitor.store.db import session_factory
from monitor.web import auth as auth_module
from monitor.web.app import create_app
from monitor.web.runtime import Runtime
from tests.conftest import REPO

LOCAL = "http://127.0.0.1:8080"


async def no_pages(url: str) -> None:
    raise AssertionError("no page is fetched in these tests")


def app_client(engine: Engine, web: WebSettings, base: str = LOCAL) -> TestClient:
    config = Config(rules_dir=REPO / "rules", web=web)
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    runtime = Runtime(config, session_factory(engine), lambda: matcher, no_pages)  # type: ignore[arg-type]
    return TestClient(create_app(runtime), base_url=base)


@pytest.fixture
def open_client(engine: Engine) -> Iterator[TestClient]:
    yield app_client(engine, WebSettings.derive())


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found
    return found.group(1)


def test_the_open_dashboard_answers_only_to_its_loopback_names(open_client: TestClient) -> None:
    assert open_client.get("/").status_code == 200
    for host in ("localhost:8080", "[::1]:8080", "127.0.0.1"):
        assert open_client.get("/", headers={"Host": host}).status_code == 200, host
    # DNS rebinding: the attacker's name, pointed at 127.0.0.1, reads nothing
    rebound = open_client.get("/api/feeds", headers={"Host": "attacker.example:8080"})
    assert rebound.status_code == 403 and "unknown Host" in rebound.text


def test_a_foreign_page_cannot_post_to_the_open_dashboard(open_client: TestClient) -> None:
    token = csrf(open_client.get("/playground").text)
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.127.0.0.1:8080"},
    ):
        refused = open_client.post("/alerts/retry", data={"csrf": token}, headers=headers)
        assert refused.status_code == 403, headers
        assert (
            open_client.post("/playground", data={"text": "x"}, headers=headers).status_code == 403
        )
    same = {"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"}
    assert open_client.post("/alerts/retry", data={"csrf": token}, headers=same).status_code == 200


def test_each_installation_signs_with_its_own_key(engine: Engine) -> None:
    """No credential: the CSRF token is not a constant an attacker could compute."""
    first, second = WebSettings.derive(), WebSettings.derive()
    assert first.secret != second.secret
    tokens = {csrf(app_client(engine, w).get("/playground").text) for w in (first, second)}
    assert len(tokens) == 2


def test_every_response_carries_the_security_headers(open_client: TestClient) -> None:
    for path in ("/", "/healthz", "/login", "/api/feeds", "/nowhere"):
        headers = open_client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path


@pytest.fixture
def users_client(engine: Engine) -> TestClient:
    users = {"ana": hash_password("correct horse")}
    web = WebSettings.derive("https://monitor.example.org/desk", None, users)
    return app_client(engine, web, base="http://monitor.example.org")


def test_sign_in_is_rate_limited_per_address_and_user(users_client: TestClient) -> None:
    for _ in range(10):
        wrong = users_client.post("/login", data={"user": "ana", "password": "guess"})
        assert wrong.status_code == 401
    blocked = users_client.post("/login", data={"user": "ana", "password": "correct horse"})
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text


def test_an_unknown_name_costs_a_password_check_like_a_known_one(
    users_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = auth_module.verify_password

    def spy(password: str, hashed: str) -> bool:
        checked.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(auth_module, "verify_password", spy)
    for user in ("ana", "nobody"):
        assert users_client.post("/login", data={"user": user, "password": "x"}).status_code == 401
    assert len(checked) == 2 and all(h.startswith("scrypt$") for h in checked)


def test_csrf_holds_whatever_other_headers_say_and_sign_out_ends_the_session(
    users_client: TestClient,
) -> None:
    signed = users_client.post(
        "/login", data={"user": "ana", "password": "correct horse"}, follow_redirects=False
    )
    assert signed.status_code == 303
    cookie = signed.cookies.get("monitor_session")
    # the public URL is https (a proxy ends TLS): the cookie says Secure
    assert "secure" in signed.headers["set-cookie"].lower()
    users_client.cookies.set("monitor_session", cookie)
    page = users_client.get("/playground")
    assert page.status_code == 200
    junk = {"Authorization": "Bearer junk"}  # users only: no token, the header proves nothing
    assert users_client.post("/alerts/retry", data={}, headers=junk).status_code == 403
    assert users_client.post("/alerts/retry", data={"csrf": csrf(page.text)}).status_code == 200
    users_client.get("/logout", follow_redirects=False)
    users_client.cookies.set("monitor_session", cookie)  # kept by whoever copied it
    after = users_client.get("/alerts", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "path",
    [
        "/api/articles/99999999999999999999999999",
        "/api/articles/-1",
        "/articles/abc",
        "/?page=abc",
        "/?page=-3",
        "/?page=99999999999999999999",
        "/api/hits?page=0",
        "/?since=forever&severity=loud",
    ],
)
def test_odd_input_is_answered_4xx_or_handled_never_500(open_client: TestClient, path: str) -> None:
    assert open_client.get(path).status_code < 500, path


def test_a_stored_link_that_is_not_http_is_shown_as_text_never_as_a_link(
    open_client: TestClient, engine: Engine
) -> None:
    from monitor.config import FeedConfig
    from monitor.entities import Article, Document
    from monitor.store import repository as repo

    script = "javascript:fetch('/api/feeds').then(r=>r.text()).then(alert)"
    with session_factory(engine).begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="A")])
        doc = Document("Troops at the border", "Troops.")
        article_id = repo.store_article(
            s, Article(feed.id, script, script, script, doc, "feed", None, None), []
        )
    page = open_client.get(f"/articles/{article_id}").text
    assert 'href="javascript:' not in page and "not a web link" in page
    assert "javascript:fetch(&#39;/api/feeds&#39;)" in page  # shown, escaped, as text

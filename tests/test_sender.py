"""Untrusted text pings nobody, on each documented chat, through the real apprise plugin
pointed at a loopback receiver; links stay whole; email and webhooks are left as they are."""

from __future__ import annotations

import json

import apprise.plugins.discord as discord
import apprise.plugins.telegram as telegram
import pytest

from monitor.notify.channels import Channels
from monitor.notify.render import quiet
from monitor.notify.sender import Sender
from tests.servers import HTTPServer, http_server
from tests.test_deliver import alert
from tests.test_streams import certificate  # noqa: F401  (the fixture)

HOSTILE = "Troops @everyone @here <@&123> <@456> <#789> @room <!channel> @admin"
MENTIONS = ("@everyone", "@here", "<@&123>", "<@456>", "<#789>", "@room", "<!channel>", "@admin")


def chat_urls(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(discord.NotifyDiscord, "notify_url", server.url("/discord"))
    monkeypatch.setattr(telegram.NotifyTelegram, "notify_url", server.url("/telegram/bot"))
    port = server.port
    return {
        "discord": "discord://1234/abcd",
        "telegram": "tgram://123456789:abcdefg_hijklmnop/-100123",
        "ntfy": f"ntfy://127.0.0.1:{port}/desk",
        "matrix": f"matrix://monitor:hooktoken@127.0.0.1:{port}/?mode=matrix",
        "signal": f"signal://127.0.0.1:{port}/+15551234567/+15557654321",
    }


def test_no_chat_gets_a_live_mention(monkeypatch: pytest.MonkeyPatch) -> None:
    with http_server() as server:
        server.post_body = b'{"ok": true, "result": {"message_id": 1}, "event_id": "$1"}'
        urls = chat_urls(server, monkeypatch)
        for url in urls.values():
            Sender(Channels({"desk": (url,)}), print).send(alert(headline=HOSTILE))
        posted = {r.path: json.dumps(json.loads(r.body)) for r in server.requests if r.body}
    assert len(posted) == 5, posted.keys()
    for path, payload in posted.items():
        text = json.loads(payload)
        flat = json.dumps(text, ensure_ascii=False)
        assert "Troops" in flat, path
        for mention in MENTIONS:
            assert mention not in flat.replace("&lt;", "<").replace("&amp;", "&"), (path, mention)
        assert "http://e.org/a" in flat, path  # the link stays whole


MARKUP = "Troops <b>moved</b> *bold* _it_ [click](javascript:alert(1)) <a href='x'>a</a>"


@pytest.mark.parametrize("mode", ["html", "markdown"])
def test_telegram_shows_untrusted_markup_as_text_in_either_mode(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram renders HTML or Markdown: a headline's tags, emphasis and links arrive
    escaped for the mode the channel uses, so they show as written and link nowhere."""
    with http_server() as server:
        server.post_body = b'{"ok": true, "result": {"message_id": 1}}'
        monkeypatch.setattr(telegram.NotifyTelegram, "notify_url", server.url("/bot"))
        url = f"tgram://123456789:abcdefg_hijklmnop/-100123/?format={mode}"
        Sender(Channels({"desk": (url,)}), print).send(alert(headline=MARKUP))
        [payload] = [json.loads(r.body) for r in server.requests if r.body]
    text = payload["text"]
    if mode == "html":
        assert payload["parse_mode"] == "HTML"
        assert "&lt;b&gt;moved&lt;/b&gt;" in text and "&lt;a href=" in text
        assert "<a " not in text and "<b>moved" not in text
    else:
        assert payload["parse_mode"].lower().startswith("markdown")
        assert r"\[click\](" in text and r"\*bold\*" in text  # literal, not a link
    assert "http://e.org/a" in text  # our own link stays whole


@pytest.mark.parametrize(
    "url",
    [
        "matrixs://u:p@m.example/#desk",
        "workflows://teams.example/workflow/signature",  # Microsoft Teams (Power Automate)
        "msteams://a/b/c/d",
        "mmost://m.example/token",
    ],
)
def test_the_other_documented_chats_are_chats(url: str) -> None:
    from monitor.notify.render import is_chat

    assert is_chat(url) and not is_chat("mailtos://u:p@m.example") and not is_chat("json://x")


def test_quiet_keeps_links_whole_and_email_and_webhooks_are_untouched() -> None:
    assert quiet("mail me@example.org at https://x.example/@desk") == (
        "mail me@\u200bexample.org at https://x.example/@desk"
    )
    with http_server() as hook:
        url = f"json://127.0.0.1:{hook.port}/h"
        Sender(Channels({"desk": (url,)}), print).send(alert(headline="Call @desk"))
        [payload] = hook.posted_json()
    assert "Call @desk" in payload["title"]  # a webhook is a program: it gets the text as is


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # our own certificate
def test_teams_workflows_get_no_live_mention(certificate: tuple) -> None:  # type: ignore[type-arg]  # noqa: F811
    """Microsoft Teams through Power Automate workflows: HTTPS only, so the loopback
    receiver serves TLS with the test run's own certificate."""
    import ssl

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*certificate)
    with http_server() as teams:
        teams._server.socket = server_tls.wrap_socket(teams._server.socket, server_side=True)
        teams.post_body = b"{}"
        url = f"workflows://127.0.0.1:{teams.port}/workflow1/signature?verify=no"
        Sender(Channels({"desk": (url,)}), print).send(alert(headline=HOSTILE))
        [request] = [r for r in teams.requests if r.method == "POST"]
    flat = json.dumps(json.loads(request.body), ensure_ascii=False)
    assert "Troops" in flat
    for mention in MENTIONS:
        assert mention not in flat, mention

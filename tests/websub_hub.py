"""A WebSub hub for the tests, on loopback: it takes subscription requests, verifies each
intent at the callback with a challenge (as the W3C spec says a hub must), grants leases,
forgets subscribers whose lease ran out, and publishes a body to a topic's subscribers,
signed with each one's secret, or badly signed, or not at all."""

from __future__ import annotations

import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.websub.signature import sign
from tests import content
from tests.conftest import REPO, clean_env
from tests.content import Item, page
from tests.servers import HTTPServer, Request, Route, free_port, http_server, wait_for


@dataclass
class Subscriber:
    callback: str
    topic: str
    secret: str | None
    expires: float  # time.monotonic() when the lease ends


@dataclass(frozen=True)
class Delivery:
    callback: str
    status: int
    at: float  # time.time() when the POST was sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Hub:
    """``lease``: seconds granted whatever was asked; ``deny``: deny every subscription;
    ``status``: what a subscription request is answered (202, or a refusal); ``verify``:
    False for a hub that accepts and never verifies."""

    def __init__(
        self, lease: int = 3600, deny: bool = False, status: int = 202, verify: bool = True
    ) -> None:
        self.lease, self.deny, self.status, self.verify = lease, deny, status, verify
        self.requests: list[dict[str, str]] = []  # every form received
        self.verifications: list[tuple[str, int, bool]] = []  # mode, status, challenge echoed
        self.subscribers: dict[tuple[str, str], Subscriber] = {}  # (callback, topic)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                outer.requests.append(form)
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if outer.status == 202 and outer.verify:  # after answering, as hubs do
                    threading.Thread(target=outer._verify, args=(form,), daemon=True).start()

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _verify(self, form: dict[str, str]) -> None:
        callback, topic, mode = form["hub.callback"], form["hub.topic"], form["hub.mode"]
        if self.deny and mode == "subscribe":
            query = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not on our list"}
            self._get(callback, query)
            return
        challenge = secrets.token_hex(8)
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(self.lease)
        status, body = self._get(callback, query)
        echoed = 200 <= status < 300 and body == challenge
        self.verifications.append((mode, status, echoed))
        with self._lock:
            if echoed and mode == "subscribe":
                expires = time.monotonic() + self.lease
                secret = form.get("hub.secret")
                self.subscribers[(callback, topic)] = Subscriber(callback, topic, secret, expires)
            elif echoed and mode == "unsubscribe":
                self.subscribers.pop((callback, topic), None)

    @staticmethod
    def _get(callback: str, query: dict[str, str]) -> tuple[int, str]:
        url = f"{callback}?{urllib.parse.urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def active(self, topic: str) -> list[Subscriber]:
        """Subscribers of ``topic`` whose lease has not run out (the others are forgotten)."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, s in self.subscribers.items() if s.expires <= now]:
                del self.subscribers[key]
            return [s for s in self.subscribers.values() if s.topic == topic]

    def publish(
        self, topic: str, body: bytes, *, signing: str = "right", content_type: str = ""
    ) -> list[Delivery]:
        """POST ``body`` to every active subscriber of ``topic``. ``signing``: "right" (its
        secret), "wrong" (another secret), "none" (no signature header)."""
        sent = []
        for sub in self.active(topic):
            headers = {
                "Content-Type": content_type or "application/atom+xml",
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
            }
            if signing != "none" and sub.secret:
                secret = sub.secret if signing == "right" else "not-the-secret"
                headers["X-Hub-Signature"] = sign(secret, body)
            request = urllib.request.Request(sub.callback, body, headers, method="POST")
            at = time.time()
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            sent.append(Delivery(sub.callback, status, at))
        return sent

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def hub(**options: Any) -> Iterator[Hub]:
    running = Hub(**options)
    try:
        yield running
    finally:
        running.stop()


def atom(topic: str, hub_url: str, items: list[Item]) -> bytes:
    """An Atom feed advertising ``hub_url`` as its hub and ``topic`` as itself."""
    return content.atom("Wire", items, hub=hub_url, self_url=topic)


@dataclass
class PushedService:
    """`monitor run --http` reading a feed whose hub is ``hub``, alerting to ``hook``."""

    hub: Hub
    site: HTTPServer
    hook: HTTPServer
    proc: subprocess.Popen[bytes]

    @property
    def topic(self) -> str:
        return self.site.url("/feed")

    def alerts(self) -> list[Request]:
        return [r for r in self.hook.requests if r.method == "POST"]

    def push(self, n: int, item: Item, timeout: float = 30.0) -> float | None:
        """Publish ``item`` (its page at /news/<n>) through the hub; the seconds from the
        hub's notification to the alert reaching the webhook, None when none came."""
        link = self.site.url(f"/news/{n}")
        self.site.routes[f"/news/{n}"] = Route(page(item.title, [item.summary]))
        body = atom(self.topic, self.hub.url, [Item(item.title, link, item.summary, link)])
        before = len(self.alerts())
        (delivery,) = self.hub.publish(self.topic, body)
        assert delivery.status == 202, delivery
        if not wait_for(lambda: len(self.alerts()) > before, timeout=timeout, interval=0.01):
            return None
        return self.alerts()[before].at - delivery.at


@contextmanager
def pushed_service(workdir: Path, database_url: str) -> Iterator[PushedService]:
    """The service started on a feed that advertises the hub, once the hub has verified
    its subscription."""
    port = free_port()
    with hub() as the_hub, http_server() as site, http_server() as hook:
        topic = site.url("/feed")
        quiet = Item("Library hours extended", site.url("/news/0"), "Longer hours.", "q")
        site.routes["/feed"] = Route(atom(topic, the_hub.url, [quiet]))
        site.routes["/news/0"] = Route(page(quiet.title, [quiet.summary]))
        (workdir / "feeds.yaml").write_text(f"- {{name: Wire, url: '{topic}'}}\n")
        env = {
            "MONITOR_DATABASE_URL": database_url,
            "MONITOR_FEEDS": str(workdir / "feeds.yaml"),
            "MONITOR_RULES": str(REPO / "rules"),
            "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/hook",
            "MONITOR_BASE_URL": f"http://127.0.0.1:{port}",
            "MONITOR_FETCH_ALLOW": f"127.0.0.1:{the_hub.port}",
        }
        log = workdir / "monitor.log"  # a file: a pipe nobody reads would fill and block it
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [str(REPO / ".venv/bin/monitor"), "run", "--http", f"127.0.0.1:{port}"],
                cwd=workdir,
                env=clean_env(env),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            subscribed = wait_for(lambda: bool(the_hub.active(topic)), timeout=60)
            assert subscribed, log.read_text()[-3000:]
            yield PushedService(the_hub, site, hook, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

"""Real servers on loopback for the tests: feeds and pages, webhook receivers, SMTP."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    trickle: float = 0.0  # seconds between bytes, for slow-server tests
    delay: float = 0.0  # seconds before answering
    gzip: bool = False


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HTTPServer:
    """Serves ``routes`` (path -> Route) and records every request it receives."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.post_status = 200
        self.post_body = b"{}"
        self.post_delay = 0.0  # seconds before answering (timeouts, crash windows)
        self.post_mode = "answer"  # or "drop": read the request, close without answering
        self.post_statuses: list[int] = []  # answers to use first, one per request
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _record(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, self.path, dict(self.headers), self.rfile.read(length))
                outer.requests.append(req)
                return req

            def do_GET(self) -> None:
                self._record()
                outer._serve(self)

            def do_POST(self) -> None:
                self._record()
                if outer.post_delay:
                    time.sleep(outer.post_delay)
                if outer.post_mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status = outer.post_statuses.pop(0) if outer.post_statuses else outer.post_status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.post_body)))
                self.end_headers()
                self.wfile.write(outer.post_body)

        self._server = _Server((host, 0), Handler)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(handler.path) or self.routes.get(handler.path.split("?", 1)[0])
        if route is None:
            handler.send_error(404)
            return
        if route.etag and handler.headers.get("If-None-Match") == route.etag:
            handler.send_response(304)
            handler.send_header("ETag", route.etag)
            handler.end_headers()
            return
        if route.delay:
            time.sleep(route.delay)
        body = gzip.compress(route.body) if route.gzip else route.body
        handler.send_response(route.status)
        for key, value in route.headers.items():
            handler.send_header(key, value)
        if route.etag:
            handler.send_header("ETag", route.etag)
        if route.gzip:
            handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            if route.trickle:
                for i in range(len(body)):
                    handler.wfile.write(body[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(route.trickle)
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def posted_json(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests if r.method == "POST"]

    def start(self) -> HTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def http_server(host: str = "127.0.0.1") -> Iterator[HTTPServer]:
    server = HTTPServer(host).start()
    try:
        yield server
    finally:
        server.stop()


class SMTPSink:
    """aiosmtpd on loopback; ``messages`` holds every message received."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SMTPSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=monitor@example.org&to={to}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait for ``base``/healthz to answer ok; fail with what the process said if it does not."""

    def up() -> bool:
        try:
            return bool(urllib.request.urlopen(f"{base}/healthz", timeout=2).read() == b"ok")
        except OSError:
            return False

    assert wait_for(up, timeout=timeout), proc.stderr.read1().decode() if proc.stderr else ""


class KeepAliveServer:
    """HTTP/1.1 with keep-alive on raw asyncio streams; counts connections, open and
    total. ``hang_up``: close every connection after its first answer, unannounced;
    ``body``: what every answer carries; ``tls``: serve HTTPS with this context."""

    def __init__(
        self,
        hang_up: bool = False,
        delay: float = 0.0,
        body: bytes = b"ok",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.hang_up, self.delay, self.body, self.tls = hang_up, delay, body, tls
        self.accepted = self.open = self.peak = 0
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        serving = asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        server = self._loop.run_until_complete(serving)
        self._server, self.port = server, server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await asyncio.sleep(0.05)
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()  # an answer still waiting out its delay
            await asyncio.sleep(0)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while (await reader.readuntil(b"\r\n\r\n")) and not writer.is_closing():
                await asyncio.sleep(self.delay)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n\r\n"
                writer.write(head.encode() + self.body)
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.close()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"


@contextmanager
def keep_alive_servers(count: int, **options: object) -> Iterator[list[KeepAliveServer]]:
    started = [KeepAliveServer(**options) for _ in range(count)]  # type: ignore[arg-type]
    for server in started:
        server._thread.start()
        server._ready.wait(5)
    try:
        yield started
    finally:
        for server in started:
            server.stop()

"""How the web app is served: with no credential configured it listens on 127.0.0.1 only,
whatever address was asked, and says so (log and a banner on every page); MONITOR_BASE_URL
reaches the alerts."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from monitor.config import Config
from monitor.config.web import WebSettings
from monitor.web.server import listen_address
from tests.conftest import REPO, clean_env
from tests.servers import free_port, wait_healthy


def listening(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def test_without_credentials_it_listens_on_loopback_only_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        {
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
            "MONITOR_RULES": str(REPO / "rules"),
        }
    )
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/monitor"), "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert listening(port) == {"127.0.0.1"}
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "listens on 127.0.0.1 only" in page
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "the web app listens on 127.0.0.1 only, not 0.0.0.0" in err.decode()
    assert "set one of them" in err.decode()  # and says how to open it


def test_with_a_credential_the_asked_address_is_kept() -> None:
    locked = Config(web=WebSettings(None, "token", {}, b"k" * 32))
    assert listen_address(":8080", locked) == ("0.0.0.0", 8080)
    assert listen_address("10.1.2.3:9000", locked) == ("10.1.2.3", 9000)
    open_ = Config(web=WebSettings(None, None, {}, b"k" * 32))
    assert listen_address(":8080", open_) == ("127.0.0.1", 8080)


def test_base_url_is_read_from_the_environment() -> None:
    config = Config.from_env({"MONITOR_BASE_URL": "https://monitor.example/desk/"})
    assert config.web.base_url == "https://monitor.example/desk"

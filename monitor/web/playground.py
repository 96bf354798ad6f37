"""The rule playground: a text or a URL through the live rules, or through a rule pasted
as YAML, with hits, evidence and highlights. Nothing is stored.

Compiling and matching run on threads of their own, a few at a time, with a size limit
and a time limit: a pasted rule or text is a person's input and must never hold up the
event loop (polls, deliveries, /healthz)."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, TypeVarTuple

from monitor.entities import Document, Hit
from monitor.errors import ConfigError, StageError
from monitor.rules import Matcher, compile_rules
from monitor.rules.explain import explain, near_misses
from monitor.rules.load import load_rule
from monitor.web.runtime import Runtime

PLAYGROUND_FILE = "playground.yaml"  # the name errors in a pasted rule are reported under
MAX_TEXT = 1_000_000  # characters of a pasted text (an article page is far less)
MAX_RULE = 200_000  # characters of a pasted rule
TIME_LIMIT = 10.0  # seconds a trial may take
_THREADS = ThreadPoolExecutor(2, "playground")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Trial:
    title: str = ""
    text: str = ""
    hits: list[Hit] = field(default_factory=list)
    marks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    problem: str | None = None
    why_not: dict[str, list[str]] = field(default_factory=dict)  # rule id -> reasons


# What a rule file needs that a trial does not: supplied when the pasted YAML lacks it, so
# "name: ... / query: ..." or a bare "query: ..." can be tried at once.
TRIAL_DEFAULTS = {"name": "Playground rule", "severity": "info"}


def with_defaults(rule_yaml: str) -> str:
    """The pasted YAML with ``name`` and ``severity`` added at the end when missing (lines
    stay where they were, so errors point at what was pasted)."""
    missing = [k for k in TRIAL_DEFAULTS if not re.search(rf"(?m)^{k}\s*:", rule_yaml)]
    tail = "".join(f"\n{k}: {TRIAL_DEFAULTS[k]}" for k in missing)
    return rule_yaml.rstrip("\n") + tail + "\n" if tail else rule_yaml


def pasted_rule(rule_yaml: str) -> tuple[Matcher | None, str | None]:
    """Compile a pasted rule with the same checks and located errors as `rules check`:
    the matcher, or None and the error under the name playground.yaml."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / PLAYGROUND_FILE
        path.write_text(with_defaults(rule_yaml), "utf-8")
        try:
            return compile_rules([load_rule(path)]), None
        except ConfigError as exc:
            return None, str(exc).replace(str(path), PLAYGROUND_FILE)


async def _off_loop(work: Callable[[*Ts], T], *args: *Ts) -> T:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(TIME_LIMIT):
        return await loop.run_in_executor(_THREADS, work, *args)


async def try_rules(
    runtime: Runtime, text: str = "", url: str = "", title: str = "", rule_yaml: str = ""
) -> Trial:
    if len(text) + len(title) > MAX_TEXT or len(rule_yaml) > MAX_RULE:
        return Trial(
            problem=f"too long: at most {MAX_TEXT} characters of text and {MAX_RULE} of rule"
        )
    try:
        return await _try(runtime, text, url, title, rule_yaml)
    except TimeoutError:
        return Trial(title, text, problem=f"took longer than {TIME_LIMIT:g}s: try a shorter text")


async def _try(runtime: Runtime, text: str, url: str, title: str, rule_yaml: str) -> Trial:
    if rule_yaml.strip():
        matcher, problem = await _off_loop(pasted_rule, rule_yaml)
    else:
        matcher, problem = runtime.matcher(), None
    if matcher is None:
        return Trial(title, text, problem=problem)
    if url.strip() and not text.strip():
        try:
            page = await runtime.fetch_page(url.strip())
        except StageError as exc:
            return Trial(title, text, problem=f"{url}: {exc}")
        if page is None:
            return Trial(title, text, problem=f"{url}: no article text found on the page")
        title, text = title or page.title, page.text
    if not (title.strip() or text.strip()):
        return Trial(problem="paste a text or give a URL")
    doc = Document(title=title, text=text)
    hits, marks = await _off_loop(matcher.marks, doc)
    # A pasted rule that does not fire says why; of the live rules, those holding some of
    # their terms (near misses).
    why = await _off_loop(explain if rule_yaml.strip() else near_misses, matcher, doc)
    return Trial(title, text, hits, marks, why_not=why)

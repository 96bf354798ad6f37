"""The rule playground: a text or a URL through the live rules, or through a rule pasted
as YAML, with hits, evidence and highlights. Nothing is stored."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from monitor.entities import Document, Hit
from monitor.errors import ConfigError, StageError
from monitor.rules import Matcher, compile_rules
from monitor.rules.load import load_rule
from monitor.web.runtime import Runtime

PLAYGROUND_FILE = "playground.yaml"  # the name errors in a pasted rule are reported under


@dataclass(frozen=True)
class Trial:
    title: str = ""
    text: str = ""
    hits: list[Hit] = field(default_factory=list)
    marks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    problem: str | None = None


def pasted_rule(rule_yaml: str) -> tuple[Matcher | None, str | None]:
    """Compile a pasted rule with the same checks and located errors as `rules check`:
    the matcher, or None and the error under the name playground.yaml."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / PLAYGROUND_FILE
        path.write_text(rule_yaml, "utf-8")
        try:
            return compile_rules([load_rule(path)]), None
        except ConfigError as exc:
            return None, str(exc).replace(str(path), PLAYGROUND_FILE)


async def try_rules(
    runtime: Runtime, text: str = "", url: str = "", title: str = "", rule_yaml: str = ""
) -> Trial:
    matcher, problem = pasted_rule(rule_yaml) if rule_yaml.strip() else (runtime.matcher(), None)
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
    hits, marks = matcher.marks(Document(title=title, text=text))
    return Trial(title, text, hits, marks)

"""The language layer's cost per article: identification, figures and places (the
``language`` and ``understand`` stages), and compiling the shipped rules with their word
forms; the process's memory with every model loaded. One core, one process.

    .venv/bin/python bench/language_bench.py [--repeat 5]

Texts: the labelled evaluation articles (tests/eval/articles.yaml) and ../shared/corpus.
Prints a Markdown table (docs/performance.md keeps the last one). Not a test.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from monitor.entities import Document
from monitor.language import LanguageIdentifier
from monitor.language.understand import default_understanding
from monitor.rules import compile_rules, load_rules

REPO = Path(__file__).resolve().parents[1]


def texts() -> dict[str, list[tuple[str, str]]]:
    """Short labelled articles (a headline and a lead), and the real long ones."""
    items = yaml.safe_load((REPO / "tests" / "eval" / "articles.yaml").read_text("utf-8"))
    corpus = REPO.parent / "shared" / "corpus"
    if not corpus.is_dir():
        corpus = REPO / "tests" / "corpus"
    long = []
    for path in sorted(corpus.glob("*.txt")):
        lines = path.read_text("utf-8").splitlines()
        long.append((lines[0], "\n".join(lines[1:])))
    return {"labelled": [(i["title"], i["text"]) for i in items], "corpus": long}


def per_article_ms(
    work: Callable[[str, str], object], docs: Sequence[tuple[str, str]], repeat: int
) -> float:
    rounds = []
    for _ in range(repeat):
        started = time.process_time()
        for title, text in docs:
            work(title, text)
        rounds.append((time.process_time() - started) / len(docs) * 1000)
    return statistics.median(rounds)


def language_costs(
    sets: dict[str, list[tuple[str, str]]], repeat: int = 5
) -> list[tuple[str, str]]:
    """(what, cost) rows: each stage's CPU per article, and memory with all loaded."""
    rows = []
    started = time.process_time()
    understanding = default_understanding()
    identifier = LanguageIdentifier()
    identifier.identify("warm up", "the detector loads its models on first use")
    took = time.process_time() - started
    rows.append(
        ("loading dictionaries, lexicon, gazetteer, language models", f"{took:.2f} s CPU once")
    )
    started = time.process_time()
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    took = (time.process_time() - started) * 1000
    rows.append(("compiling the shipped rules with their word forms", f"{took:.0f} ms"))
    for name, docs in sets.items():
        if not docs:
            continue
        kb = statistics.mean(len(t) + len(x) for t, x in docs) / 1024
        read = [understanding.read(Document(t, x)) for t, x in docs]
        found = sum(len(d.facts.figures) + len(d.facts.places) for d in read if d.facts)
        label = f"{len(docs)} {name} articles of {kb:.1f} KB"
        identify = per_article_ms(identifier.identify, docs, repeat)
        facts = per_article_ms(understanding.facts, docs, repeat)
        match = per_article_ms(lambda t, x, m=matcher: m.match(Document(t, x)), docs, repeat)
        rows.append((f"language (identify), {label}", f"{identify:.2f} ms per article"))
        rows.append(
            (
                f"understand (figures, places), {label}",
                f"{facts:.2f} ms per article, {found / len(docs):.1f} facts",
            )
        )
        rows.append((f"match (6 shipped rules), {label}", f"{match:.2f} ms per article"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS with every model loaded", f"{rss:.0f} MB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| step | cost |\n| --- | ---: |")
    for what, cost in language_costs(texts(), args.repeat):
        print(f"| {what} | {cost} |")


if __name__ == "__main__":
    main()

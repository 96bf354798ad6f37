"""Storing alone: CPU per article stored on SQLite, by articles per transaction, stored
one call per article (`store_article`) or one call per group (`store_articles`).

    .venv/bin/python bench/store_bench.py [--articles 5000] [--per 10,50] [--repeat 3]
    strace -f -c -e trace=pwrite64,pread64 .venv/bin/python bench/store_bench.py --per 10 --repeat 1

Articles are built before the clock starts from the feed farm's items (bench/farm.py:
distinct articles, every 20th another feed's wire copy, as in the pipeline benchmark), with
their MinHash signatures and the shipped rules' hits. Then they are stored into a
fresh SQLite database (monitor's own engine and pragmas), N per transaction, as polls
stored together would be. CPU is the process's, every thread, user and system: SQLite's
I/O is system time. Under strace, the second command counts the writes and reads behind
it. Prints a Markdown table. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from farm import Farm

from monitor.config import FeedConfig
from monitor.entities import Article, Document, Hit
from monitor.feeds.urls import canonical_url
from monitor.rules import compile_rules, load_rules
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.stories import signature

REPO = Path(__file__).resolve().parent.parent
ITEMS = 10  # per farm feed


def articles(count: int) -> tuple[list[FeedConfig], list[tuple[int, Article, list[Hit]]]]:
    """Feeds, and (feed index, article, hits) for ``count`` articles."""
    farm = Farm(feeds=count // ITEMS, items=ITEMS)
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    feeds = [FeedConfig(url=f"http://127.0.0.1/f/{f}.xml", name=f"f{f}") for f in range(farm.feeds)]
    built = []
    for f in range(farm.feeds):
        for j, item in enumerate(farm._items[f]):
            text = "\n".join(item.paragraphs)
            url = f"http://127.0.0.1/a/{f}/{j}.html"
            doc = Document(title=item.title, text=text, url=url, feed=f"f{f}")
            sig = signature(item.title, text)
            art = Article(0, url, url, canonical_url(url), doc, "page", None, item.published, sig)
            built.append((f, art, matcher.match(doc)))
    return feeds, built


def cpu_per_article(
    feeds: list[FeedConfig], built: list[tuple[int, Article, list[Hit]]], per: int, group: bool
) -> float:
    """ms of process CPU per article stored, ``per`` articles per transaction, in one call
    (``group``) or one call per article."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            ids = [ref.id for ref in repo.sync_feeds(session, feeds)]
        todo = [(replace(a, feed_id=ids[f]), hits) for f, a, hits in built]
        started = time.process_time()
        for start in range(0, len(todo), per):
            with sessions.begin() as session:
                if group:
                    repo.store_articles(session, todo[start : start + per], channels)
                    continue
                for article, hits in todo[start : start + per]:
                    repo.store_article(session, article, hits, channels)
        spent = time.process_time() - started
        engine.dispose()
    return spent / len(todo) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--per", default="10,50", help="articles per transaction")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    feeds, built = articles(args.articles)
    print(f"Median of {args.repeat} runs (range)")
    print("| Articles per transaction | CPU per article: a call per article | a call per group |")
    print("| --- | --- | --- |")
    for per in (int(p) for p in args.per.split(",")):
        cells = []
        for group in (False, True):
            runs = [cpu_per_article(feeds, built, per, group) for _ in range(args.repeat)]
            spread = f"{min(runs):.2f}-{max(runs):.2f}"
            cells.append(f"{statistics.median(runs):.2f} ms ({spread})")
        print(f"| {per} | {' | '.join(cells)} |")
        sys.stdout.flush()


def channels(hit: Hit) -> tuple[str, ...]:
    return hit.channels


if __name__ == "__main__":
    main()

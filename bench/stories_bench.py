"""What linking reports into stories costs per alerted article: the embedding of title and
lead, the anchors, and the comparison with the window's stored readings; and the memory
the model takes. In this process, one core (the service embeds on its cpu thread).

    .venv/bin/python bench/stories_bench.py

Prints a Markdown table; bench/pipeline_bench.py prints the same rows with its cycles.
The articles are the labelled set's reports (tests/eval/stories.yaml), the titles and
leads an alert carries.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.language.understand import default_understanding  # noqa: E402
from monitor.stories.anchors import anchors  # noqa: E402
from monitor.stories.embed import E5Embedder, lead  # noqa: E402
from monitor.stories.link import LinkSettings, Reading, ranked  # noqa: E402

STORED = 500  # readings in the window a new report is compared with (a busy day's alerts)


def reports() -> list[tuple[str, str]]:
    events = yaml.safe_load((REPO / "tests/eval/stories.yaml").read_text("utf-8"))["events"]
    return [
        (e[v]["title"], e[v]["lead"]) for e in events for v in ("en", "en2", "ru", "uk") if v in e
    ]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def story_costs(docs: list[tuple[str, str]], repeat: int = 3) -> list[tuple[str, str]]:
    """(what, cost) rows."""
    understanding = default_understanding()
    facts = [understanding.facts(t, x) for t, x in docs]
    before = rss_mb()
    embedder = E5Embedder()
    started = time.perf_counter()
    embedder.embed(["warm up"])
    loaded = time.perf_counter() - started
    rows = [("loading the embedding model (first alerted article)", f"{loaded:.2f} s once")]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        vectors = [embedder.embed([lead(t, x)])[0] for t, x in docs]
        best = min(best, time.perf_counter() - started)
    rows.append(
        (
            f"embedding title and lead, {len(docs)} reports",
            f"{best / len(docs) * 1000:.1f} ms per article",
        )
    )
    rows.append(
        ("memory the model adds, loaded and used (peak RSS)", f"{rss_mb() - before:.0f} MB")
    )
    started = time.perf_counter()
    for _ in range(repeat):
        found = [anchors(t, x, f) for (t, x), f in zip(docs, facts, strict=True)]
    took = (time.perf_counter() - started) / repeat / len(docs) * 1000
    rows.append(("anchors (names, numbers, figures, places)", f"{took:.2f} ms per article"))
    readings = [Reading("en", v, a) for v, a in zip(vectors, found, strict=True)]
    window = (readings * (STORED // len(readings) + 1))[:STORED]
    started = time.perf_counter()
    for reading in readings:
        ranked(reading, window, LinkSettings())
    took = (time.perf_counter() - started) / len(readings) * 1000
    rows.append((f"comparing with {STORED} stored readings", f"{took:.1f} ms per article"))
    rows.append(("peak RSS of this process", f"{rss_mb():.0f} MB"))
    return rows


def main() -> None:
    print("| Measure | Result |\n| --- | --- |")
    for what, cost in story_costs(reports()):
        print(f"| {what} | {cost} |", flush=True)


if __name__ == "__main__":
    main()

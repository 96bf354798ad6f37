"""How long a pushed item takes to reach the desk: from the hub's notification (its POST to
the callback) to the alert arriving at a webhook, through the whole service.

    .venv/bin/python bench/websub_bench.py [--pushes 25] [--database-url URL]

`monitor run --http` on loopback with the shipped rules and default settings (politeness
2 requests per host, 0.25 s apart: each push fetches one article page), a feed whose
hub is the test hub (tests/websub_hub.py), one webhook channel. Each push is a new
military event of the labelled set, pushed once the last one's alert arrived (or 15 s
passed: a report no rule fires on, or one joining an earlier story, sends no message;
counted). Prints a Markdown table. A PostgreSQL URL must name an existing, empty database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.content import Item  # noqa: E402
from tests.websub_hub import pushed_service  # noqa: E402


def reports() -> list[Item]:
    """The labelled set's military events (tests/eval/stories.yaml), in English: distinct
    stories the shipped rules alert."""
    events = yaml.safe_load((REPO / "tests/eval/stories.yaml").read_text("utf-8"))["events"]
    return [Item(e["en"]["title"], "", e["en"]["lead"]) for e in events if e.get("military")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=25)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    items = reports()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/monitor.db"
        started = time.perf_counter()
        with pushed_service(Path(tmp), url) as service:
            ready = time.perf_counter() - started
            taken = [service.push(n + 1, item, 15) for n, item in enumerate(items[: args.pushes])]
    seconds = sorted(s for s in taken if s is not None)
    print(f"| push to alert, {args.pushes} pushes ({url.split(':')[0]}) | seconds |")
    print("| --- | --- |")
    print(f"| start to subscribed (first poll, pass, verification) | {ready:.2f} |")
    print(f"| fastest | {seconds[0]:.2f} |")
    print(f"| median | {statistics.median(seconds):.2f} |")
    print(f"| 90th percentile | {seconds[int(len(seconds) * 0.9) - 1]:.2f} |")
    print(f"| slowest | {seconds[-1]:.2f} |")
    quiet = taken.count(None)
    print(f"| pushes with no message (no rule fired, or an earlier story's) | {quiet} |")


if __name__ == "__main__":
    main()

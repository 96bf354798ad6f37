"""Pipeline benchmark: cold and warm cycles, alert latency, and the obvious alternative.

    .venv/bin/python bench/pipeline_bench.py                 # 1,000 feeds x 10 items
    .venv/bin/python bench/pipeline_bench.py --feeds 100     # a quicker look
    .venv/bin/python bench/pipeline_bench.py --parts cold --backends sqlite --repeat 1

Everything runs on 127.0.0.1: a feed farm (bench/farm.py) with server latency (feeds
0.1 s, pages 0.2 s, as a news site's CDN and origin answer), a webhook sink, and the real
`monitor` command against SQLite and PostgreSQL. Prints a Markdown table.

- cold: `monitor run --once` on an empty database, every item new, pages fetched and
  extracted: wall time, articles/s, peak RSS of the process tree (service + extractors);
- trafilatura alone: the same pages, already in memory, extracted by a pool of one process
  per core, twice: as the pipeline calls it (``monitor.extract.extract_page``: the tree
  parsed once, no metadata pass) and as `trafilatura.extract(html)` with its defaults;
  the cold cycle's articles/s is given as a fraction of both, and of the pipeline's call
  measured again right before each cycle (the machine's speed drifts within a run);
- warm: the same feeds again, unchanged (304; every 4th feed ignores conditional
  requests and answers 200 with the same body, which must not be parsed again), at
  several concurrencies, to pick the default;
- latency: `monitor run` as a service (feeds polled every 30 s); 100 probe items appear
  in random feeds over a minute; time until the webhook receives each alert;
- sequential: `feedparser.parse(url)` + `trafilatura.fetch_url` + `extract` per item,
  one after another, on a 100-feed subset, next to `monitor run --once` on the same subset.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from multiprocessing import Pool
from pathlib import Path
from typing import NamedTuple

import feedparser
import trafilatura
from sqlalchemy import create_engine, text
from trafilatura.settings import use_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from farm import Farm, Servers, Sink
from language_bench import language_costs
from stories_bench import story_costs

from monitor.extract import extract_page

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "monitor_bench"
INTERVAL = 30  # seconds between polls of a feed in the latency run
PROBES = 100
PROBE_RULE = """id: latency-probe
name: Latency probe
severity: critical
notify: [latency]
query: 'latencyprobe*'
"""


def _proc_table(pids: Iterable[int] | None = None) -> dict[int, tuple[int, str, float, float, int]]:
    """pid -> (parent, name, CPU seconds, CPU seconds of reaped children, resident bytes),
    of ``pids`` or of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    entries = os.listdir("/proc") if pids is None else map(str, pids)
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            head, rest = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        f = rest.split()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        rss = int(found.group(1)) * 1024 if found else 0
        name = head.split("(", 1)[1]
        own, reaped = (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick
        table[int(entry)] = (int(f[1]), name, own, reaped, rss)
    return table


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it, from each thread's ``children`` file: sampling
    the service's tree five times a second by reading all of /proc cost the bench process
    about 2% of a core, taken from the cycle it measures."""
    members, todo = set(), [root]
    while todo:
        pid = todo.pop()
        members.add(pid)
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            todo += [int(kid) for kid in kids if int(kid) not in members]
    return members


def _tree(table: dict[int, tuple[int, str, float, float, int]], root: int) -> set[int]:
    members, changed = {root}, True
    while changed:
        more = {pid for pid, row in table.items() if row[0] in members} - members
        changed = bool(more)
        members |= more
    return members


def postgres_cpu() -> float:
    """CPU seconds the local PostgreSQL server has used so far: the postmaster, its live
    processes and those it has reaped (backends of closed connections)."""
    table = _proc_table()
    roots = [
        pid
        for pid, row in table.items()
        if row[1] == "postgres" and table.get(row[0], (0, ""))[1] != "postgres"
    ]
    if not roots:
        return 0.0
    members = _tree(table, roots[0])
    return table[roots[0]][3] + sum(table[pid][2] for pid in members)


class Run(NamedTuple):
    wall: float  # seconds of the process
    cycle: float  # seconds of the cycle itself (start-up excluded)
    peak: int  # peak RSS of the process tree, bytes
    service_cpu: float  # CPU seconds of the service process
    helper_cpu: float  # CPU seconds of its extraction workers (and the forkserver)
    db_cpu: float  # CPU seconds of the local PostgreSQL server meanwhile
    bench_cpu: float  # CPU seconds of this process meanwhile: the farm, the sink, sampling


def timed(env: dict[str, str], args: list[str]) -> Run:
    """Run `monitor ARGS`: wall seconds of the process, of the cycle itself (start-up of
    imports, migrations and the extractor pool excluded), peak RSS of its process tree, and
    where the CPU went (the machine's speed drifts; CPU shares do much less)."""
    started, db_before, own_before = time.perf_counter(), postgres_cpu(), time.process_time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak, cpu = 0, {}
    while proc.poll() is None:
        members = _descendants(proc.pid)
        table = _proc_table(members)
        peak = max(peak, sum(table[pid][4] for pid in members if pid in table))
        cpu |= {pid: table[pid][2] for pid in members if pid in table}
        time.sleep(0.2)
    wall = time.perf_counter() - started
    bench_cpu, db_cpu = time.process_time() - own_before, postgres_cpu() - db_before
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 3):  # 3: alerts left to retry, not a failed cycle
        raise SystemExit(f"monitor {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    cycle = re.search(r"cycle took ([\d.]+)s", err)
    service = cpu.pop(proc.pid, 0.0)
    return Run(
        wall,
        float(cycle.group(1)) if cycle else wall,
        peak,
        service,
        sum(cpu.values()),
        db_cpu,
        bench_cpu,
    )


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{workdir}/bench.db{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{workdir}/bench.db"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DB}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"


def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return int(value or 0)


def setup(workdir: Path, farm: Farm, sink: Sink, feeds: int) -> dict[str, str]:
    feeds_file = workdir / f"feeds-{feeds}.yaml"
    feeds_file.write_text(
        "".join(
            f"- {{name: 'farm {f}', url: '{farm.url(f)}', interval: {INTERVAL}s, "
            "adaptive: false}\n"
            for f in range(feeds)
        )
    )
    rules = workdir / "rules"
    if not rules.exists():
        shutil.copytree(REPO / "rules", rules)
        (rules / "latency-probe.yaml").write_text(PROBE_RULE)
    (workdir / "monitor.yaml").write_text("channels:\n  latency: {rate_limit: 0}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    sink_url = f"json://127.0.0.1:{sink.port}/"
    return env | {
        "MONITOR_FEEDS": str(feeds_file),
        "MONITOR_RULES": str(rules),
        "MONITOR_CONFIG": str(workdir / "monitor.yaml"),
        "MONITOR_CHANNEL_DEFAULT": sink_url + "default",
        "MONITOR_CHANNEL_LATENCY": sink_url + "latency",
        "MONITOR_PER_HOST": "1000",  # the farm stands in for a thousand sites
        "MONITOR_HOST_DELAY": "0",
        "MONITOR_LOG_LEVEL": "ERROR",
    }


def trafilatura_alone(
    farm: Farm, pages: int, extract: Callable[[str], object]
) -> tuple[float, float]:
    """Pages/s of ``extract`` on one core and on all cores, pages in memory."""
    html = [farm.page_html(f % farm.feeds, f % farm.items) for f in range(pages)]
    started = time.perf_counter()
    for page in html[: pages // 4]:
        extract(page)
    one = (pages // 4) / (time.perf_counter() - started)
    with Pool(os.cpu_count() or 1) as pool:
        pool.map(abs, range(64))  # the workers are up before the clock starts
        started = time.perf_counter()
        pool.map(extract, html, chunksize=8)
        return one, pages / (time.perf_counter() - started)


def sequential(farm: Farm, feeds: int) -> tuple[float, int]:
    """The obvious script: parse each feed, fetch and extract each item, in order."""
    config = use_config()
    config.set("DEFAULT", "SSRF_PROTECTION", "off")  # the farm is on loopback
    started, count = time.perf_counter(), 0
    for f in range(feeds):
        for entry in feedparser.parse(farm.url(f)).entries:
            page = trafilatura.fetch_url(entry.link, config=config)
            if page and trafilatura.extract(page):
                count += 1
    return time.perf_counter() - started, count


def latency(env: dict[str, str], farm: Farm, sink: Sink, servers: Servers) -> list[float]:
    log = Path(env["MONITOR_FEEDS"]).parent / "service.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        cwd=REPO,
        env=env | {"MONITOR_LOG_LEVEL": "INFO"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    rng = random.Random(5)
    paragraphs = farm._paras
    try:
        time.sleep(5)
        targets = rng.sample(range(farm.feeds), min(PROBES, farm.feeds))
        for k, f in enumerate(targets * (PROBES // len(targets))):
            text_ = [f"latencyprobe{k} reported.", *rng.sample(paragraphs, 5)]
            servers.call(farm.publish, f, f"Latency probe {k}", text_)
            time.sleep(60 / PROBES)
        deadline = time.time() + INTERVAL + 60
        while time.time() < deadline and len(_arrivals(sink)) < PROBES:
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    arrived = _arrivals(sink)
    return [arrived[t] - farm.published[t] for t in arrived if t in farm.published]


def _arrivals(sink: Sink) -> dict[str, float]:
    seen: dict[str, float] = {}
    for when, body in list(sink.received):
        found = re.search(rb"Latency probe \d+", body)
        if found:
            seen.setdefault(found.group().decode(), when)
    return seen


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


class Table(list[tuple[str, str, str]]):
    """Rows printed as they are measured, so a long run shows its results as it goes."""

    def __init__(self) -> None:
        super().__init__()
        print("| Measure | Database | Result |\n| --- | --- | --- |", flush=True)

    def append(self, row: tuple[str, str, str]) -> None:
        super().append(row)
        print("| " + " | ".join(row) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="10,25,50,100", help="warm-cycle sweep")
    parser.add_argument("--repeat", type=int, default=3, help="cold cycles per database")
    parser.add_argument(
        "--text",
        default="distinct",
        choices=["distinct", "shared"],
        help="articles as distinct as a news stream's, or all from the same 50 paragraphs "
        "(the worst case for story grouping; see bench/farm.py)",
    )
    parser.add_argument(
        "--parts", default="cold,warm,latency,sequential", help="what to measure (cold first)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    farm = Farm(args.feeds, args.items, ignore_every=4, text=args.text)
    sink = Sink()
    servers = Servers(farm, sink)
    workdir = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    rows = Table()
    one_core, all_cores = trafilatura_alone(farm, 400, extract_page)
    rows.append(
        (
            "trafilatura alone, as the pipeline calls it, pages in memory",
            "-",
            f"{one_core:.0f} pages/s on 1 core, {all_cores:.0f} on {os.cpu_count()}",
        )
    )
    plain_one, plain_all = trafilatura_alone(farm, 400, trafilatura.extract)
    rows.append(
        (
            "trafilatura alone, `trafilatura.extract(html)` defaults",
            "-",
            f"{plain_one:.0f} pages/s on 1 core, {plain_all:.0f} on {os.cpu_count()}",
        )
    )
    # The language layer's share of a cycle, per article, on the farm's own articles (in
    # this process, one core): what the service's cpu thread spends besides matching.
    sample = [(item.title, "\n\n".join(item.paragraphs)) for item in farm.sample(200)]
    for what, cost in language_costs({"farm": sample}, repeat=3):
        rows.append((what, "-", cost))
    # Linking an alerted article into its story (embedding, anchors, comparison).
    for what, cost in story_costs(sample[:100], repeat=1):
        rows.append((what, "-", cost))
    for backend in args.backends.split(","):
        cycles, walls, peaks, ratios, runs = [], [], [], [], []
        for _ in range(args.repeat):  # the same cold cycle again, from an empty database
            servers.call(farm.reset)
            sink.received.clear()
            time.sleep(0.5)
            servers.run(farm.render)
            env = setup(workdir, farm, sink, args.feeds) | {
                "MONITOR_DATABASE_URL": fresh_database(backend, workdir)
            }
            # The machine's speed drifts from minute to minute: the pipeline's call alone is
            # measured again right before each cycle, and each cycle is judged against it.
            _one, alone = trafilatura_alone(farm, 200, extract_page)
            run = timed(env, ["run", "--once"])
            articles = scalar(env["MONITOR_DATABASE_URL"], "SELECT count(*) FROM articles")
            cycles, walls, peaks = [*cycles, run.cycle], [*walls, run.wall], [*peaks, run.peak]
            ratios.append(articles / run.cycle / alone)
            runs.append(run)
        cycle, wall = statistics.median(cycles), statistics.median(walls)
        spread = f", {min(cycles):.0f}-{max(cycles):.0f} s over {len(cycles)} runs" * (
            len(cycles) > 1
        )
        rows.append(
            (
                f"cold cycle {args.feeds} x {args.items}",
                backend,
                f"{cycle:.1f} s median{spread} ({wall:.1f} s with start-up), "
                f"{articles} articles, {articles / cycle:.0f} articles/s, "
                f"{statistics.median(ratios):.2f} of the pipeline's call alone measured just "
                f"before ({', '.join(f'{r:.2f}' for r in ratios)}); against the first rows: "
                f"{articles / cycle / all_cores:.2f} of the call, "
                f"{articles / cycle / plain_all:.2f} of `extract` defaults; "
                f"peak RSS {max(peaks) / 2**20:.0f} MB",
            )
        )
        rows.append(cpu_row(runs, articles, backend))
        url = env["MONITOR_DATABASE_URL"]
        if "warm" in parts:
            warm(env, url, farm, args, rows)
        if "latency" in parts:
            waits = latency(env, farm, sink, servers)
            rows.append(
                (
                    f"alert latency, {len(waits)}/{PROBES} probes",
                    backend,
                    f"p50 {pct(waits, 50):.1f} s, p95 {pct(waits, 95):.1f} s, "
                    f"max {max(waits, default=float('nan')):.1f} s (poll interval {INTERVAL} s)",
                )
            )
    if "sequential" in parts:
        compare(farm, sink, workdir, min(100, args.feeds), rows)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")


def cpu_row(runs: list[Run], articles: int, backend: str) -> tuple[str, str, str]:
    """Where a cold cycle's CPU went, per article, over all runs. Extraction's share of all
    the CPU, times how busy the cores were, is the fraction of trafilatura-alone speed the
    cycle reaches, whatever the machine's speed that minute (if a page costs the workers
    what it costs alone)."""
    n = articles * len(runs)
    service, helpers = sum(r.service_cpu for r in runs), sum(r.helper_cpu for r in runs)
    db, bench = sum(r.db_cpu for r in runs), sum(r.bench_cpu for r in runs)
    total = service + helpers + db + bench
    busy = total / sum(r.wall for r in runs) / (os.cpu_count() or 1)  # start-up included
    return (
        "cold cycle, CPU per article",
        backend,
        f"service {1000 * service / n:.1f} ms (start-up included), "
        f"extraction workers {1000 * helpers / n:.1f} ms, "
        f"database server {1000 * db / n:.1f} ms, farm and bench {1000 * bench / n:.1f} ms; "
        f"extraction's share of the CPU {helpers / total:.2f} x cores busy {busy:.0%} = "
        f"{helpers / total * busy:.2f}, the ratio to trafilatura alone if extracting costs "
        "the workers what it costs alone",
    )


def warm(env: dict[str, str], url: str, farm: Farm, args: argparse.Namespace, rows: Table) -> None:
    """The same feeds again, unchanged, at each concurrency of the sweep."""
    seen = scalar(url, "SELECT sum(items_seen) FROM feeds")
    walls, answered = [], 0
    for c in (int(c) for c in args.concurrency.split(",")):
        before = farm.stats["feed 200"]
        cycle = timed(env | {"MONITOR_CONCURRENCY": str(c)}, ["run", "--once"]).cycle
        walls.append(f"{cycle:.1f} s at {c}")
        answered = farm.stats["feed 200"] - before
    reparsed = scalar(url, "SELECT sum(items_seen) FROM feeds") - seen
    rows.append(
        (
            f"warm cycle {args.feeds} feeds, by concurrency",
            backend_of(url),
            f"{', '.join(walls)}; {answered} feeds answered 200 unchanged, "
            f"items parsed again: {reparsed}",
        )
    )


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def compare(farm: Farm, sink: Sink, workdir: Path, subset: int, rows: Table) -> None:
    """The sequential alternative next to `monitor run --once` on the same feeds."""
    seq_wall, seq_pages = sequential(farm, subset)
    env = setup(workdir, farm, sink, subset) | {
        "MONITOR_DATABASE_URL": fresh_database("sqlite", workdir)
    }
    ours = timed(env, ["run", "--once"]).wall  # start-up included, as for the script
    rows.append(
        (
            f"sequential feedparser + trafilatura, {subset} feeds",
            "-",
            f"{seq_wall:.1f} s for {seq_pages} pages",
        )
    )
    rows.append(
        (
            f"monitor run --once, same {subset} feeds",
            "sqlite",
            f"{ours:.1f} s: {seq_wall / ours:.1f}x faster",
        )
    )


if __name__ == "__main__":
    main()

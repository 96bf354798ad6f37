"""Page fetching alone: CPU per page of the service's HTTP client (the guarded page client,
its connection pool, `monitor.feeds.fetch.fetch`) against the feed farm on 127.0.0.1.

    .venv/bin/python bench/fetch_bench.py [--pages 1000] [--repeat 3]

The farm answers from a thread of this process, so the client's CPU is the event loop
thread's own (``time.thread_time``), not the process's. Pages are asked for N at a time:
200 is what a cold cycle has in flight (50 feeds x 4 pages), more than the pool's 100
connections; 50 fits the pool. Prints a Markdown table. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import sniffio
from farm import Farm, Servers, Sink

from monitor.feeds.fetch import fetch as fetch_page
from monitor.feeds.fetch import make_client

CONCURRENCY = 50  # the service's default: the page client's pool holds 100 connections
PAGE_LATENCY = 0.05  # seconds the farm waits before answering a page


async def cpu_per_page(port: int, urls: list[str], in_flight: int) -> tuple[float, float]:
    """(CPU ms per page on this thread, wall seconds) for fetching ``urls``, ``in_flight``
    at a time, after a warm-up that opens the pool's connections. sniffio is told the
    async library, as the service does (``monitor.service.app.open_services``)."""
    sniffio.current_async_library_cvar.set("asyncio")
    client = make_client("bench", CONCURRENCY, guarded=True, allowed={f"127.0.0.1:{port}"})
    limit = asyncio.Semaphore(in_flight)

    async def one(url: str) -> int:
        async with limit:
            page = await fetch_page(client, url, max_bytes=5_000_000, deadline=30)
            return len(page.content)

    async with client:
        await asyncio.gather(*(one(u) for u in urls[:in_flight]))
        cpu, wall = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return (time.thread_time() - cpu) / len(urls) * 1000, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    feeds = max(1, args.pages // 10)
    farm = Farm(feeds, 10, page_latency=PAGE_LATENCY)
    servers = Servers(farm, Sink())
    servers.run(farm.render)
    urls = [f"http://127.0.0.1:{farm.port}/a/{f}/{j}.html" for f in range(feeds) for j in range(10)]
    print("| Pages in flight | CPU per page (median, range) | Wall |")
    print("| --- | --- | --- |")
    for in_flight in (200, 50):
        runs = [asyncio.run(cpu_per_page(farm.port, urls, in_flight)) for _ in range(args.repeat)]
        cpus = [cpu for cpu, _ in runs]
        print(
            f"| {in_flight} | {statistics.median(cpus):.2f} ms ({min(cpus):.2f}-{max(cpus):.2f}) "
            f"| {statistics.median(w for _, w in runs):.2f} s for {len(urls)} pages |"
        )


if __name__ == "__main__":
    main()

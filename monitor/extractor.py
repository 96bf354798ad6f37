"""Text extraction off the event loop, in worker processes with a time and memory bound.

trafilatura is CPU-bound and has no timeout; a hostile page can make it run long or
allocate without end. Each worker is a process with an address-space limit, handling one
page at a time; a page that takes longer than the timeout kills its worker (a new one takes
its place) and fails alone as ``extraction_failed``. The service never blocks on one page.

Workers run at a lower scheduling priority (``WORKER_NICENESS``) than the service process:
extraction is batch work that can take whatever CPU is left, while the event loop (fetch
deadlines, storing, alerts, the health endpoint) must get a core as soon as it needs one.
Left equal, the service process falls behind the extractors during a cold cycle and then
stores their backlog alone on one core while the other idles.

Each worker is handed its next page while it extracts the current one (``PREFETCH``): the
thread feeding it needs the service's GIL to take a result and send the next page, and the
GIL can be held by the event loop or the database thread for a switch interval, which is
much of a page's extraction time; a worker handed one page at a time would wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import resource
import select
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from monitor.collect import collect_less
from monitor.errors import ExtractError
from monitor.extract import ExtractedPage, extract_page

log = logging.getLogger(__name__)
WORKER_NICENESS = 5
PREFETCH = 2  # pages handed to a worker at once: the one it extracts and the next
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["monitor.extract"])  # workers start warm


def _work(conn: Connection, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(WORKER_NICENESS)
    collect_less()
    pages: queue.SimpleQueue[tuple[bytes, str | None] | None] = queue.SimpleQueue()
    # Pages are read by a thread of their own, so the pipe is drained while a page is
    # extracted: the feeding thread's next page never blocks on a full pipe.
    threading.Thread(target=_read, args=(conn, pages), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the service shuts the pool down
        while (job := pages.get()) is not None:
            conn.send(_extracted(*job, memory_mb))


def _read(conn: Connection, pages: queue.SimpleQueue[tuple[bytes, str | None] | None]) -> None:
    """Pages from the pipe until it closes. A page that cannot be read (memory ran out under
    the limit) ends the worker once the page before it is answered: that page then fails as
    "worker died" and a new worker takes the pages behind it."""
    while True:
        try:
            job = conn.recv()
        except Exception:
            job = None
        pages.put(job)
        if job is None:
            return


def _extracted(html: bytes, url: str | None, memory_mb: int) -> tuple[str, object]:
    try:
        return "ok", extract_page(html, url)
    except MemoryError:
        return "error", f"over the {memory_mb} MiB memory limit"
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started: float = 0.0  # when it began the oldest page handed to it

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ExtractorPool:
    """Worker processes, each fed by a thread of its own from one queue of pages.

    The feeding threads take the next page as soon as their worker is free, without waiting
    for the event loop: while the loop is busy (storing a feed's articles, matching) the
    workers go on extracting, so extraction, the bound of a cold cycle, never idles.
    """

    def __init__(self, workers: int, timeout: float, memory_mb: int) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._feeders: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> ExtractorPool:
        for n in range(self.size):
            worker = self._spawn()
            feeder = threading.Thread(target=self._feed, args=(worker,), name=f"extract-{n}")
            feeder.daemon = True
            feeder.start()
            self._feeders.append(feeder)
        return self

    def _spawn(self) -> _Worker:
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_work, args=(theirs, self.memory_mb), daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._lock:
            self._all.append(worker)
        return worker

    async def extract(self, html: bytes, url: str | None) -> ExtractedPage | None:
        """The page's text, None when there is none; ExtractError when it took too long,
        broke its worker or raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ExtractedPage | None] = loop.create_future()
        self._jobs.put(_Job(html, url, loop, future))
        return await future  # cancelled: the worker finishes the page and it is dropped

    def _feed(self, worker: _Worker) -> None:
        handed: deque[_Job] = deque()  # to this worker, oldest (the one it extracts) first
        taking = True
        while taking or handed:
            while taking and len(handed) < PREFETCH:
                try:  # wait for a page only when the worker has none
                    job = self._jobs.get(block=not handed)
                except queue.Empty:
                    break
                if job is None:
                    taking = False
                elif not job.future.cancelled():
                    if not handed:
                        worker.started = time.monotonic()
                    handed.append(job)
                    _hand(worker, job)
            if handed:
                worker = self._settle_oldest(worker, handed)

    def _settle_oldest(self, worker: _Worker, handed: deque[_Job]) -> _Worker:
        """Wait for the oldest page's outcome and settle it. A page that took too long or
        broke its worker fails alone: the pages behind it go to the new worker."""
        try:
            status, value = self._result(worker)
        except ExtractError as exc:
            handed.popleft().settle(exc)
            worker = self._replace(worker)
            worker.started = time.monotonic()
            for job in handed:
                _hand(worker, job)
            return worker
        job = handed.popleft()
        worker.started = time.monotonic()
        if status == "error":
            job.settle(ExtractError(f"extraction_failed: {value}"))
        else:
            assert value is None or isinstance(value, ExtractedPage)
            job.settle(value)
        return worker

    def _result(self, worker: _Worker) -> tuple[str, object]:
        left = worker.started + self.timeout - time.monotonic()
        try:
            if not _readable(worker.conn, max(0.0, left)):
                raise ExtractError(f"extraction_failed: took longer than {self.timeout:g}s")
            result: tuple[str, object] = worker.conn.recv()
            return result
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as exc:
            raise ExtractError(
                f"extraction_failed: worker died ({exc.__class__.__name__}; "
                f"memory limit {self.memory_mb} MiB?)"
            ) from None

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            self._all.remove(worker)
        return self._spawn()

    def close(self) -> None:
        for _ in self._feeders:
            self._jobs.put(None)
        for feeder in self._feeders:
            feeder.join(self.timeout + 5)
        self._feeders.clear()
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
            worker.conn.close()


def _readable(conn: Connection, seconds: float) -> bool:
    """Connection.poll, without the selector it builds and tears down on every call (a few
    percent of the service's CPU at a hundred pages a second). poll(2), not select(2): a
    worker replaced late in a long run may get a descriptor above select's limit of 1024."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(seconds * 1000))


def _hand(worker: _Worker, job: _Job) -> None:
    with contextlib.suppress(OSError):  # a dead worker shows when its result is awaited
        worker.conn.send((job.html, job.url))


@dataclass(frozen=True)
class _Job:
    html: bytes
    url: str | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[ExtractedPage | None]

    def settle(self, outcome: ExtractedPage | ExtractError | None) -> None:
        """Hand the outcome to the waiting coroutine, on its loop (from a feeding thread)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            self.loop.call_soon_threadsafe(_resolve, self.future, outcome)


def _resolve(
    future: asyncio.Future[ExtractedPage | None], outcome: ExtractedPage | ExtractError | None
) -> None:
    if future.done():
        return
    if isinstance(outcome, ExtractError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

"""Text extraction off the event loop, in worker processes with a time and memory bound.

trafilatura is CPU-bound and has no timeout; a hostile page can make it run long or
allocate without end. Each worker is a process with an address-space limit, handling one
page at a time; a page that takes longer than the timeout kills its worker (a new one takes
its place) and fails alone as ``extraction_failed``. The service never blocks on one page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from monitor.errors import ExtractError
from monitor.extract import ExtractedPage, extract_page

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["monitor.extract"])  # workers start warm


def _work(conn: Connection, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        html, url = job
        try:
            conn.send(("ok", extract_page(html, url)))
        except MemoryError:
            conn.send(("error", f"over the {memory_mb} MiB memory limit"))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ExtractorPool:
    def __init__(self, workers: int, timeout: float, memory_mb: int) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: list[_Worker] = []

    def start(self) -> ExtractorPool:
        for _ in range(self.size):
            self._idle.put_nowait(self._spawn())
        return self

    def _spawn(self) -> _Worker:
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_work, args=(theirs, self.memory_mb), daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._all.append(worker)
        return worker

    async def extract(self, html: bytes, url: str | None) -> ExtractedPage | None:
        """The page's text, None when there is none; ExtractError when it took too long,
        broke its worker or raised."""
        worker = await self._idle.get()
        try:
            status, value = await asyncio.to_thread(self._exchange, worker, html, url)
        except ExtractError:
            self._replace(worker)
            raise
        except BaseException:
            self._replace(worker)  # cancelled mid-page: the worker's state is unknown
            raise
        self._idle.put_nowait(worker)
        if status == "error":
            raise ExtractError(f"extraction_failed: {value}")
        assert value is None or isinstance(value, ExtractedPage)
        return value

    def _exchange(self, worker: _Worker, html: bytes, url: str | None) -> tuple[str, object]:
        try:
            worker.conn.send((html, url))
            if not worker.conn.poll(self.timeout):
                raise ExtractError(f"extraction_failed: took longer than {self.timeout:g}s")
            result: tuple[str, object] = worker.conn.recv()
            return result
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as exc:
            raise ExtractError(
                f"extraction_failed: worker died ({exc.__class__.__name__}; "
                f"memory limit {self.memory_mb} MiB?)"
            ) from None

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._all.remove(worker)
        self._idle.put_nowait(self._spawn())

    def close(self) -> None:
        for worker in self._all:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self._all:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
            worker.conn.close()
        self._all.clear()

import asyncio
import gc
import os
import resource
import signal
import time
from pathlib import Path

import pytest

from monitor.errors import ExtractError
from monitor.extractor import WORKER_NICENESS, ExtractorPool
from tests.content import TROOPS_TEXT, page


def huge_page() -> bytes:
    cells = "".join(f"<tr><td>{i}</td><td>word " * 3 + "</td></tr>" for i in range(60_000))
    return f"<html><body><article><table>{cells}</table></article></body></html>".encode()


def test_pages_are_extracted_in_worker_processes() -> None:
    async def go() -> list[str]:
        pool = ExtractorPool(2, 10, 1024).start()
        try:
            pages = await asyncio.gather(
                *(pool.extract(page("T", TROOPS_TEXT), None) for _ in range(6))
            )
            return [p.text if p else "" for p in pages]
        finally:
            pool.close()

    assert all("mechanised brigades" in text for text in asyncio.run(go()))


def test_a_slow_page_fails_alone_and_the_pool_keeps_working() -> None:
    async def go() -> tuple[str, str]:
        pool = ExtractorPool(1, 2, 1024).start()  # the huge page takes 20 s; a page, ms
        try:
            with pytest.raises(ExtractError, match=r"took longer than 2s") as err:
                await pool.extract(huge_page(), None)
            after = await pool.extract(page("T", TROOPS_TEXT), None)
            return str(err.value), after.text if after else ""
        finally:
            pool.close()

    message, text = asyncio.run(go())
    assert message.startswith("extract: extraction_failed")
    assert "mechanised brigades" in text


def test_workers_run_under_an_address_space_limit() -> None:
    async def go() -> str:
        pool = ExtractorPool(1, 10, 1536).start()
        try:
            await pool.extract(page("T", TROOPS_TEXT), None)  # the worker is up and limited
            return Path(f"/proc/{pool._all[0].process.pid}/limits").read_text()
        finally:
            pool.close()

    limits = asyncio.run(go())
    line = next(line for line in limits.splitlines() if line.startswith("Max address space"))
    assert str(1536 * 1024 * 1024) in line


def test_workers_yield_the_cpu_to_the_service() -> None:
    async def go() -> list[int]:
        pool = ExtractorPool(2, 10, 1024).start()
        try:
            await asyncio.gather(*(pool.extract(page("T", TROOPS_TEXT), None) for _ in range(4)))
            return [os.getpriority(os.PRIO_PROCESS, w.process.pid) for w in pool._all]
        finally:
            pool.close()

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert asyncio.run(go()) == [min(19, ours + WORKER_NICENESS)] * 2


def test_workers_go_on_while_the_event_loop_is_busy() -> None:
    """Feeding threads take the next page without the loop: a loop busy storing or matching
    (here: blocked outright) does not leave the workers idle."""

    async def go() -> tuple[int, list[str]]:
        pool = ExtractorPool(2, 10, 1024).start()
        try:
            tasks = [
                asyncio.ensure_future(pool.extract(page("T", TROOPS_TEXT), None)) for _ in range(6)
            ]
            await asyncio.sleep(0)  # every job queued
            time.sleep(3)  # the loop is blocked; the workers are not
            left = pool._jobs.qsize()
            pages = await asyncio.gather(*tasks)
            return left, [p.text if p else "" for p in pages]
        finally:
            pool.close()

    left, texts = asyncio.run(go())
    assert left == 0, "pages waited for the event loop"
    assert all("mechanised brigades" in text for text in texts)


def test_a_cancelled_extraction_leaves_the_pool_working() -> None:
    async def go() -> str:
        pool = ExtractorPool(1, 10, 1024).start()
        try:
            first = asyncio.ensure_future(pool.extract(page("T", TROOPS_TEXT), None))
            await asyncio.sleep(0)
            first.cancel()
            after = await pool.extract(page("T", TROOPS_TEXT), None)
            return after.text if after else ""
        finally:
            pool.close()

    assert "mechanised brigades" in asyncio.run(go())


def slow_page(rows: int = 8_000) -> bytes:
    """A page taking one or two seconds to extract here (huge_page's table, shortened)."""
    cells = "".join(f"<tr><td>{i}</td><td>word " * 3 + "</td></tr>" for i in range(rows))
    return f"<html><body><article><table>{cells}</table></article></body></html>".encode()


def test_a_worker_has_its_next_page_before_it_finishes_the_current_one() -> None:
    """The feeding thread needs the service's GIL between pages; a worker already holding
    its next page does not wait for it."""

    async def go() -> tuple[int, list[bool]]:
        pool = ExtractorPool(1, 30, 1024).start()
        try:
            pages = [slow_page(), page("T", TROOPS_TEXT), page("T", TROOPS_TEXT)]
            tasks = [asyncio.ensure_future(pool.extract(p, None)) for p in pages]
            await asyncio.sleep(0.3)  # the worker is on the slow page
            waiting = pool._jobs.qsize()
            done = await asyncio.gather(*tasks)
            return waiting, [p is not None for p in done]
        finally:
            pool.close()

    waiting, done = asyncio.run(go())
    assert waiting == 1, "only the third page is still waiting for the worker"
    assert done == [True, True, True]


def test_the_page_behind_a_page_that_takes_too_long_is_extracted() -> None:
    async def go() -> tuple[BaseException | None, str]:
        pool = ExtractorPool(1, 2, 1024).start()
        try:
            slow = asyncio.ensure_future(pool.extract(huge_page(), None))
            after = asyncio.ensure_future(pool.extract(page("T", TROOPS_TEXT), None))
            failed = (await asyncio.gather(slow, return_exceptions=True))[0]
            extracted = await after
            return failed if isinstance(failed, BaseException) else None, (
                extracted.text if extracted else ""
            )
        finally:
            pool.close()

    failed, text = asyncio.run(go())
    assert isinstance(failed, ExtractError) and "took longer than 2s" in str(failed)
    assert "mechanised brigades" in text


def test_when_a_worker_dies_only_the_page_it_was_on_fails() -> None:
    async def go() -> tuple[BaseException | None, str, int]:
        pool = ExtractorPool(1, 30, 1024).start()
        try:
            first = asyncio.ensure_future(pool.extract(slow_page(), None))
            second = asyncio.ensure_future(pool.extract(page("T", TROOPS_TEXT), None))
            await asyncio.sleep(0.3)  # the worker holds both pages, the first under way
            os.kill(pool._all[0].process.pid, signal.SIGKILL)
            failed = (await asyncio.gather(first, return_exceptions=True))[0]
            extracted = await second
            return (
                failed if isinstance(failed, BaseException) else None,
                extracted.text if extracted else "",
                len(pool._all),
            )
        finally:
            pool.close()

    failed, text, workers = asyncio.run(go())
    assert isinstance(failed, ExtractError) and "worker died" in str(failed)
    assert "mechanised brigades" in text
    assert workers == 1


def test_workers_on_descriptors_above_select_limit_are_served() -> None:
    """A worker replaced late in a long run gets whatever descriptor is free, often above
    the 1,024 that select(2) can watch."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1_200
    assert hard >= wanted, "this machine allows no descriptor above 1,024"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    # Garbage from earlier tests (a client's pooled socket) closes its descriptor when it
    # is collected: collected now, its number is taken by the dups below, not by the pool.
    gc.collect()
    held = [os.dup(0) for _ in range(1_100)]

    async def go() -> tuple[int, str]:
        pool = ExtractorPool(1, 10, 1024).start()
        try:
            job = pool.extract(page("T", TROOPS_TEXT), None)
            extracted = await asyncio.wait_for(job, 30)  # a feeder that died never answers
            return pool._all[0].conn.fileno(), extracted.text if extracted else ""
        finally:
            pool.close()

    try:
        descriptor, text = asyncio.run(go())
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert descriptor > 1024
    assert "mechanised brigades" in text

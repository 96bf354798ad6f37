import asyncio
import os
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

"""Group commit: the first call is handled at once, calls arriving meanwhile go together."""

from __future__ import annotations

import asyncio

import pytest

from monitor.batch import Batcher


class Handler:
    """Doubles its items, slowly enough that callers pile up; fails on a negative item."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(0.05)
        if any(i < 0 for i in items):
            raise ValueError(f"refused {items}")
        return [2 * i for i in items]


def test_calls_arriving_meanwhile_are_handled_together_and_each_gets_its_result() -> None:
    handler = Handler()

    async def go() -> list[int]:
        batcher = Batcher(handler)
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0)  # the first batch is under way
        rest = [asyncio.create_task(batcher.submit(i)) for i in range(2, 8)]
        return await asyncio.gather(first, *rest)

    assert asyncio.run(go()) == [2, 4, 6, 8, 10, 12, 14]
    assert handler.batches == [[1], [2, 3, 4, 5, 6, 7]]


def test_a_batch_is_at_most_the_limit() -> None:
    handler = Handler()

    async def go() -> list[int]:
        batcher = Batcher(handler, limit=3)
        return await asyncio.gather(*(batcher.submit(i) for i in range(7)))

    assert asyncio.run(go()) == [0, 2, 4, 6, 8, 10, 12]
    assert handler.batches == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_failed_batch_fails_its_callers_only() -> None:
    handler = Handler()

    async def go() -> tuple[list[int | BaseException], int]:
        batcher = Batcher(handler, limit=2)
        results = await asyncio.gather(
            *(batcher.submit(i) for i in (1, -1, 3, 4)), return_exceptions=True
        )
        return results, await batcher.submit(5)  # and the batcher still works

    results, later = asyncio.run(go())
    assert [type(r) for r in results[:2]] == [ValueError, ValueError]
    assert "refused [1, -1]" in str(results[0])
    assert results[2:] == [6, 8] and later == 10


def test_a_cancelled_caller_leaves_its_item_in_the_batch() -> None:
    handler = Handler()

    async def go() -> int:
        batcher = Batcher(handler)
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(batcher.submit(2))
        kept = asyncio.create_task(batcher.submit(3))
        await asyncio.sleep(0.01)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        await first
        return await kept

    assert asyncio.run(go()) == 6
    assert handler.batches == [[1], [2, 3]]


def test_with_concurrency_batches_run_side_by_side_and_calls_group_only_when_all_are_busy() -> None:
    """Concurrency 2: the first two calls start a batch each at once; calls arriving while
    both are busy wait and go together into the next free one."""
    handler = Handler()
    running, peak = 0, 0

    async def counted(items: list[int]) -> list[int]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await handler(items)
        finally:
            running -= 1

    async def go() -> list[int]:
        batcher = Batcher(counted, concurrency=2)
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0)
        second = asyncio.create_task(batcher.submit(2))
        await asyncio.sleep(0)
        rest = [asyncio.create_task(batcher.submit(i)) for i in range(3, 7)]
        return await asyncio.gather(first, second, *rest)

    assert asyncio.run(go()) == [2, 4, 6, 8, 10, 12]
    assert handler.batches == [[1], [2], [3, 4, 5, 6]]
    assert peak == 2


def test_a_call_arriving_as_the_last_batch_ends_is_still_handled() -> None:
    """Submitted right after the drain has finished its loop (its task done, its callbacks
    not yet run): a new drain takes it."""
    handler = Handler()

    async def go() -> int:
        batcher = Batcher(handler)
        await batcher.submit(1)
        return await asyncio.wait_for(batcher.submit(2), 1)  # no sleep in between

    assert asyncio.run(go()) == 4
    assert handler.batches == [[1], [2]]

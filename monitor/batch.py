"""Group commit: calls that arrive while earlier ones are being handled go together.

Every poll ends with a write to its feed row, and a warm cycle ends a thousand polls within
seconds; a transaction each would cost more in round trips and commits than the writes
themselves. The first call is handled at once (no timer, so no
added wait when polls are few); calls that arrive meanwhile form the next batch. With
``concurrency`` above one, that many batches are handled at once, and calls wait to be
grouped only when every one of them is busy (the service's stores take one: fewer, larger
groups cost PostgreSQL less than one group per database thread, see
``pipeline.context.Services``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
BATCH_LIMIT = 200  # items per batch: one transaction stays short


class Batcher(Generic[T, R]):
    """``await submit(item)`` returns ``handle``'s result for that item; ``handle`` gets a
    list of items and returns one result per item, in order. If it raises, every caller
    in that batch gets the exception. A caller cancelled while waiting does not take its
    item out of the batch: work handed over is finished."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[list[R]]],
        limit: int = BATCH_LIMIT,
        concurrency: int = 1,
    ) -> None:
        self._handle = handle
        self._limit = limit
        self._concurrency = max(1, concurrency)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        # A task whose loop has ended is done at once, before its callbacks run: it is not
        # counted, or an item arriving just then would wait for nobody.
        self._tasks = [task for task in self._tasks if not task.done()]
        if len(self._tasks) < self._concurrency:
            self._tasks.append(loop.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._limit]
            del self._waiting[: self._limit]
            try:
                results = await self._handle([item for item, _ in batch])
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # its caller was cancelled meanwhile
                        future.set_result(result)
            except Exception as exc:  # every caller of the batch learns why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)

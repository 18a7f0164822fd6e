"""Writes asked for while one is on its way to the database, sent together after it.

A write that finds nothing in flight goes alone at once, so at low load nothing waits.
Writes asked for while one is in flight wait for it, then go together as one write: one
statement, one commit. Under load each commit then carries many sagas' steps, and no
write waits longer than the one ahead of it. Nobody hears back before their write has
committed, so each is as durable as if it had committed alone.

If a batch fails as a whole, its writes are sent again one by one, and each caller gets
its own write's outcome: one bad write does not fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

W = TypeVar("W")
R = TypeVar("R")


class WriteBatches(Generic[W, R]):
    """``write(w)`` answers what ``one(w)`` would; concurrent writes share ``many``."""

    def __init__(
        self,
        one: Callable[[W], Awaitable[R]],
        many: Callable[[Sequence[W]], Awaitable[Sequence[R]]],
        *,
        on_batch: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_batch`` hears of each batch sent together (for metrics)."""
        self._one, self._many = one, many
        self._on_batch = on_batch
        self._in_flight = False
        self._queued: list[tuple[W, asyncio.Future[R]]] = []
        # Held only so the event loop's weak reference is not the task's last one.
        self._sending: asyncio.Task[None] | None = None

    async def write(self, write: W) -> R:
        if self._in_flight:
            answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            self._queued.append((write, answer))
            return await answer
        self._in_flight = True
        try:
            return await self._one(write)
        finally:
            self._send_queued()

    def _send_queued(self) -> None:
        batch = [(write, answer) for write, answer in self._queued if not answer.cancelled()]
        self._queued = []
        if batch:
            self._sending = asyncio.create_task(self._send(batch))
        else:
            self._in_flight = False

    async def _send(self, batch: list[tuple[W, asyncio.Future[R]]]) -> None:
        try:
            if len(batch) == 1:
                await _answer(batch[0][1], self._one(batch[0][0]))
                return
            try:
                results = await self._many([write for write, _ in batch])
            except Exception:
                for write, answer in batch:
                    await _answer(answer, self._one(write))
                return
            self._on_batch()
            for (_, answer), result in zip(batch, results, strict=True):
                if not answer.done():
                    answer.set_result(result)
        finally:
            for _, answer in batch:
                if not answer.done():  # this task was cancelled: so are its writes
                    answer.cancel()
            self._send_queued()


async def _answer(answer: asyncio.Future[R], outcome: Awaitable[R]) -> None:
    try:
        result = await outcome
    except Exception as error:
        if not answer.done():
            answer.set_exception(error)
    else:
        if not answer.done():
            answer.set_result(result)

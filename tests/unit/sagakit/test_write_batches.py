"""Writes asked for while one is in flight go together after it; alone otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sagakit.store.write_batches import WriteBatches


class Database:
    """Records what was sent; the first write alone waits at ``gate`` until opened."""

    def __init__(self) -> None:
        self.sent: list[str | list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.batch_fails = False
        self.batches = 0

    def batched(self) -> None:
        self.batches += 1

    async def one(self, write: str) -> str:
        self.sent.append(write)
        await self.gate.wait()
        if write.startswith("bad"):
            raise ValueError(f"refused {write}")
        return write.upper()

    async def many(self, writes: Sequence[str]) -> list[str]:
        self.sent.append(list(writes))
        await asyncio.sleep(0)
        if self.batch_fails or any(write.startswith("bad") for write in writes):
            raise ValueError("the batch was refused")
        return [write.upper() for write in writes]


async def holding_the_first(database: Database, batches: WriteBatches[str, str]):
    database.gate.clear()
    first = asyncio.create_task(batches.write("a"))
    await asyncio.sleep(0)
    assert database.sent == ["a"]
    return first


async def test_a_write_with_nothing_in_flight_goes_alone_at_once():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)

    assert await batches.write("a") == "A"
    assert await batches.write("b") == "B"

    assert database.sent == ["a", "b"]
    assert database.batches == 0


async def test_writes_asked_for_while_one_is_in_flight_go_together_after_it():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    first = await holding_the_first(database, batches)

    later = [asyncio.create_task(batches.write(w)) for w in ("b", "c", "d")]
    await asyncio.sleep(0)
    assert database.sent == ["a"]  # nothing else goes while the first is in flight
    database.gate.set()

    assert await first == "A"
    assert await asyncio.gather(*later) == ["B", "C", "D"]
    assert database.sent == ["a", ["b", "c", "d"]]
    assert database.batches == 1


async def test_after_a_batch_the_next_write_goes_alone_again():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    first = await holding_the_first(database, batches)
    later = [asyncio.create_task(batches.write(w)) for w in ("b", "c")]
    database.gate.set()
    await asyncio.gather(first, *later)

    assert await batches.write("e") == "E"
    assert database.sent[-1] == "e"


async def test_one_write_waiting_alone_is_sent_alone():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    first = await holding_the_first(database, batches)
    second = asyncio.create_task(batches.write("b"))
    database.gate.set()

    assert (await first, await second) == ("A", "B")
    assert database.sent == ["a", "b"]


async def test_a_batch_that_fails_is_sent_again_write_by_write_each_with_its_outcome():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    first = await holding_the_first(database, batches)
    later = [asyncio.create_task(batches.write(w)) for w in ("b", "bad-c", "d")]
    database.gate.set()

    outcomes = await asyncio.gather(first, *later, return_exceptions=True)

    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "D"
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "refused bad-c"
    assert database.sent == ["a", ["b", "bad-c", "d"], "b", "bad-c", "d"]
    assert database.batches == 0


async def test_a_write_whose_caller_gave_up_before_it_was_sent_is_not_sent():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    first = await holding_the_first(database, batches)
    abandoned = asyncio.create_task(batches.write("b"))
    kept = asyncio.create_task(batches.write("c"))
    await asyncio.sleep(0)
    abandoned.cancel()
    database.gate.set()

    assert await first == "A" and await kept == "C"
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    assert database.sent == ["a", "c"]


async def test_a_failing_first_write_fails_alone_and_the_waiting_ones_still_go():
    database = Database()
    batches = WriteBatches(database.one, database.many, on_batch=database.batched)
    database.gate.clear()
    first = asyncio.create_task(batches.write("bad-a"))
    await asyncio.sleep(0)
    later = [asyncio.create_task(batches.write(w)) for w in ("b", "c")]
    database.gate.set()

    with pytest.raises(ValueError, match="refused bad-a"):
        await first
    assert await asyncio.gather(*later) == ["B", "C"]
    assert database.sent == ["bad-a", ["b", "c"]]


async def test_writes_asked_for_during_a_batch_go_in_the_next_one():
    database = Database()
    second_wave: list[asyncio.Task[str]] = []

    async def many_then_more(writes: Sequence[str]) -> list[str]:
        if not second_wave:
            second_wave.extend(asyncio.create_task(batches.write(w)) for w in ("x", "y"))
            await asyncio.sleep(0)
        return await database.many(writes)

    batches = WriteBatches(database.one, many_then_more, on_batch=database.batched)
    first = await holding_the_first(database, batches)
    later = [asyncio.create_task(batches.write(w)) for w in ("b", "c")]
    database.gate.set()

    await asyncio.gather(first, *later)
    assert await asyncio.gather(*second_wave) == ["X", "Y"]
    assert database.sent == ["a", ["b", "c"], ["x", "y"]]
    assert database.batches == 2

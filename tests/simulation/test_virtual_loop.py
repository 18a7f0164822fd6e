"""The virtual clock: waiting costs no real time, timers keep their order, a deadlock
is reported instead of hanging."""

from __future__ import annotations

import asyncio
import time

import pytest

from sagakit.simulation import SimulationStalled, VirtualTimeLoop


def run(coroutine: object) -> object:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coroutine)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_an_hour_of_sleep_takes_no_real_time() -> None:
    async def sleep_an_hour() -> float:
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    began = time.monotonic()
    virtual = run(sleep_an_hour())

    assert virtual == pytest.approx(3600)
    assert time.monotonic() - began < 60  # any machine, however busy


def test_timers_fire_in_the_order_of_their_virtual_times() -> None:
    fired: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for name, delay in (("c", 30.0), ("a", 0.5), ("b", 7.0)):
            loop.call_later(delay, lambda n=name: fired.append((n, loop.time())))
        await asyncio.sleep(60)

    run(main())

    assert [name for name, _ in fired] == ["a", "b", "c"]
    assert [at for _, at in fired] == pytest.approx([0.5, 7.0, 30.0])


def test_a_timeout_fires_on_the_virtual_clock() -> None:
    async def main() -> str:
        try:
            async with asyncio.timeout(2):
                await asyncio.sleep(10)
        except TimeoutError:
            return f"timed out at {asyncio.get_running_loop().time():g}"
        return "no timeout"

    assert run(main()) == "timed out at 2"


def test_tasks_waiting_for_what_never_comes_are_reported_as_stalled() -> None:
    async def wait_for_ever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(SimulationStalled):
        run(wait_for_ever())

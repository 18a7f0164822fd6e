"""The simulated network: what it delivers late, twice or never, and what the caller sees."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sagakit.simulation import Faults, Network, Reply, Request, Trace, Unreachable, VirtualTimeLoop


def in_virtual_time(
    main: Callable[[Network, list[tuple[float, Request]]], Awaitable[Any]], **faults: Any
) -> Any:
    """Run ``main`` against a network to one participant that records what reaches it."""

    async def setup() -> Any:
        loop = asyncio.get_running_loop()
        network = Network(rng=random.Random(1), trace=Trace(loop.time), faults=Faults(**faults))
        arrived: list[tuple[float, Request]] = []

        def participant(request: Request) -> Reply:
            arrived.append((loop.time(), request))
            return Reply(201, {"status": "done"})

        network.add("p", participant)
        return await main(network, arrived)

    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(setup())
    finally:
        loop.close()


REQUEST = Request("p", "POST /things", {"n": 1}, key="saga:step:forward")


def test_a_request_arrives_once_and_its_answer_comes_back() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        reply = await network.call(REQUEST)
        assert reply == Reply(201, {"status": "done"})
        assert [request for _, request in arrived] == [REQUEST]
        assert network.in_flight == 0

    in_virtual_time(main)


def test_a_late_request_lands_after_its_caller_gave_up() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await network.call(REQUEST)
        assert arrived == []
        assert network.in_flight == 1
        await asyncio.sleep(10)
        assert [at for at, _ in arrived] == [pytest.approx(5.0, abs=1e-6)]
        assert network.counts["late deliveries"] == 1

    in_virtual_time(main, late_rate=1.0, late_latency=(5.0, 5.0))


def test_a_duplicated_request_arrives_twice_and_is_answered_once() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        await network.call(REQUEST)
        await asyncio.sleep(1)
        assert [request for _, request in arrived] == [REQUEST, REQUEST]

    in_virtual_time(main, duplicate_rate=1.0)


def test_a_lost_answer_leaves_the_effect_and_the_caller_waiting() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):
                await network.call(REQUEST)
        assert len(arrived) == 1

    in_virtual_time(main, drop_reply_rate=1.0)


def test_a_participant_that_is_down_refuses_at_once() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        network.set_down("p", True)
        with pytest.raises(Unreachable):
            await network.call(REQUEST)
        network.set_down("p", False)
        assert (await network.call(REQUEST)).status == 201

    in_virtual_time(main)


def test_an_injected_error_answers_500_and_leaves_nothing_done() -> None:
    async def main(network: Network, arrived: list[tuple[float, Request]]) -> None:
        assert (await network.call(REQUEST)).status == 500
        assert arrived == []

    in_virtual_time(main, error_rate=1.0)

"""A stop arriving mid-spawn waits for the spawn; SIGTERM in a loop cancels, quietly."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from checkout.stopping import (
    SIGTERM_EXIT_CODE,
    run_until_stopped,
    stop_services_on_sigterm,
    stop_signals_deferred,
)


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


@pytest.mark.usefixtures("restored_handlers")
@pytest.mark.parametrize(
    ("stop", "raised"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit)],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stop_during_a_deferred_block_takes_effect_when_it_ends(
    stop: signal.Signals, raised: type[BaseException]
) -> None:
    stop_services_on_sigterm()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    finished = False

    with pytest.raises(raised), stop_signals_deferred():
        os.kill(os.getpid(), stop)
        finished = True

    assert finished


@pytest.mark.usefixtures("restored_handlers")
def test_a_deferred_block_puts_the_handlers_back() -> None:
    stop_services_on_sigterm()
    before = signal.getsignal(signal.SIGTERM)

    with stop_signals_deferred():
        pass

    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.usefixtures("restored_handlers")
def test_sigterm_cancels_the_main_coroutine_so_its_cleanup_runs() -> None:
    stop_services_on_sigterm()
    cleaned_up: list[str] = []

    async def main() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.Event().wait()  # until cancelled
        finally:
            cleaned_up.append("main")

    with pytest.raises(SystemExit) as stopped:
        run_until_stopped(main())

    assert stopped.value.code == SIGTERM_EXIT_CODE
    assert cleaned_up == ["main"]


@pytest.mark.usefixtures("restored_handlers")
def test_a_coroutine_run_until_stopped_returns_its_result_and_restores_sigterm() -> None:
    stop_services_on_sigterm()
    before = signal.getsignal(signal.SIGTERM)

    async def main() -> int:
        return 7

    assert run_until_stopped(main()) == 7
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.usefixtures("restored_handlers")
@pytest.mark.parametrize(
    ("stop", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit)]
)
def test_a_stop_whose_cancellation_is_swallowed_is_repeated_until_main_ends(
    stop: signal.Signals, raised: type[BaseException]
) -> None:
    stop_services_on_sigterm()
    swallowed = 0

    async def main() -> None:
        # What a retry loop does when a cancellation comes out of a timeout as one.
        nonlocal swallowed
        os.kill(os.getpid(), stop)
        async with asyncio.timeout(10):  # a stop that is not repeated fails, not hangs
            while True:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    swallowed += 1
                    if swallowed == 1:
                        asyncio.current_task().uncancel()  # type: ignore[union-attr]
                        continue
                    raise

    with pytest.raises(raised):
        run_until_stopped(main())

    assert swallowed == 2

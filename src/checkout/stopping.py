"""Commands that start services stop them however they are stopped themselves.

Three pieces, for three ways a stop could leave a service running or print noise:

- :func:`stop_services_on_sigterm`: SIGTERM unwinds the stack as Ctrl-C does, so the
  ``finally`` that stops the services runs (Python's default ends the process at once).
- :func:`stop_signals_deferred`: a stop that lands while a service is being spawned
  waits until the new process is on record, so the ``finally`` knows to stop it.
- :func:`run_until_stopped`: inside an event loop Ctrl-C and SIGTERM cancel the main
  task (again, until it ends), instead of raising inside whatever task runs.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM


def stop_services_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit(143)``, so ``finally: system.stop()`` runs.

    Python's default for SIGTERM ends the process at once: a benchmark or chaos run
    stopped that way (``kill``, a CI timeout) left its services running, holding their
    ports and databases.
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def stop_signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block ends, then deliver them.

    A stop that lands while a child is being spawned (after the fork, before ``Popen``
    returns) unwinds with a process running that nobody recorded: nothing stops it,
    and it keeps its port and database. On a busy machine that window is wide enough
    to hit. Blocking the signals with ``pthread_sigmask`` would not do: children
    inherit the mask, and a service that cannot hear SIGTERM has to be killed.
    """
    if threading.current_thread() is not threading.main_thread():
        # Python runs signal handlers in the main thread only: this thread is never
        # interrupted by one, so there is nothing to hold back.
        yield
        return
    received: list[int] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    held = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in held.items():
        if handler is not None:  # None: set outside Python, and could not be put back
            signal.signal(sig, remember)
    try:
        yield
    finally:
        for sig, handler in held.items():
            if handler is not None:
                signal.signal(sig, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def run_until_stopped(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, where Ctrl-C and SIGTERM cancel ``main`` until it ends,
    then the process exits as it would have: ``KeyboardInterrupt``, or 143.

    Left to :func:`stop_services_on_sigterm`'s handler, SIGTERM raises ``SystemExit``
    inside whichever task happens to run; that task keeps it as an exception nobody
    retrieves, and asyncio prints "Task exception was never retrieved" with a traceback
    on the way out. Cancelled instead, ``main``'s own ``finally`` blocks and ``async
    with`` exits run in order, and the stop is as quiet as Ctrl-C's.

    The cancellation is repeated until ``main`` ends, because one can be lost: in
    Python 3.11 a cancellation that lands as a timeout expires comes out of
    ``asyncio.timeout`` (and of the HTTP clients built on it) as a timeout, which a
    caller that retries on timeouts swallows, and the run would go on.
    """
    return asyncio.run(_cancelled_by_sigterm(main))


RECANCEL_SECONDS = 1.0


async def _cancelled_by_sigterm(main: Coroutine[Any, Any, T]) -> T:
    if threading.current_thread() is not threading.main_thread():
        return await main  # only the main thread can handle signals in a loop
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopped_by: list[int] = []

    def cancel(signum: int) -> None:
        if not stopped_by:
            stopped_by.append(signum)
        if not task.done():
            task.cancel()
            loop.call_later(RECANCEL_SECONDS, cancel, signum)

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, cancel, sig)
    try:
        result = await main
    except asyncio.CancelledError:
        if stopped_by:
            _exit_as(stopped_by[0])
        raise
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:
                signal.signal(sig, handler)
    if stopped_by:  # arrived as ``main`` returned, too late to cancel it
        _exit_as(stopped_by[0])
    return result


def _exit_as(signum: int) -> NoReturn:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(SIGTERM_EXIT_CODE)

"""An asyncio event loop on a virtual clock.

When no callback is ready, the loop does not wait: its clock jumps to the next timer.
An hour of retries, leases and timeouts then takes as long as the work done in it, and
the order in which callbacks run depends only on the program and its seed, never on
the machine: a run can be repeated exactly.

The loop is asyncio's own; only its selector is replaced (through the public
``SelectorEventLoop(selector)`` argument) by one that never blocks on a file and,
asked to wait, moves the clock instead. Code under simulation must not touch real
sockets, threads or the wall clock.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Mapping
from typing import Any


class SimulationStalled(RuntimeError):
    """Every task waits for something that no timer will ever bring: a deadlock."""


class _ClockJumpingSelector(selectors.BaseSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._keys: dict[int, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise SimulationStalled(
                "no callback is ready and no timer is set: every task waits for "
                "something that will never come"
            )
        self._loop.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``loop.time()`` is virtual seconds since ``start``; waiting costs no real time."""

    def __init__(self, *, start: float = 0.0) -> None:
        self._now = start
        super().__init__(_ClockJumpingSelector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(seconds, 0.0)

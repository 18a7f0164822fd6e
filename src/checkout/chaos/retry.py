"""Reads the chaos run makes of a database that may be briefly unreachable.

The run provokes trouble, and the server under it can have some of its own: a
PostgreSQL restarting, or refusing connections for a moment, while the run waits for
the sagas to settle or reads the books. That is no reason to throw away a run of
thousands of sagas, so those reads are retried with a bounded backoff; anything else
(a wrong query, a missing table) fails at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

CONNECTION_SQLSTATES = ("08", "57P")
"""Connection exceptions (``08…``) and operator intervention: shutting down, starting
up, terminated by an administrator (``57P01``–``57P03``)."""


class DatabaseUnreachable(Exception):
    """The database stayed unreachable for every attempt the backoff allows."""


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Attempt ``n`` (from 2) waits ``min(initial * factor ** (n - 2), maximum)`` first;
    ``attempts`` in all. The defaults wait about 38 s over 12 attempts."""

    initial: timedelta = timedelta(seconds=0.25)
    factor: float = 2.0
    maximum: timedelta = timedelta(seconds=5)
    attempts: int = 12

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.factor < 1:
            raise ValueError("factor must be at least 1: a backoff never waits less")
        if self.initial <= timedelta(0) or self.maximum < self.initial:
            raise ValueError("need 0 < initial <= maximum")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (2 for the first retry)."""
        seconds = self.initial.total_seconds() * self.factor ** (attempt - 2)
        return min(seconds, self.maximum.total_seconds())


DEFAULT_BACKOFF = Backoff()


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached, not that the work was
    wrong: refused or reset connections, timeouts, a server shutting down or starting."""
    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(CONNECTION_SQLSTATES)


async def retrying(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[str], None] = lambda _message: None,
) -> T:
    """``operation()``'s result, calling it again while the database is unreachable.

    ``what`` names the work in messages; ``on_retry`` hears about each retry, so the run
    can say in its summary that it had to wait.
    """
    for attempt in range(1, backoff.attempts + 1):
        try:
            return await operation()
        except Exception as error:
            if not is_unreachable(error):
                raise
            if attempt == backoff.attempts:
                raise DatabaseUnreachable(
                    f"{what}: the database was still unreachable after {attempt} attempts "
                    f"({type(error).__name__}: {error})"
                ) from error
            delay = backoff.delay_before(attempt + 1)
            on_retry(
                f"{what}: database unreachable ({type(error).__name__}), "
                f"retry {attempt} of {backoff.attempts - 1} in {delay:.2f}s"
            )
            await sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")

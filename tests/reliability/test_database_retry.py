"""The chaos run's reads of a database that is briefly unreachable are retried, with a
bounded backoff; other errors are not. No test here sleeps: the waits are recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import ProgrammingError

from checkout.chaos.invariants import pending_sagas
from checkout.chaos.retry import Backoff, DatabaseUnreachable, is_unreachable, retrying
from checkout.processes import free_port

QUICK = Backoff(initial=timedelta(seconds=0.5), factor=2, maximum=timedelta(seconds=3), attempts=6)


class Waits:
    """A sleep that only writes down how long it was asked to wait."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


class Flaky:
    """An operation that raises ``errors`` in turn, then answers 42."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 42


def test_waits_grow_by_the_factor_up_to_the_maximum() -> None:
    assert [QUICK.delay_before(attempt) for attempt in range(2, 7)] == [0.5, 1, 2, 3, 3]


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": 0},
        {"factor": 0.5},
        {"initial": timedelta(0)},
        {"initial": timedelta(seconds=2), "maximum": timedelta(seconds=1)},
    ],
)
def test_a_backoff_that_would_not_back_off_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backoff(**options)  # type: ignore[arg-type]


async def test_an_unreachable_database_is_read_again_until_it_answers() -> None:
    waits = Waits()
    heard: list[str] = []
    read = Flaky(ConnectionRefusedError(111, "refused"), TimeoutError())

    answer = await retrying(
        read, what="reading the books", backoff=QUICK, sleep=waits, on_retry=heard.append
    )

    assert answer == 42
    assert read.calls == 3
    assert waits.seconds == [0.5, 1.0]
    assert all(message.startswith("reading the books: database unreachable") for message in heard)


async def test_a_database_that_stays_unreachable_is_given_up_on_after_the_last_attempt() -> None:
    waits = Waits()
    read = Flaky(*(ConnectionRefusedError(111, "refused") for _ in range(10)))

    with pytest.raises(DatabaseUnreachable, match=r"reading the books: .* after 6 attempts"):
        await retrying(read, what="reading the books", backoff=QUICK, sleep=waits)

    assert read.calls == 6
    assert waits.seconds == [0.5, 1, 2, 3, 3]


async def test_an_error_that_is_not_about_reaching_the_database_fails_at_once() -> None:
    waits = Waits()
    read = Flaky(ProgrammingError("SELECT nonsense", {}, Exception("syntax error")))

    with pytest.raises(ProgrammingError):
        await retrying(read, what="reading the books", backoff=QUICK, sleep=waits)

    assert (read.calls, waits.seconds) == (1, [])


async def test_a_postgresql_that_refuses_connections_counts_as_unreachable() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(Exception) as refused:
        await pending_sagas(url)

    assert is_unreachable(refused.value)

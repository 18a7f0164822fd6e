"""Resume from the log: interrupt the engine at every write, finish with a fresh one.

A wrapper around the real SQL store dies (raises a ``BaseException``, which nothing
in the engine catches) just before or just after its n-th write. A new engine on a
new connection pool then recovers the saga from the database. The participant is the
outside world, shared by both: every effect must be applied exactly once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from sagakit import Direction, SagaEngine, SagaStatus, SqlSagaStore, open_database
from sagakit.migrate import upgrade
from tests.support.participants import Behaviour, FakeParticipant, saga_over

LEASE = timedelta(milliseconds=150)
STEP_TIMEOUT = timedelta(milliseconds=50)
WRITES = ("create", "begin_attempt", "finish_attempt", "transition")


class SimulatedCrash(BaseException):
    """The process died."""


class CrashingStore:
    """Delegates to a real store and dies around its ``crash_at``-th write."""

    def __init__(self, store: SqlSagaStore, *, crash_at: int, before: bool) -> None:
        self._store, self._crash_at, self._before = store, crash_at, before
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name not in WRITES:
            return target

        async def write(*args: Any, **kwargs: Any) -> Any:
            self.writes += 1
            if self._before and self.writes == self._crash_at:
                raise SimulatedCrash
            result = await target(*args, **kwargs)
            if not self._before and self.writes == self._crash_at:
                raise SimulatedCrash
            return result

        return write


SCENARIOS = {
    "completes": {},
    "compensates": {("shipping", Direction.FORWARD): [Behaviour.REJECT]},
    "retries": {("inventory", Direction.FORWARD): [Behaviour.FAIL_AFTER_EFFECT]},
}


async def count_writes(url: str, script: dict[Any, list[Behaviour]]) -> tuple[int, SagaStatus]:
    engine = open_database(url)
    store = CrashingStore(SqlSagaStore(engine, lease_duration=LEASE), crash_at=0, before=False)
    saga = saga_over(FakeParticipant(script=dict(script)), timeout=STEP_TIMEOUT)
    state = await SagaEngine(store=store, sagas=[saga]).run(saga, input={})  # type: ignore[arg-type]
    await engine.dispose()
    return store.writes, state.status


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("before", [True, False], ids=["before-write", "after-write"])
async def test_a_fresh_engine_finishes_a_saga_interrupted_at_any_write(
    make_database_url, scenario, before
):
    script = SCENARIOS[scenario]
    reference_url = await make_database_url(f"reference_{scenario}")
    reference = open_database(reference_url)
    await upgrade(reference)
    await reference.dispose()
    total, expected = await count_writes(reference_url, script)

    for crash_at in range(1, total + 1):
        if not before and crash_at == total:
            continue  # dying after the last write leaves nothing to resume
        url = await make_database_url(f"{scenario}_{int(before)}_{crash_at}")
        participant = FakeParticipant(script=dict(script))
        saga = saga_over(participant, timeout=STEP_TIMEOUT)

        first = open_database(url)
        await upgrade(first)
        store = CrashingStore(
            SqlSagaStore(first, lease_duration=LEASE), crash_at=crash_at, before=before
        )
        dying = SagaEngine(store=store, sagas=[saga])  # type: ignore[arg-type]
        with pytest.raises(SimulatedCrash):
            await dying.run(saga, input={}, saga_id=f"saga-{crash_at}")
        await first.dispose()

        await asyncio.sleep(LEASE.total_seconds() * 1.2)
        second = open_database(url)
        fresh_store = SqlSagaStore(second, lease_duration=LEASE)
        recovered = await SagaEngine(store=fresh_store, sagas=[saga]).recover()
        final = await fresh_store.load(f"saga-{crash_at}")
        history = await fresh_store.attempts(f"saga-{crash_at}")
        await second.dispose()

        where = f"crash {'before' if before else 'after'} write {crash_at} of {total}"
        if final is None:
            assert before and crash_at == 1, where  # died before the saga was stored
            assert participant.calls == [], where
            continue
        assert recovered == 1, where
        assert final.status is expected, where
        assert all(count == 1 for count in participant.applied.values()), where
        assert not [a for a in history if a.status == "started"], where
        for step in ("payment", "inventory", "shipping"):
            for direction in Direction:
                assert len(participant.keys_used(final.id, step, direction)) <= 1, where

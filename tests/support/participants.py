"""A hand-written fake participant for engine tests.

It behaves like a real one: it applies each effect once per idempotency key and
replays the first answer to a repeated key. A script says how each call goes.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from sagakit import (
    JSON,
    Action,
    Direction,
    RetryPolicy,
    Saga,
    Step,
    StepContext,
    StepRejected,
    TransientError,
)


class Behaviour(Enum):
    OK = "ok"
    FAIL = "fail"
    """Answer with a transient error before doing anything."""
    FAIL_AFTER_EFFECT = "fail_after_effect"
    """Do the work, then answer with a transient error (the lost-reply case)."""
    REJECT = "reject"
    HANG = "hang"
    """Never answer, so the engine's timeout fires."""


@dataclass(frozen=True)
class Call:
    saga_id: str
    step: str
    direction: Direction
    key: str
    attempt: int


@dataclass
class FakeParticipant:
    script: dict[tuple[str, Direction], list[Behaviour]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    applied: Counter[str] = field(default_factory=Counter)
    """How many times each idempotency key's effect was applied (must never exceed 1)."""
    answers: dict[str, JSON] = field(default_factory=dict)
    seen_results: dict[str, JSON] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    """Keys answered with a refusal: a repeat of the key is refused again."""
    _positions: defaultdict[tuple[str, str, Direction], int] = field(
        default_factory=lambda: defaultdict(int)
    )

    def on(self, step: str, direction: Direction, *behaviours: Behaviour) -> FakeParticipant:
        self.script[(step, direction)] = list(behaviours)
        return self

    def action(self, step: str, direction: Direction) -> Action:
        async def act(context: StepContext) -> JSON:
            return await self._handle(context)

        act.__name__ = f"{step}_{direction.value}"
        return act

    def keys_used(self, saga_id: str, step: str, direction: Direction) -> set[str]:
        return {
            c.key
            for c in self.calls
            if (c.saga_id, c.step, c.direction) == (saga_id, step, direction)
        }

    def effect_applied(self, saga_id: str, step: str, direction: Direction) -> bool:
        return any(self.applied[key] for key in self.keys_used(saga_id, step, direction))

    def called(self, saga_id: str, direction: Direction) -> list[str]:
        """Step names called in ``direction``, in call order, without repeats."""
        names: list[str] = []
        for call in self.calls:
            if (call.saga_id, call.direction) == (saga_id, direction) and (
                not names or names[-1] != call.step
            ):
                names.append(call.step)
        return names

    async def _handle(self, context: StepContext) -> JSON:
        self.calls.append(
            Call(
                context.saga_id,
                context.step,
                context.direction,
                context.idempotency_key,
                context.attempt,
            )
        )
        if context.direction is Direction.COMPENSATE:
            self.seen_results[context.idempotency_key] = context.result
        position = (context.saga_id, context.step, context.direction)
        script = self.script.get((context.step, context.direction), [])
        index = self._positions[position]
        self._positions[position] += 1
        behaviour = script[index] if index < len(script) else Behaviour.OK
        if context.idempotency_key in self.refused:
            behaviour = Behaviour.REJECT
        if behaviour is Behaviour.FAIL:
            raise TransientError(f"{context.step} is unavailable")
        if behaviour is Behaviour.REJECT:
            self.refused.add(context.idempotency_key)
            raise StepRejected(f"{context.step} refused", code=f"{context.step}_refused")
        if behaviour is Behaviour.HANG:
            await asyncio.Event().wait()
        answer = self._apply(context)
        if behaviour is Behaviour.FAIL_AFTER_EFFECT:
            raise TransientError(f"{context.step} answered 500 after doing the work")
        return answer

    def _apply(self, context: StepContext) -> JSON:
        key = context.idempotency_key
        if key not in self.answers:
            self.applied[key] += 1
            self.answers[key] = {
                "step": context.step,
                "done": context.direction.value,
                "seen": sorted(context.results),
            }
        return self.answers[key]


FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=1),
    maximum_interval=timedelta(milliseconds=5),
    maximum_attempts=3,
)


def saga_over(
    participant: FakeParticipant,
    steps: Iterable[str] = ("payment", "inventory", "shipping"),
    *,
    name: str = "checkout",
    version: int = 1,
    retry: RetryPolicy = FAST_RETRY,
    compensation_retry: RetryPolicy = FAST_RETRY,
    timeout: timedelta = timedelta(milliseconds=50),
    deadline: timedelta | None = None,
) -> Saga:
    return Saga(
        name=name,
        version=version,
        deadline=deadline,
        steps=tuple(
            Step(
                step,
                participant.action(step, Direction.FORWARD),
                participant.action(step, Direction.COMPENSATE),
                retry=retry,
                compensation_retry=compensation_retry,
                timeout=timeout,
            )
            for step in steps
        ),
    )


class FakeClock:
    """A clock that moves only when told to, or when the engine 'sleeps'."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def no_jitter(low: float, high: float) -> float:
    return (low + high) / 2

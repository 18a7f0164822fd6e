"""What a saga is: a named, versioned, ordered list of steps. Definitions are data.

A definition does no I/O and holds no control flow; it reads top to bottom like the
business process::

    checkout = Saga(
        name="checkout",
        version=1,
        steps=(
            Step("payment", action=charge, compensation=refund),
            Parallel(
                Step("inventory", action=reserve, compensation=release),
                Step("quote", action=quote_shipping),
            ),
            Step("shipping", action=ship, compensation=cancel_shipment),
        ),
    )
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

if TYPE_CHECKING:
    from pydantic import TypeAdapter

JSON = Any
"""A value that ``json.dumps`` accepts: what actions receive and return."""

Deps = TypeVar("Deps", default=Any)
"""What actions need from their process (clients, settings): ``SagaEngine(deps=...)``."""
Input = TypeVar("Input", default=Mapping[str, JSON])
"""The saga's input as actions see it: a mapping, or the definition's ``input_type``."""


class Direction(StrEnum):
    FORWARD = "forward"
    COMPENSATE = "compensate"


@dataclass(frozen=True, kw_only=True)
class StepContext(Generic[Deps, Input]):
    """Everything an action needs to know, passed as one value so fields can be added.

    ``input`` is the saga's input: a mapping, or an instance of the definition's
    ``input_type``. ``deps`` is what the engine was given as ``deps``: the clients and
    settings of this process, so the definition itself stays the same everywhere. An
    action annotates what it expects, ``StepContext[Participants, Order]``, and a type
    checker holds it to that. ``results`` holds the results of the forward steps that
    completed so far, by step name.

    A compensation runs whether or not the forward step's outcome is known, so it must
    be able to undo without the forward's answer:

    - ``forward_known`` is True when the forward step succeeded: ``result`` is its answer
      (a payment id, say) and the compensation may undo by it;
    - otherwise (the forward call timed out, kept failing, was interrupted, or was
      refused after an attempt that may still land) ``result`` is None, and the
      compensation undoes by what both sides know: a business key from ``input`` (the
      order id) or ``forward_key``, the idempotency key every forward attempt carried.
      The participant answers "nothing to undo" if the forward never happened, and
      remembers that, so the forward is refused if it arrives later.
    """

    saga_id: str
    saga_name: str
    step: str
    direction: Direction
    idempotency_key: str
    attempt: int
    input: Input
    results: Mapping[str, JSON]
    deps: Deps = None  # type: ignore[assignment]  # None unless the engine was given deps
    """``SagaEngine(deps=...)``: this process's clients and settings (None without)."""
    result: JSON = None
    forward_known: bool = False
    """In a compensation: whether the forward step succeeded (``result`` is its answer)."""
    forward_key: str | None = None
    """In a compensation: the idempotency key of the forward step it undoes."""
    key_issued_at: float | None = None
    """When the saga started (Unix seconds, the engine's clock): no request under any of
    its keys was sent earlier, so a participant can bound how long it must keep a key."""
    deadline: float | None = None
    """When this attempt times out (Unix seconds, the engine's clock): after it the
    engine no longer waits for the answer, so a participant need not act on it."""


Action = Callable[[StepContext[Any, Any]], Awaitable[JSON]]


def idempotency_key(saga_id: str, step: str, direction: Direction) -> str:
    """The key a participant uses to apply this call's effect once.

    Deterministic, so every retry and every process that resumes the saga sends the
    same key for the same step and direction.
    """
    return f"{saga_id}:{step}:{direction.value}"


ErrorMatch = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which errors: a type, a tuple of types (as ``isinstance`` takes), or a predicate."""


def asked_wait(error: BaseException) -> timedelta | None:
    """The wait an error asks for in its ``retry_after`` (as ``TransientError`` has)."""
    wait = getattr(error, "retry_after", None)
    return wait if isinstance(wait, timedelta) else None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a failing call is retried, and what counts as failing.

    Before attempt ``n + 1`` (``n >= 1``) the engine waits::

        min(maximum_interval, initial_interval * backoff_coefficient ** (n - 1))
            * uniform(1 - jitter, 1 + jitter)

    or longer, if the error asked for it (``TransientError.retry_after``, an HTTP
    ``Retry-After``). ``maximum_attempts=None`` retries for ever.

    An error the action raises is, in this order:

    - a refusal, if it is a ``StepRejected`` or matches ``refuse_on``: the attempt did
      nothing, the step is not retried, and the saga compensates;
    - retried, if it matches ``retry_on`` (by default, every ``Exception``) and not
      ``non_retryable_error_types``;
    - otherwise final, with an unknown outcome: the step is compensated too.

    ``sagakit.http.HTTP_RETRY`` is the usual rule for calls made with httpx.
    """

    initial_interval: timedelta = timedelta(milliseconds=100)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta = timedelta(seconds=10)
    maximum_attempts: int | None = 5
    jitter: float = 0.2
    retry_on: ErrorMatch = Exception
    refuse_on: ErrorMatch = ()
    non_retryable_error_types: tuple[type[BaseException], ...] = ()
    wait_asked: Callable[[BaseException], timedelta | None] = asked_wait
    """How long the error asks the next attempt to wait (``TransientError.retry_after``
    by default; ``sagakit.http.HTTP_RETRY`` also reads a ``Retry-After`` header)."""

    def __post_init__(self) -> None:
        if self.initial_interval < timedelta(0):
            raise ValueError("initial_interval must not be negative")
        if self.maximum_interval < self.initial_interval:
            raise ValueError("maximum_interval must be at least initial_interval")
        if self.backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be at least 1")
        if self.maximum_attempts is not None and self.maximum_attempts < 1:
            raise ValueError("maximum_attempts must be at least 1, or None for no limit")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def allows_another_attempt(self, attempts_made: int) -> bool:
        return self.maximum_attempts is None or attempts_made < self.maximum_attempts

    def is_retryable(self, error: BaseException) -> bool:
        if isinstance(error, self.non_retryable_error_types):
            return False
        return _matches(self.retry_on, error)

    def is_refusal(self, error: BaseException) -> bool:
        return _matches(self.refuse_on, error)

    def delay_before(
        self, attempt: int, *, uniform: Callable[[float, float], float] = random.uniform
    ) -> timedelta:
        """The wait before ``attempt`` (the second attempt is ``attempt=2``)."""
        exponent = max(attempt - 2, 0)
        base = self.initial_interval.total_seconds() * self.backoff_coefficient**exponent
        capped = min(base, self.maximum_interval.total_seconds())
        return timedelta(seconds=capped * uniform(1 - self.jitter, 1 + self.jitter))


def _matches(match: ErrorMatch, error: BaseException) -> bool:
    if isinstance(match, type | tuple):
        return isinstance(error, match)
    return match(error)


DEFAULT_RETRY = RetryPolicy()
DEFAULT_COMPENSATION_RETRY = RetryPolicy(
    maximum_attempts=10, maximum_interval=timedelta(seconds=30)
)


EventHandler = Callable[[StepContext[Any, Any], JSON], JSON]
"""Turns the event a step waited for into its result, or raises ``StepRejected``."""
WaitTimeout = timedelta | Callable[[StepContext[Any, Any]], timedelta]
"""How long to wait: fixed, or read when the wait begins (from ``context.deps``, say)."""


@dataclass(frozen=True, kw_only=True)
class Await:
    """After the step's action succeeds, wait for an event addressed to the saga.

    The action starts something (a payment challenge, say) and its result is the
    step's; the saga then waits, holding no task, connection or lease, until
    ``engine.send(saga_id, event, payload)`` or ``timeout``. ``on_event`` decides what
    the event means: it returns the step's result (by default the action's stays), or
    raises ``StepRejected`` to refuse. A refusal, or no event in time, fails the step:
    since its action acted, it is compensated with the steps before it.

    ``when`` tells from the action's result whether this run waits at all (a card that
    needs no confirmation, say); by default every run does. ``timeout`` may be read
    when the wait begins, from the step's context: the moment it ends is then stored,
    and a process with other settings does not move it.
    """

    event: str
    timeout: WaitTimeout
    on_event: EventHandler | None = None
    when: Callable[[JSON], bool] | None = None
    timer: bool = False
    """A timer takes no event: its running out is the step's success (see ``delay``)."""

    def __post_init__(self) -> None:
        if not self.event:
            raise ValueError("the event a step waits for needs a name")
        if isinstance(self.timeout, timedelta) and self.timeout <= timedelta(0):
            raise ValueError(f"waiting for {self.event!r}: timeout must be positive")

    def needed(self, result: JSON) -> bool:
        return self.when is None or self.when(result)

    def timeout_for(self, context: StepContext[Any, Any]) -> timedelta:
        timeout = self.timeout if isinstance(self.timeout, timedelta) else self.timeout(context)
        if timeout <= timedelta(0):
            raise ValueError(f"waiting for {self.event!r}: timeout must be positive")
        return timeout


@dataclass(frozen=True)
class Step:
    """One step: a forward action, its compensation, and how patiently to call each.

    ``timeout`` bounds a single attempt of either action. A step without a
    compensation (a read, a notification) is skipped when the saga compensates.
    ``wait`` makes the step wait for an event once its action has succeeded (see
    ``Await``).
    """

    name: str
    action: Action
    compensation: Action | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    compensation_retry: RetryPolicy = DEFAULT_COMPENSATION_RETRY
    timeout: timedelta = timedelta(seconds=10)
    wait: Await | None = None
    group: str | None = field(default=None, kw_only=True)
    """The ``Parallel`` group the step runs in, named by its members' names joined by
    ``+`` (``Parallel`` sets it): None for a step that runs on its own."""

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"step name {self.name!r} must be non-empty and contain no ':'")
        if self.timeout <= timedelta(0):
            raise ValueError(f"step {self.name!r}: timeout must be positive")


async def _no_action(context: StepContext[Any, Any]) -> JSON:
    return None


def delay(name: str, duration: timedelta) -> Step:
    """A step that lets ``duration`` pass before the next, durably: the saga parks with
    no task, connection or lease, survives restarts, and whichever process sees it due
    goes on. Compensating skips it."""
    if duration <= timedelta(0):
        raise ValueError(f"delay {name!r}: duration must be positive")
    return Step(name, _no_action, wait=Await(event=f"{name}.timer", timeout=duration, timer=True))


@dataclass(frozen=True, init=False)
class Parallel:
    """Steps that run side by side: the group succeeds when every member has.

    Each member is a step like any other, with its own retry policy, timeout,
    idempotency keys (``{saga_id}:{member}:{direction}``) and place in the saga's log.
    When one fails for good (refused, retries run out, an error not retried), the
    others start no new attempt and those in flight are awaited; then every member
    that was attempted is compensated, whatever its outcome, last member first, and
    the steps before the group after them. Members see the results of the steps
    before the group, never each other's.

    A member cannot wait for an event (``Await``): a group waits for its members'
    answers only.
    """

    steps: tuple[Step, ...]

    def __init__(self, *steps: Step) -> None:
        if len(steps) < 2:
            raise ValueError("a parallel group needs at least two steps")
        waiting = [step.name for step in steps if step.wait is not None]
        if waiting:
            raise ValueError(
                f"parallel steps cannot wait for an event: {waiting}; put the waiting step "
                "before or after the group"
            )
        label = "+".join(step.name for step in steps)
        object.__setattr__(self, "steps", tuple(replace(step, group=label) for step in steps))


Deadline = timedelta | Callable[[Any], timedelta]
"""How long a saga may go forward: fixed, or read from the engine's ``deps`` at start."""


@dataclass(frozen=True, init=False)
class Saga:
    """A named, versioned business process. ``deadline`` bounds its forward progress:
    once it passes, the saga stops going forward and compensates what it started. It
    may be read from the engine's ``deps`` when a saga starts (a setting of the
    process), and is then stored with the saga: another process does not move it.

    ``input_type`` (a pydantic model or a dataclass) makes the input typed: ``start``
    validates what it is given against it and stores it as JSON, and actions receive
    an instance as ``context.input``. Without it, actions get the JSON mapping.

    A definition is a constant of its module, the same in every process: what its
    actions need reaches them as ``context.deps``, and a process that must give up
    sooner caps attempts with ``SagaEngine(attempt_limit=...)``, not with its own copy.

    ``steps`` may hold ``Parallel`` groups; the saga keeps them flat, every member in
    its place among the steps (tagged with its ``group``), so a cursor, the results and
    the log all go by step name alone.
    """

    name: str
    version: int
    steps: tuple[Step, ...]
    deadline: Deadline | None = None
    input_type: type[Any] | None = None
    step_index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    spans: tuple[range, ...] = field(init=False, repr=False, compare=False)
    """For each step's index, the steps that run with it: its group's, or itself alone."""

    def __init__(
        self,
        name: str,
        version: int,
        steps: Iterable[Step | Parallel],
        deadline: Deadline | None = None,
        input_type: type[Any] | None = None,
    ) -> None:
        flat = tuple(
            member
            for part in steps
            for member in (part.steps if isinstance(part, Parallel) else (part,))
        )
        for attribute, value in (
            ("name", name),
            ("version", version),
            ("steps", flat),
            ("deadline", deadline),
            ("input_type", input_type),
        ):
            object.__setattr__(self, attribute, value)
        self._validate()

    def _validate(self) -> None:
        if not self.steps:
            raise ValueError(f"saga {self.name!r} needs at least one step")
        names = [step.name for step in self.steps]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"saga {self.name!r} repeats step names: {duplicates}")
        awaited = [step.wait.event for step in self.steps if step.wait]
        twice = sorted({event for event in awaited if awaited.count(event) > 1})
        if twice:
            # An event is kept once per saga (the first recorded is final), so two steps
            # waiting for one name would both read the first.
            raise ValueError(f"saga {self.name!r} waits twice for the events {twice}")
        if self.version < 1:
            raise ValueError("version must be at least 1")
        object.__setattr__(self, "step_index", {name: i for i, name in enumerate(names)})
        object.__setattr__(self, "spans", self._spans())

    def _spans(self) -> tuple[range, ...]:
        """Each step's span; a group's members must stand together, as ``Parallel``
        puts them (a ``group`` set by hand that does not is refused)."""
        spans: list[range] = []
        start = 0
        for end in range(1, len(self.steps) + 1):
            label = self.steps[start].group
            if end < len(self.steps) and label is not None and self.steps[end].group == label:
                continue
            members = self.steps[start:end]
            grouped = "+".join(step.name for step in members)
            if label is not None and (label != grouped or len(members) < 2):
                raise ValueError(
                    f"saga {self.name!r}: the steps of group {label!r} must stand together, "
                    "as Parallel(...) puts them"
                )
            spans += [range(start, end)] * (end - start)
            start = end
        return tuple(spans)

    def deadline_for(self, deps: Any) -> timedelta | None:
        """How long a saga started now may go forward, in a process with ``deps``."""
        if self.deadline is None or isinstance(self.deadline, timedelta):
            return self.deadline
        deadline = self.deadline(deps)
        if deadline <= timedelta(0):
            raise ValueError(f"saga {self.name!r}: its deadline must be positive")
        return deadline

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    def label(self, cursor: int) -> str:
        """What runs at ``cursor`` going forward: a step's name, or a group's members'
        names joined by ``+``."""
        step = self.steps[cursor]
        return step.group or step.name

    def stored_input(self, value: Any) -> dict[str, JSON]:
        """The input as stored: validated against ``input_type`` (which raises pydantic's
        ``ValidationError`` naming each wrong field), as a JSON mapping."""
        if self.input_type is None:
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"saga {self.name!r} takes a mapping as input (or give it an input_type)"
                )
            return dict(value)
        stored = self._input_adapter.dump_python(
            self._input_adapter.validate_python(value), mode="json"
        )
        if not isinstance(stored, dict):
            raise TypeError(f"saga {self.name!r}: input_type must serialise to a JSON object")
        return stored

    def action_input(self, stored: Mapping[str, JSON]) -> Any:
        """The input as actions receive it: ``input_type``'s instance, or the mapping."""
        if self.input_type is None:
            return stored
        return self._input_adapter.validate_python(stored)

    @cached_property
    def _input_adapter(self) -> TypeAdapter[Any]:
        from pydantic import TypeAdapter  # only definitions with an input_type pay for it

        assert self.input_type is not None, "only a definition with an input_type adapts"
        return TypeAdapter(self.input_type)

    def capped(self, limit: AttemptLimit) -> Saga:
        """This definition with no step attempted more often than ``limit`` allows."""
        steps = tuple(
            replace(
                step,
                retry=limit.cap(step.retry, limit.forward),
                compensation_retry=limit.cap(step.compensation_retry, limit.compensation),
            )
            for step in self.steps
        )
        return replace(self, steps=steps)


@dataclass(frozen=True, kw_only=True)
class AttemptLimit:
    """How many attempts a process allows any step, below what the definitions ask.

    A deployment's bound, not the process's: a staging environment or a test that must
    see a saga give up within seconds sets it on its engine, and the definitions stay
    what they are everywhere. ``None`` leaves a direction's policies as they are.
    """

    forward: int | None = None
    compensation: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("forward", self.forward), ("compensation", self.compensation)):
            if value is not None and value < 1:
                raise ValueError(f"attempt_limit.{name} must be at least 1")

    @staticmethod
    def cap(policy: RetryPolicy, limit: int | None) -> RetryPolicy:
        if limit is None or (
            policy.maximum_attempts is not None and policy.maximum_attempts <= limit
        ):
            return policy
        return replace(policy, maximum_attempts=limit)

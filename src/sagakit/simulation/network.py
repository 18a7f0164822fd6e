"""A simulated network between orchestrators and participants.

Every message takes a random time to arrive, so messages overtake each other. As
``Faults`` say, a request can be refused at once (the participant is down), lost,
duplicated, or held back past its caller's timeout and delivered later (a *late
delivery*: the caller has retried or compensated by then); an answer can be lost after
the participant acted. A participant handles a request in one step at the instant it
arrives: its transaction is atomic, like a database's.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sagakit.definition import JSON
from sagakit.http import TOO_LATE
from sagakit.simulation.trace import Trace, saga_of_key, short_key

sender: ContextVar[str] = ContextVar("sender", default="client")
"""The name of the simulated process whose task sends a request (for the trace)."""


@dataclass(frozen=True)
class Request:
    destination: str
    operation: str
    body: JSON
    key: str | None = None
    key_issued_at: float | None = None
    """``Idempotency-Key-Issued-At``, on the virtual clock."""
    deadline: float | None = None
    """``Request-Deadline``, on the virtual clock."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: JSON


Participant = Callable[[Request], Reply]
"""A participant model: decides a request at once, atomically, and answers it."""


class Unreachable(Exception):
    """The destination refused the connection: nothing was sent."""


Span = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class Faults:
    """How unreliable the network and the participants are; rates are probabilities."""

    latency: Span = (0.0005, 0.02)
    """One way, in seconds, drawn uniformly for every message."""
    late_rate: float = 0.0
    late_latency: Span = (2.0, 30.0)
    """How long a late request is held back: past the caller's timeout."""
    duplicate_rate: float = 0.0
    drop_request_rate: float = 0.0
    drop_reply_rate: float = 0.0
    refuse_rate: float = 0.0
    error_rate: float = 0.0
    """The participant answers 500 without acting."""
    fail_after_effect_rate: float = 0.0
    """The participant acts, then answers 500."""

    def describe(self) -> str:
        """The faults in force, in words: what a reader of a trace needs first."""
        parts = [f"latency {_ms(self.latency[0])}-{_ms(self.latency[1])}"]
        if self.late_rate:
            low, high = self.late_latency
            parts.append(f"{self.late_rate:.0%} held back {low:g}-{high:g}s")
        for rate, what in (
            (self.duplicate_rate, "duplicated"),
            (self.drop_request_rate, "requests lost"),
            (self.drop_reply_rate, "answers lost"),
            (self.refuse_rate, "refused"),
            (self.error_rate, "answered 500 unacted"),
            (self.fail_after_effect_rate, "answered 500 after acting"),
        ):
            if rate:
                parts.append(f"{rate:.0%} {what}")
        return ", ".join(parts)

    @classmethod
    def draw(cls, rng: random.Random) -> Faults:
        """A random profile: each seed explores its own mix, from calm to hostile."""

        def rate(high: float) -> float:
            return rng.choice((0.0, 0.0, rng.uniform(0.0, high)))

        return cls(
            latency=(0.0005, rng.choice((0.005, 0.05, 0.5))),
            late_rate=rate(0.3),
            late_latency=(1.0, rng.choice((5.0, 30.0, 120.0))),
            duplicate_rate=rate(0.3),
            drop_request_rate=rate(0.2),
            drop_reply_rate=rate(0.2),
            refuse_rate=rate(0.2),
            error_rate=rate(0.2),
            fail_after_effect_rate=rate(0.2),
        )


CALM = Faults()


class Network:
    def __init__(self, *, rng: random.Random, trace: Trace, faults: Faults = CALM) -> None:
        self.faults = faults
        self.in_flight = 0
        """Messages sent and not yet arrived (or lost): late deliveries included."""
        self.counts: Counter[str] = Counter()
        """Late deliveries, copies, losses: what the network did, for the run's summary."""
        self.errors: list[str] = []
        """Participants that raised instead of answering: a bug the run reports."""
        self._rng = rng
        self._trace = trace
        self._participants: dict[str, Participant] = {}
        self._down: set[str] = set()

    def add(self, name: str, participant: Participant) -> None:
        self._participants[name] = participant

    def set_down(self, name: str, down: bool) -> None:
        """A participant that is down refuses connections and drops what arrives."""
        if down == (name in self._down):
            return
        (self._down.add if down else self._down.discard)(name)
        self._trace(name, "down" if down else "back up")

    async def call(self, request: Request) -> Reply:
        """Send ``request`` and wait for the first answer to come back.

        Nothing here times out: a lost request or answer leaves the caller waiting
        until its own timeout cancels the wait, as over a real network.
        """
        who, faults = sender.get(), self.faults
        saga_id = saga_of_key(request.key)
        described = f"{request.operation} {short_key(request.key)}".rstrip()
        if request.destination in self._down or self._draws(faults.refuse_rate):
            self._trace(who, f"→ {request.destination} {described}: refused", saga_id=saga_id)
            raise Unreachable(f"{request.destination} refused the connection")
        answer: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        copies = 2 if self._draws(faults.duplicate_rate) else 1
        for copy in range(copies):
            what = f"→ {request.destination} {described}" + (" (copy)" if copy else "")
            self.counts["copies"] += copy
            if self._draws(faults.drop_request_rate):
                self.counts["requests lost"] += 1
                self._trace(who, f"{what}: lost", saga_id=saga_id)
                continue
            late = self._draws(faults.late_rate)
            delay = self._rng.uniform(*(faults.late_latency if late else faults.latency))
            if late:
                self.counts["late deliveries"] += 1
                self._trace(who, f"{what}: held back {delay:.3f}s", saga_id=saga_id)
            self._after(delay, self._deliver, request, answer, late)
        return await answer

    def _deliver(self, request: Request, answer: asyncio.Future[Reply], late: bool) -> None:
        name, faults = request.destination, self.faults
        saga_id = saga_of_key(request.key)
        what = f"{request.operation} {short_key(request.key)}".rstrip() + (
            " (late)" if late else ""
        )
        if name in self._down:
            self._trace(name, f"← {what}: dropped, {name} is down", saga_id=saga_id)
            return
        if self._draws(faults.error_rate):
            reply = Reply(500, {"detail": "injected error, nothing done"})
        else:
            reply = self._handle(name, request)
            if self._draws(faults.fail_after_effect_rate):
                reply = Reply(500, {"detail": "injected error after acting"})
        self._trace(name, f"← {what}: {reply.status} {_gist(reply)}", saga_id=saga_id)
        if reply.status == TOO_LATE:
            self.counts["refused as too late"] += 1
        if self._draws(faults.drop_reply_rate):
            self.counts["answers lost"] += 1
            self._trace(name, f"answer to {what} lost", saga_id=saga_id)
            return
        self._after(self._rng.uniform(*faults.latency), _resolve, answer, reply)

    def _handle(self, name: str, request: Request) -> Reply:
        try:
            return self._participants[name](request)
        except Exception as error:
            self.errors.append(f"{name} raised on {request.operation} {request.key}: {error!r}")
            return Reply(500, {"detail": "internal error"})

    def _after(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        self.in_flight += 1

        def arrive() -> None:
            self.in_flight -= 1
            callback(*args)

        asyncio.get_running_loop().call_later(delay, arrive)

    def _draws(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"


def _resolve(answer: asyncio.Future[Reply], reply: Reply) -> None:
    if not answer.done():  # the caller may have timed out, or answered by a copy
        answer.set_result(reply)


def _gist(reply: Reply) -> str:
    """A reply's code (``{"detail": {"code": ...}}``) or status field, for the trace."""
    body = reply.body if isinstance(reply.body, dict) else {}
    detail = body.get("detail")
    if isinstance(detail, dict):
        return str(detail.get("code", ""))
    return str(body.get("status", detail or ""))

"""One simulated run: a scenario's workload under seeded chaos, then its invariants.

A run has three phases on the virtual clock. During the *workload*, the scenario's
events happen (sagas started, operators acting, the world changing) while the
network misbehaves as its ``Faults`` say and orchestrators crash, restart and pause.
Then the world *heals*: no new faults, every process up, every participant reachable
(messages already held back still arrive late). The run waits until every saga is at
rest and nothing is in flight, an operator retrying any saga that ended ``failed``,
and finally asks the scenario whether its books obey its invariants.

Everything random is drawn from one ``random.Random(seed)`` in an order fixed by the
program, on a clock that only the program moves: a seed replays exactly.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sagakit.definition import JSON, Saga
from sagakit.errors import EventRefused, SagaError, SagaNotFound
from sagakit.simulation.loop import VirtualTimeLoop
from sagakit.simulation.network import CALM, Faults, Network, Participant
from sagakit.simulation.processes import Orchestrators
from sagakit.simulation.trace import Trace, short
from sagakit.state import SagaState, SagaStatus
from sagakit.store.memory import InMemorySagaStore


@dataclass(frozen=True, kw_only=True)
class Start:
    """A client asks an orchestrator to start a saga (retrying until one is up)."""

    at: float
    saga: Saga
    input: Mapping[str, JSON]
    saga_id: str


@dataclass(frozen=True, kw_only=True)
class Abort:
    """An operator aborts a saga, if it is still running."""

    at: float
    saga_id: str


Prepared = tuple[JSON, str | None] | str | None
"""What ``Send.prepare`` decides: the payload and key to send, an answer that ends the
send without sending (a string), or None: not yet, ask again shortly."""


@dataclass(frozen=True, kw_only=True)
class Send:
    """Someone outside sends a saga its event (a webhook, a customer), through whichever
    orchestrator is up, retrying while none is or while the saga is not yet stored, as a
    webhook retries on errors. ``answered`` hears how it ended: ``recorded``,
    ``duplicate``, or the code of the engine's refusal (``timed_out``, ...).

    ``prepare``, when given, is asked before each try for what to send: a sender that
    first needs the world to be ready (a challenge to answer) returns None until it is;
    a sender still unready when the saga has ended is answered ``never asked``.
    """

    at: float
    saga_id: str
    event: str
    payload: JSON = None
    key: str | None = None
    prepare: Callable[[], Prepared] | None = None
    answered: Callable[[str], None] = lambda _answer: None


@dataclass(frozen=True, kw_only=True)
class Change:
    """The scenario changes the world (a restock, a price...): ``apply`` runs at ``at``."""

    at: float
    what: str
    apply: Callable[[], None]


Event = Start | Abort | Send | Change


class World(Protocol):
    """What a scenario is given to build its sagas and participants on."""

    network: Network
    rng: random.Random
    trace: Trace


class Scenario(Protocol):
    """A saga system to simulate. Built afresh for every run by a factory of a ``World``."""

    def participants(self) -> Mapping[str, Participant]:
        """The participant models, by the name requests are addressed to."""

    def sagas(self) -> Sequence[Saga]:
        """Every definition the orchestrators register."""

    def deps(self) -> Any:
        """What the orchestrators' actions receive as ``context.deps``."""

    def workload(self, rng: random.Random, *, duration: float) -> Sequence[Event]:
        """What happens during the workload, between 0 and ``duration`` seconds."""

    def check(self, sagas: Mapping[str, SagaState]) -> list[str]:
        """The invariants the books break once everything is at rest (empty: none)."""


@dataclass(frozen=True, kw_only=True)
class Mayhem:
    """What the infrastructure does during the workload."""

    faults: Faults = CALM
    orchestrators: int = 1
    crashes: int = 0
    pauses: int = 0
    outages: int = 0
    """Participant outages: down (refusing connections) for a while, then back."""

    def describe(self) -> str:
        return (
            f"{self.orchestrators} orchestrators, {self.crashes} crashes, {self.pauses} "
            f"pauses, {self.outages} participant outages; network: {self.faults.describe()}"
        )

    @classmethod
    def draw(cls, rng: random.Random) -> Mayhem:
        orchestrators = rng.choice((1, 2, 2, 3))
        return cls(
            faults=Faults.draw(rng),
            orchestrators=orchestrators,
            crashes=rng.choice((0, 1, 2, 4)),
            pauses=rng.choice((0, 1, 2)) if orchestrators > 1 else 0,
            outages=rng.choice((0, 0, 1, 2)),
        )


@dataclass(frozen=True, kw_only=True)
class Options:
    duration: float = 60.0
    """Virtual seconds of workload."""
    lease: timedelta = timedelta(seconds=30)
    """The store's lease: longer than every step's timeout, as the engine requires."""
    settle_within: float = 6 * 3600.0
    """Virtual seconds the healed world has to bring every saga to rest."""
    operator_retries: int = 3
    """How often an operator retries a saga that ended ``failed``, after healing."""


DEFAULTS = Options()


@dataclass
class Outcome:
    seed: int
    violations: list[str]
    trace: Trace
    mayhem: Mayhem
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.violations


ScenarioFactory = Callable[[World], Scenario]


@dataclass
class _World:
    network: Network
    rng: random.Random
    trace: Trace


def simulate(
    make_scenario: ScenarioFactory,
    seed: int,
    *,
    mayhem: Mayhem | None = None,
    options: Options = DEFAULTS,
) -> Outcome:
    """Run ``seed`` once on a fresh virtual-time loop; ``mayhem`` is drawn if not given."""
    loop = VirtualTimeLoop()
    try:
        with _engine_log_in_trace() as captured:
            outcome = loop.run_until_complete(_run(make_scenario, seed, mayhem, options))
            outcome.violations.extend(captured)
        return outcome
    finally:
        loop.close()


async def _run(
    make_scenario: ScenarioFactory, seed: int, mayhem: Mayhem | None, options: Options
) -> Outcome:
    return await _Run(make_scenario, seed, mayhem, options).run()


class _Run:
    def __init__(
        self,
        make_scenario: ScenarioFactory,
        seed: int,
        mayhem: Mayhem | None,
        options: Options,
    ) -> None:
        self.seed, self.options = seed, options
        self.rng = random.Random(seed)
        self.mayhem = mayhem if mayhem is not None else Mayhem.draw(self.rng)
        loop = asyncio.get_running_loop()
        self.trace = Trace(loop.time)
        self.network = Network(rng=self.rng, trace=self.trace, faults=self.mayhem.faults)
        self.scenario = make_scenario(_World(self.network, self.rng, self.trace))
        for name, participant in self.scenario.participants().items():
            self.network.add(name, participant)
        self.store = InMemorySagaStore(lease_duration=options.lease, clock=loop.time)
        self.counts: Counter[str] = Counter()
        self.saga_ids: list[str] = []
        self.clients: dict[asyncio.Task[None], None] = {}
        """Clients still trying to start their saga."""

    async def run(self) -> Outcome:
        options, mayhem = self.options, self.mayhem
        self.trace("run", f"seed {self.seed}: {mayhem.describe()}")
        self.orchestrators = Orchestrators(
            count=mayhem.orchestrators,
            store=self.store,
            sagas=self.scenario.sagas(),
            deps=self.scenario.deps(),
            rng=self.rng,
            trace=self.trace,
        )
        events = list(self.scenario.workload(self.rng, duration=options.duration))
        events.sort(key=lambda event: event.at)
        loop = asyncio.get_running_loop()
        for event in events:
            loop.call_at(event.at, self._happen, event)
        self._schedule_mayhem()
        await asyncio.sleep(options.duration)
        self._heal()
        violations = await self._settle()
        await self.orchestrators.stop_all()
        loaded = [await self.store.load(saga_id) for saga_id in self.saga_ids]
        sagas = {state.id: state for state in loaded if state is not None}
        self.counts.update(state.status.value for state in sagas.values())
        violations += self.scenario.check(sagas)
        violations += self.network.errors
        self.counts.update(self.network.counts)
        return Outcome(self.seed, violations, self.trace, mayhem, self.counts)

    def _happen(self, event: Event) -> None:
        if isinstance(event, Start):
            self.counts["sagas"] += 1
            client = asyncio.get_running_loop().create_task(self._start(event))
            self.clients[client] = None
            client.add_done_callback(lambda done: self.clients.pop(done, None))
        elif isinstance(event, Abort):
            live = self.orchestrators.live()
            if live:
                name = self.rng.choice(live)
                self.orchestrators.spawn(name, self._abort(name, event.saga_id))
        elif isinstance(event, Send):
            self.counts["events sent"] += 1
            sender = asyncio.get_running_loop().create_task(self._send(event))
            self.clients[sender] = None
            sender.add_done_callback(lambda done: self.clients.pop(done, None))
        else:
            self.counts["changes"] += 1
            self.trace("world", event.what)
            event.apply()

    async def _start(self, event: Start) -> None:
        """Like a client retrying with an idempotency key until an orchestrator answers."""
        while True:
            live = self.orchestrators.live()
            if live:
                name = self.rng.choice(live)
                task = self.orchestrators.spawn(name, self._start_on(name, event))
                try:
                    await asyncio.shield(task)
                    return
                except (asyncio.CancelledError, SagaError):
                    if await self.store.load(event.saga_id) is not None:
                        return  # stored before the process died: it will be recovered
            await asyncio.sleep(0.5)

    async def _start_on(self, name: str, event: Start) -> None:
        engine = self.orchestrators.engines[name]
        if event.saga_id not in self.saga_ids:
            self.saga_ids.append(event.saga_id)
        await engine.start(event.saga, input=event.input, saga_id=event.saga_id)

    async def _send(self, event: Send) -> None:
        """Until an orchestrator answers: an answer, a refusal included, ends it."""
        while True:
            live = self.orchestrators.live()
            prepared: Prepared = (event.payload, event.key)
            if event.prepare is not None:
                prepared = event.prepare()
                if prepared is None:
                    state = await self.store.load(event.saga_id)
                    prepared = "never asked" if state and state.status.is_terminal else None
            if isinstance(prepared, str):
                self.counts[f"events {prepared}"] += 1
                event.answered(prepared)
                return
            if live and prepared is not None:
                payload, key = prepared
                name = self.rng.choice(live)
                engine = self.orchestrators.engines[name]
                send = engine.send(event.saga_id, event.event, payload, key=key, sender="outside")
                task = self.orchestrators.spawn(name, send)
                try:
                    delivery = await asyncio.shield(task)
                except EventRefused as refused:
                    answer = refused.code
                except (asyncio.CancelledError, SagaNotFound):
                    answer = None  # the process died, or the saga is not stored yet
                else:
                    answer = "recorded" if delivery.recorded else "duplicate"
                if answer is not None:
                    self.counts[f"events {answer}"] += 1
                    self.trace(
                        name,
                        f"event {event.event} for saga {short(event.saga_id)}: {answer}",
                        saga_id=event.saga_id,
                    )
                    event.answered(answer)
                    return
            await asyncio.sleep(0.5)

    async def _abort(self, name: str, saga_id: str) -> None:
        try:
            await self.orchestrators.engines[name].abort(saga_id, actor="simulated operator")
        except SagaError as refused:
            self.trace(name, f"operator's abort refused: {refused}", saga_id=saga_id)
            return
        self.counts["aborts"] += 1
        self.trace(name, f"saga {short(saga_id)} aborted by an operator", saga_id=saga_id)

    def _heal(self) -> None:
        self.trace("run", "healing: no new faults, every process and participant up")
        self.network.faults = CALM
        for name in self.scenario.participants():
            self.network.set_down(name, False)
        for name, process in self.orchestrators.processes.items():
            if not process.alive:
                self.orchestrators.restart(name)
            elif process.paused:
                self.orchestrators.resume(name)

    async def _settle(self) -> list[str]:
        """Wait until every saga rests and no message is in flight; retry ``failed``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.settle_within
        retried: Counter[str] = Counter()
        while True:
            states = [await self.store.load(saga_id) for saga_id in self.saga_ids]
            active = [s.id for s in states if s is not None and s.status.is_active]
            failed = [s.id for s in states if s is not None and s.status is SagaStatus.FAILED]
            for saga_id in failed:
                if retried[saga_id] < self.options.operator_retries:
                    retried[saga_id] += 1
                    self.counts["operator retries"] += 1
                    name = self.rng.choice(self.orchestrators.live())
                    self.orchestrators.spawn(name, self._retry(name, saga_id))
            waiting = [s for s in failed if retried[s] < self.options.operator_retries]
            if not active and not waiting and not self.clients and self.network.in_flight == 0:
                return []
            if loop.time() > deadline:
                within = f"{self.options.settle_within:g}s after the world healed"
                unsettled = [f"saga {saga_id} not at rest {within}" for saga_id in active + waiting]
                if self.clients:
                    unsettled.append(f"{len(self.clients)} sagas not started {within}")
                return unsettled
            await asyncio.sleep(1.0)

    async def _retry(self, name: str, saga_id: str) -> None:
        self.trace(name, f"operator retries failed saga {short(saga_id)}", saga_id=saga_id)
        try:
            await self.orchestrators.engines[name].retry(saga_id, actor="simulated operator")
        except SagaError as refused:
            self.trace(name, f"operator's retry refused: {refused}", saga_id=saga_id)

    def _schedule_mayhem(self) -> None:
        loop, mayhem, duration = asyncio.get_running_loop(), self.mayhem, self.options.duration
        names = list(self.orchestrators.processes)
        self.counts.update(crashes=mayhem.crashes, pauses=mayhem.pauses, outages=mayhem.outages)
        for _ in range(mayhem.crashes):
            name, at = self.rng.choice(names), self.rng.uniform(0, duration)
            loop.call_at(at, self.orchestrators.crash, name)
            loop.call_at(at + self.rng.uniform(0.1, 20.0), self.orchestrators.restart, name)
        for _ in range(mayhem.pauses):
            name, at = self.rng.choice(names), self.rng.uniform(0, duration)
            pause_for = self.rng.uniform(1.0, 3 * self.options.lease.total_seconds())
            loop.call_at(at, self.orchestrators.pause, name)
            loop.call_at(at + pause_for, self.orchestrators.resume, name)
        participants = sorted(self.scenario.participants())
        for _ in range(mayhem.outages):
            name, at = self.rng.choice(participants), self.rng.uniform(0, duration)
            loop.call_at(at, self.network.set_down, name, True)
            loop.call_at(at + self.rng.uniform(1.0, 120.0), self.network.set_down, name, False)


@contextmanager
def _engine_log_in_trace() -> Iterator[list[str]]:
    """Keep the engine's log out of the terminal during a run; its errors (a saga whose
    driving raised) are bugs the run reports."""
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(f"the engine logged an error: {record.getMessage()}")

    logger = logging.getLogger("sagakit")
    handler = Collect(logging.WARNING)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.WARNING
    try:
        yield errors
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved

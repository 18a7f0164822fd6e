"""Orchestrator processes that crash, restart and pause, over one durable store.

Each process runs a real ``SagaEngine`` (with its recovery worker) on the virtual
clock. The store outlives them all, as a database does. A process reaches the store
through a gate: a crashed process never writes again (its tasks are cancelled at
whatever await they stood), and a paused one (like a process under SIGSTOP) waits at
its next write until it is resumed, its lease perhaps taken over meanwhile, so that
its write meets the fencing token.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any

from sagakit.definition import Saga
from sagakit.engine import SagaEngine
from sagakit.simulation.network import sender
from sagakit.simulation.trace import Trace, short
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    Delivery,
    SagaEvent,
    SagaState,
    Signal,
)
from sagakit.store.memory import InMemorySagaStore

POLL_SECONDS = 1.0


class Process:
    def __init__(self, name: str) -> None:
        self.name = name
        self.alive = True
        self.generation = 0
        self.tasks: dict[asyncio.Task[Any], None] = {}
        """In the order they began: a crash cancels them in that order, every time."""
        self._running = asyncio.Event()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    async def io(self) -> None:
        """Pass only while alive, and not before a pause ends."""
        if self.alive and self._running.is_set():
            return
        await self._running.wait()
        if not self.alive:
            raise asyncio.CancelledError(f"{self.name} crashed")

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()


class GatedStore:
    """The shared store as one process reaches it."""

    def __init__(self, store: InMemorySagaStore, process: Process) -> None:
        self._store, self._process = store, process

    @property
    def lease_duration(self) -> timedelta:
        return self._store.lease_duration

    async def create(
        self,
        state: SagaState,
        *,
        owner: str,
        alongside: None = None,
        first_attempt: AttemptStart | None = None,
    ) -> SagaState:
        await self._process.io()
        return await self._store.create(
            state, owner=owner, alongside=alongside, first_attempt=first_attempt
        )

    async def begin_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        *,
        next_state: SagaState | None = None,
        close_interrupted: bool = False,
    ) -> None:
        await self._process.io()
        await self._store.begin_attempt(
            state, start, next_state=next_state, close_interrupted=close_interrupted
        )

    async def finish_attempt(
        self,
        state: SagaState,
        start: AttemptStart,
        end: AttemptEnd,
        next_state: SagaState,
        *,
        next_start: AttemptStart | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        await self._process.io()
        await self._store.finish_attempt(
            state,
            start,
            end,
            next_state,
            next_start=next_start,
            retry_after=retry_after,
            release=release,
        )

    async def transition(
        self,
        state: SagaState,
        next_state: SagaState,
        *,
        event: SagaEvent | None = None,
        retry_after: timedelta | None = None,
        release: bool = False,
    ) -> None:
        await self._process.io()
        await self._store.transition(
            state, next_state, event=event, retry_after=retry_after, release=release
        )

    async def deliver(self, signal: Signal) -> Delivery:
        await self._process.io()
        return await self._store.deliver(signal)

    async def signal(self, saga_id: str, name: str) -> Signal | None:
        await self._process.io()
        return await self._store.signal(saga_id, name)

    async def clock_offset(self) -> float:
        await self._process.io()
        return await self._store.clock_offset()

    async def events(self, saga_id: str) -> Sequence[SagaEvent]:
        await self._process.io()
        return await self._store.events(saga_id)

    async def claim_due(self, *, owner: str, limit: int) -> Sequence[SagaState]:
        await self._process.io()
        return await self._store.claim_due(owner=owner, limit=limit)

    async def claim(self, saga_id: str, *, owner: str, force: bool = False) -> SagaState | None:
        await self._process.io()
        return await self._store.claim(saga_id, owner=owner, force=force)

    async def load(self, saga_id: str) -> SagaState | None:
        await self._process.io()
        return await self._store.load(saga_id)

    async def attempts(self, saga_id: str) -> Sequence[AttemptRecord]:
        await self._process.io()
        return await self._store.attempts(saga_id)


class TraceObserver:
    """The engine's account of each attempt, in the trace under its process's name."""

    def __init__(self, trace: Trace, name: str) -> None:
        self._trace, self._name = trace, name

    def saga_started(self, state: SagaState) -> None:
        self._trace(self._name, f"saga {short(state.id)} started", saga_id=state.id)

    def attempt_finished(self, state: SagaState, start: AttemptStart, end: AttemptEnd) -> None:
        error = f" ({end.error})" if end.error else ""
        self._trace(
            self._name,
            f"saga {short(state.id)} {start.step} {start.direction.value} "
            f"#{start.attempt}: {end.status.value}{error}",
            saga_id=state.id,
        )

    def saga_settled(self, state: SagaState) -> None:
        self._trace(self._name, f"saga {short(state.id)} {state.status.value}", saga_id=state.id)

    def sagas_claimed(self, states: Sequence[SagaState]) -> None:
        for state in states:
            self._trace(self._name, f"saga {short(state.id)} taken over", saga_id=state.id)

    def lease_lost(self, saga_id: str) -> None:
        self._trace(self._name, f"saga {short(saga_id)} lease lost", saga_id=saga_id)

    def saga_held(self, saga_id: str) -> None:
        pass  # the trace already says why: started, taken over or woken

    def saga_let_go(self, saga_id: str) -> None:
        pass


class Orchestrators:
    """``count`` orchestrator processes named ``orch-1`` …, each with an engine."""

    def __init__(
        self,
        *,
        count: int,
        store: InMemorySagaStore,
        sagas: Sequence[Saga],
        deps: Any,
        rng: random.Random,
        trace: Trace,
    ) -> None:
        self.store = store
        self._sagas, self._deps, self._rng, self._trace = sagas, deps, rng, trace
        self.processes = {f"orch-{i}": Process(f"orch-{i}") for i in range(1, count + 1)}
        self.engines: dict[str, SagaEngine] = {}
        self._closing: set[asyncio.Task[None]] = set()
        for name in self.processes:
            self._boot(name)

    def live(self) -> list[str]:
        """Processes that are up and not paused, in name order."""
        return [name for name, p in self.processes.items() if p.alive and not p.paused]

    def spawn(self, name: str, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` as a task of process ``name``: it dies with the process."""
        process = self.processes[name]
        context = contextvars.copy_context()
        context.run(sender.set, name)
        task = asyncio.get_running_loop().create_task(work, context=context)
        process.tasks[task] = None
        task.add_done_callback(lambda done: process.tasks.pop(done, None))
        return task

    def crash(self, name: str, *, how: str = "crashed") -> None:
        process = self.processes[name]
        if not process.alive:
            return
        process.alive = False
        process.resume()  # a paused task wakes at its gate and finds the process dead
        self._trace(name, how)
        for task in list(process.tasks):
            task.cancel()
        engine = self.engines.pop(name)
        # Cancels the sagas the engine drove in the background (the worker launched them).
        self._closing.add(asyncio.get_running_loop().create_task(engine.close()))

    def restart(self, name: str) -> None:
        process = self.processes[name]
        if process.alive:
            return
        process.alive = True
        self._trace(name, "restarted")
        self._boot(name)

    def pause(self, name: str) -> None:
        self.processes[name].pause()
        self._trace(name, "paused")

    def resume(self, name: str) -> None:
        self.processes[name].resume()
        self._trace(name, "resumed")

    async def stop_all(self) -> None:
        """Crash every process and wait until all their tasks have ended."""
        for name in self.processes:
            self.crash(name, how="stopped")
        tasks = [task for process in self.processes.values() for task in process.tasks]
        await asyncio.gather(*tasks, *self._closing, return_exceptions=True)

    def _boot(self, name: str) -> None:
        process = self.processes[name]
        process.generation += 1
        loop = asyncio.get_running_loop()
        engine = SagaEngine(
            store=GatedStore(self.store, process),
            sagas=self._sagas,
            deps=self._deps,
            owner=f"{name}/{process.generation}",
            clock=loop.time,
            uniform=self._rng.uniform,
            observer=TraceObserver(self._trace, name),
        )
        self.engines[name] = engine
        self.spawn(name, engine.run_worker(poll_interval=POLL_SECONDS, stop=asyncio.Event()))

"""The engine: which sagas this process drives, and when.

It stores new sagas and drives them at once, takes over those whose process died or
whose retry fell due, wakes whoever waits for a saga to settle, and carries out an
operator's retry or abort. How one saga is stepped and recorded is the executor's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic

from sagakit.definition import JSON, AttemptLimit, Direction, Saga
from sagakit.errors import (
    EventRefused,
    InvalidTransition,
    LeaseLost,
    SagaNotFound,
    UnknownSagaError,
)
from sagakit.executor import Executor, Sleep
from sagakit.handle import SagaHandle
from sagakit.observer import NoObserver, SagaObserver
from sagakit.progress import Uniform, retry_compensation, stop_forward
from sagakit.state import (
    AttemptStart,
    Delivery,
    DriveResult,
    Failure,
    SagaEvent,
    SagaState,
    SagaStatus,
    Signal,
    SignalKind,
)
from sagakit.store.protocol import AlongsideT, SagaStore
from sagakit.unavailable import OutageLog, is_unavailable

log = logging.getLogger("sagakit")

CLOCK_CHECK_SECONDS = 60.0
"""How often an engine keeping the store's time reads it again: clocks drift slowly."""
LOCAL_POLL_SECONDS = 5.0
"""How often a waiter re-reads a saga this engine drives: it is woken at the end anyway."""
WAIT_POLL_SECONDS = 0.2
"""How often a waiter re-reads a saga driven elsewhere."""


class SagaEngine(Generic[AlongsideT]):
    """Runs sagas against a store. One engine drives many sagas in one event loop.

    ``sagas`` are the definitions this engine knows: every version that may still have
    sagas in flight. ``deps`` reaches every action as ``context.deps`` (the clients and
    settings of this process). ``attempt_limit`` caps how often any step is attempted
    here, below what the definitions ask. ``owner`` names this process in leases;
    ``max_concurrency`` bounds how many sagas it drives at once. ``clock``, ``sleep``
    and ``uniform`` (the jitter source) are injectable so tests never wait on real time.
    Without a ``clock`` the engine keeps the store's time (the database's, read again
    every ``CLOCK_CHECK_SECONDS``): deadlines, waits and delays then mean the same in
    every process, whatever its own clock says.

    ``start`` stores a saga and drives it in the background, ``run`` drives it to its
    end in the foreground, and the ``SagaHandle`` they give (or ``handle(id)``) waits
    for the outcome.

    The engine takes alongside a new saga what its store does (``AlongsideT``, read
    from ``store``): ``SagaEngine(store=SqlSagaStore(...))`` is a
    ``SagaEngine[Alongside]``; with ``InMemorySagaStore`` it takes nothing. A bare
    ``SagaEngine`` annotation means an engine over any store.
    """

    def __init__(
        self,
        *,
        store: SagaStore[AlongsideT],
        sagas: Iterable[Saga],
        deps: Any = None,
        attempt_limit: AttemptLimit | None = None,
        owner: str | None = None,
        max_concurrency: int = 64,
        clock: Callable[[], float] | None = None,
        sleep: Sleep = asyncio.sleep,
        uniform: Uniform = random.uniform,
        observer: SagaObserver | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.store = store
        self.owner = owner or f"engine-{uuid.uuid4().hex[:12]}"
        self.observer: SagaObserver = observer or NoObserver()
        self._definitions: dict[tuple[str, int], Saga] = {}
        self._attempt_limit = attempt_limit
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._store_time: StoreTime | None = None
        if clock is None:
            self._store_time = StoreTime(store)
            clock = self._store_time.now
        self._clock = clock
        self._deps = deps
        self._executor = Executor(
            store=store,
            observer=self.observer,
            clock=self._clock,
            sleep=sleep,
            uniform=uniform,
            deps=deps,
            owner=self.owner,
        )
        self._tasks: dict[asyncio.Task[DriveResult | None], None] = {}
        """Sagas driven in the background, in launch order (so ``close`` is repeatable)."""
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._driving: set[str] = set()
        self._outages = OutageLog(log)
        for saga in sagas:
            self._register(saga)

    def _register(self, saga: Saga) -> None:
        for step in saga.steps:
            if step.timeout >= self.store.lease_duration:
                raise ValueError(
                    f"step {step.name!r} of saga {saga.name!r}: its timeout ({step.timeout}) "
                    f"must be shorter than the store's lease ({self.store.lease_duration}), "
                    "or another process could take the saga over while the step is still "
                    "running; give the store a longer lease"
                )
        limited = saga.capped(self._attempt_limit) if self._attempt_limit else saga
        self._definitions[saga.key] = limited

    def definition(self, state: SagaState) -> Saga:
        try:
            return self.definition_for(state.name, state.version)
        except UnknownSagaError as unknown:
            raise UnknownSagaError(f"saga {state.id}: {unknown}") from None

    def definition_for(self, name: str, version: int) -> Saga:
        """The registered definition ``name`` at ``version`` (with this engine's limits)."""
        try:
            return self._definitions[(name, version)]
        except KeyError:
            raise UnknownSagaError(
                f"definition {name!r} version {version} is not registered with this engine; "
                "pass every version that may still have sagas in flight in SagaEngine(sagas=...)"
            ) from None

    def new_state(self, saga: Saga, *, input: Any, saga_id: str | None = None) -> SagaState:
        """The initial state of a saga, not yet stored (see ``start``)."""
        self.definition_for(saga.name, saga.version)  # registered, or say how to
        now = self._clock()
        limit = saga.deadline_for(self._deps)
        deadline = now + limit.total_seconds() if limit else None
        return SagaState(
            id=saga_id or str(uuid.uuid4()),
            name=saga.name,
            version=saga.version,
            status=SagaStatus.RUNNING,
            input=saga.stored_input(input),
            deadline_at=deadline,
            created_at=now,
            updated_at=now,
        )

    async def start(
        self,
        saga: Saga,
        *,
        input: Any,
        saga_id: str | None = None,
        alongside: AlongsideT | None = None,
    ) -> SagaHandle:
        """Store a new saga and drive it in the background; its handle waits for it.

        ``input`` is a JSON mapping, or what the definition's ``input_type`` validates.
        Once ``start`` returns, the saga is durable: if this process dies, another
        finishes it. ``alongside`` is the application's own writes, made in the same
        transaction as the saga's insert so both are stored or neither, in whatever form
        the store takes (``SagaStore.create``). With ``SqlSagaStore`` that is ``Rows`` to
        insert (on PostgreSQL one statement with the saga's), or a function that gets a
        blocking SQLAlchemy connection and may write anything; ``InMemorySagaStore``
        takes none.
        """
        await self._keep_time()
        new = self.new_state(saga, input=input, saga_id=saga_id)
        # The first attempt is begun in the same write: one transaction fewer per saga.
        first = self._executor.first_attempt(self.definition(new), new)
        state = await self.store.create(
            new.evolve(attempt=first.attempt) if first else new,
            owner=self.owner,
            alongside=alongside,
            first_attempt=first,
        )
        self.observer.saga_started(state)
        return self._launch(state, begun=first)

    async def run(self, saga: Saga, *, input: Any, saga_id: str | None = None) -> SagaState:
        """Start a saga and wait for it to end: ``await (await start(...)).result()``."""
        return await (await self.start(saga, input=input, saga_id=saga_id)).result()

    def handle(self, saga_id: str) -> SagaHandle:
        """A handle on a saga started anywhere, to read its status or wait for its end."""
        return SagaHandle(saga_id, store=self.store, settle=self._settled)

    def _launch(
        self, state: SagaState, *, begun: AttemptStart | None = None, claimed: bool = False
    ) -> SagaHandle:
        task = asyncio.create_task(self._drive_guarded(state, begun=begun, claimed=claimed))
        self._tasks[task] = None
        task.add_done_callback(self._forget)
        return SagaHandle(state.id, store=self.store, settle=self._settled, driving=task)

    async def recover(self, *, limit: int | None = None) -> int:
        """Claim the sagas that are due and unheld and drive them to rest; returns how many."""
        await self._keep_time()
        claimed = await self.store.claim_due(owner=self.owner, limit=limit or self._max_concurrency)
        if claimed:
            self.observer.sagas_claimed(claimed)
        await asyncio.gather(*(self._drive_guarded(state, claimed=True) for state in claimed))
        return len(claimed)

    async def retry(self, saga_id: str, *, actor: str = "operator") -> SagaHandle:
        """An operator's retry of a ``failed`` saga: resume its unfinished compensations.

        The retry is recorded in the saga's events with ``actor`` before this returns;
        the saga is driven in the background, and the handle waits for its new end.
        """
        state = await self._claim_for_operator(saga_id, SagaStatus.FAILED)
        retried = retry_compensation(self.definition(state), state)
        event = SagaEvent(saga_id=saga_id, kind="retry", actor=actor, at=self._clock())
        await self.store.transition(state, retried, event=event)
        return self._launch(retried, claimed=True)

    async def abort(
        self,
        saga_id: str,
        *,
        actor: str = "operator",
        reason: str = "aborted by an operator",
    ) -> SagaHandle:
        """Stop a running saga's forward progress and compensate what it started.

        The abort takes the lease by force: a process still driving the saga finds its
        fencing token stale at its next write and lets go. The compensations run in
        the background; the handle waits for them.
        """
        state = await self._claim_for_operator(saga_id, SagaStatus.RUNNING, force=True)
        saga = self.definition(state)
        failure = Failure(
            step=saga.label(state.cursor),
            direction=Direction.FORWARD,
            error=reason,
            code="aborted",
        )
        aborted = stop_forward(saga, state, failure)
        event = SagaEvent(
            saga_id=saga_id, kind="abort", actor=actor, at=self._clock(), detail=reason
        )
        await self.store.transition(state, aborted, event=event)
        return self._launch(aborted, claimed=True)

    async def send(
        self,
        saga_id: str,
        event: str,
        payload: JSON = None,
        *,
        key: str | None = None,
        sender: str = "sender",
    ) -> Delivery:
        """Send the saga the event ``event``, for a step that waits (or will wait) for it.

        The first event recorded under a name is final: the same event sent again (the
        same ``key``, by default the payload's digest) is a duplicate, ``recorded`` False,
        however late it comes; a different one, or one after the wait timed out, raises
        ``EventRefused``, as does an event the saga never waits for, or a first event
        for a saga that no longer runs. A recorded event is durable; the saga, if it
        waits, is driven on at once here, or by whichever engine holds or claims it.
        """
        await self._keep_time()
        state = await self.store.load(saga_id)
        if state is None:
            raise SagaNotFound(f"no saga has id {saga_id}")
        saga = self.definition(state)
        waits = {
            step.wait.event: i
            for i, step in enumerate(saga.steps)
            if step.wait and not step.wait.timer
        }
        if event not in waits:
            raise EventRefused(
                f"saga {saga_id} ({saga.name} v{saga.version}) never waits for {event!r}; "
                f"it waits for {sorted(waits) or 'no event'}",
                code="not_awaited",
            )
        key = key or _digest(payload)
        held = await self.store.signal(saga_id, event)
        if held is None and (state.status is not SagaStatus.RUNNING or waits[event] < state.cursor):
            raise EventRefused(
                f"saga {saga_id} is {state.status} and no longer waits for {event!r}",
                code="not_running",
            )
        if held is None:
            signal = Signal(
                saga_id=saga_id,
                name=event,
                kind=SignalKind.EVENT,
                key=key,
                payload=payload,
                sender=sender,
                at=self._clock(),
            )
            delivery = await self.store.deliver(signal)
        else:  # decided already: the answer is the same however late this copy comes
            delivery = Delivery(held, recorded=False)
        _refuse_unless_kept(saga_id, event, key, delivery.signal)
        if delivery.recorded:
            await self._wake(saga_id)
        return delivery

    async def _keep_time(self) -> None:
        if self._store_time is not None:
            await self._store_time.keep()

    async def _wake(self, saga_id: str) -> None:
        """Drive a saga that has just been sent its event, if it waits for it and nobody
        holds it; otherwise its holder, or the worker that claims it when due, goes on."""
        state = await self.store.load(saga_id)
        if state is None or state.wait_until is None or saga_id in self._driving:
            return
        claimed = await self.store.claim(saga_id, owner=self.owner)
        if claimed is not None:
            self._launch(claimed, claimed=True)

    async def run_worker(self, *, poll_interval: float = 1.0, stop: asyncio.Event) -> None:
        """Until ``stop`` is set, claim due sagas into free slots and drive them.

        This is how sagas whose process died, or that wait for a retry, get finished;
        a failing pass (the database restarting, say) is logged and tried again.
        """
        while not stop.is_set():
            await self._keep_time()
            free = self._max_concurrency - len(self._driving)
            claimed: Sequence[SagaState] = []
            if free > 0:
                try:
                    claimed = await self.store.claim_due(owner=self.owner, limit=free)
                except Exception as error:
                    if not is_unavailable(error):
                        log.exception("claiming due sagas failed; trying again")
                    else:  # one line per interval, not a traceback per pass
                        self._outages.failed("claiming due sagas: the store is unavailable", error)
            if claimed:
                self.observer.sagas_claimed(claimed)
            for state in claimed:
                self._launch(state, claimed=True)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)

    async def _settled(self, saga_id: str) -> SagaState:
        """The saga's state once it is terminal (a handle's ``result`` bounds the wait).

        Sagas this engine drives wake the waiter at once; others are polled.
        """
        while True:
            state = await self.store.load(saga_id)
            if state is None:
                raise SagaNotFound(f"no saga has id {saga_id}")
            if state.status.is_terminal:
                return state
            woken = asyncio.Event()
            waiters = self._waiters.setdefault(saga_id, set())
            waiters.add(woken)
            try:
                with contextlib.suppress(TimeoutError):
                    # A saga driven here wakes its waiters itself; polling is for the rest.
                    interval = LOCAL_POLL_SECONDS if saga_id in self._driving else WAIT_POLL_SECONDS
                    await asyncio.wait_for(woken.wait(), interval)
            finally:
                waiters.discard(woken)
                if not waiters:
                    self._waiters.pop(saga_id, None)

    async def close(self) -> None:
        """Cancel the sagas driven in the background; their leases expire and others resume."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _claim_for_operator(
        self, saga_id: str, expected: SagaStatus, *, force: bool = False
    ) -> SagaState:
        current = await self.store.load(saga_id)
        if current is None:
            raise SagaNotFound(f"no saga has id {saga_id}")
        if current.status is not expected:
            raise InvalidTransition(
                f"saga {saga_id} is {current.status}; this needs a {expected} saga"
            )
        state = await self.store.claim(saga_id, owner=self.owner, force=force)
        if state is None:
            raise InvalidTransition(
                f"saga {saga_id} is being driven by another process; try again when its "
                "lease expires"
            )
        if state.status is not expected:  # it moved between the load and the claim
            raise InvalidTransition(f"saga {saga_id} is now {state.status}; try again")
        return state

    async def _drive_guarded(
        self, state: SagaState, *, begun: AttemptStart | None = None, claimed: bool
    ) -> DriveResult | None:
        """Drive a held saga until it is terminal or parked for a long retry.

        ``begun`` is its first attempt, recorded as started when the saga was created.
        ``claimed`` says the saga was just taken over from the log, so attempts a dead
        process left open are closed as ``interrupted`` before they are called again.
        None if the engine had to let go of the saga (see the log).
        """
        self._driving.add(state.id)
        self.observer.saga_held(state.id)
        try:
            async with self._slots:
                return await self._executor.drive(
                    self.definition(state), state, begun=begun, claimed=claimed
                )
        except LeaseLost as lost:
            self.observer.lease_lost(state.id)
            log.warning(
                "saga %s: lease lost, letting go: %s", state.id, lost, extra={"saga_id": state.id}
            )
            return None
        except Exception as error:
            if is_unavailable(error):
                self._outages.failed("driving a saga (to be recovered): store unavailable", error)
            else:
                log.exception(
                    "saga %s: driving failed; it will be recovered",
                    state.id,
                    extra={"saga_id": state.id},
                )
            return None
        finally:
            self._driving.discard(state.id)
            self.observer.saga_let_go(state.id)
            self._notify(state.id)

    def _forget(self, task: asyncio.Task[DriveResult | None]) -> None:
        self._tasks.pop(task, None)

    def _notify(self, saga_id: str) -> None:
        for woken in self._waiters.get(saga_id, ()):
            woken.set()


class StoreTime:
    """This process's clock, set by the store's: ``time.time()`` plus the offset the
    store last measured (0 until it has)."""

    def __init__(self, store: SagaStore[Any]) -> None:
        self._store = store
        self._offset = 0.0
        self._checked: float | None = None

    def now(self) -> float:
        return time.time() + self._offset

    async def keep(self) -> None:
        """Read the store's time again if it is time to. A failed read keeps the offset
        last measured: the write that needs the store says why it failed."""
        checked = time.monotonic()
        if self._checked is not None and checked - self._checked < CLOCK_CHECK_SECONDS:
            return
        self._checked = checked
        try:
            self._offset = await self._store.clock_offset()
        except Exception as error:
            if not is_unavailable(error):
                log.warning("reading the store's clock failed: %s", error)


def _refuse_unless_kept(saga_id: str, event: str, key: str, held: Signal) -> None:
    """Nothing if the saga keeps this very event; else why it takes none."""
    if held.kind is SignalKind.TIMEOUT:
        raise EventRefused(
            f"saga {saga_id} stopped waiting for {event!r}: it timed out first",
            code="timed_out",
        )
    if held.key != key:
        raise EventRefused(
            f"saga {saga_id} already received another {event!r} event (key {held.key})",
            code="another_event",
        )


def _digest(payload: JSON) -> str:
    """An event's key when its sender gives none: equal payloads, equal keys."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

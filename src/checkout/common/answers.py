"""The first answer a participant gives under an idempotency key is its answer for good.

The orchestrator retries a call whose answer it did not get, and a request can reach a
participant late (after its caller timed out) or twice. So the participant may see a
key again at any time, even long after the saga moved on. Every answer to an
orchestrated POST, a refusal as much as a success, is therefore recorded with its key
in the transaction that decided it, and a request under a settled key gets that answer
back whatever has changed since. Judged afresh, a late copy of a reservation refused
for want of stock would take stock restocked since, for an order cancelled long ago.

A request under a key that is still being decided waits for the decision: the key is
locked first (:func:`checkout.common.database.lock_key`). A key reused with a different
request is refused with 422 and nothing is recorded, so the key keeps meaning its first
request.

"For good" is as long as a request under the key can still be served: an answer made
with an ``Idempotency-Key-Issued-At`` expires, and a request that comes too late to find
it is refused with 410 (:mod:`checkout.common.key_expiry`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection

from checkout.common.database import lock_key
from checkout.common.key_expiry import (
    DEFAULT_CLOCK_SKEW,
    DEFAULT_RETENTION,
    UNTIMED,
    KeyTimes,
    acceptance_window,
    check_retention,
    expires_at,
    refuse_if_too_late,
)
from checkout.common.refusals import KEY_REUSED, BusinessError, key_reused


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the participant gave it: status code and JSON body."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    """True when this is the recorded answer to an earlier request under the same key."""

    @property
    def is_refusal(self) -> bool:
        return self.status_code >= 400


@dataclass(frozen=True, kw_only=True)
class KeyRules:
    """How a participant treats idempotency keys. Only the defaults are safe: the others
    exist so that the chaos run and the simulator can show what breaks without them."""

    idempotent: bool = True
    """False: a forward request's key is ignored and nothing is recorded
    (``IDEMPOTENCY_DISABLED``); a compensation keeps its key
    (:meth:`checkout.common.effects.EffectLedger.undo_once`)."""
    remember_refusals: bool = True
    """False: a refusal is not recorded, so a later copy of its request is judged afresh."""
    key_retention: timedelta = DEFAULT_RETENTION
    """How long after its key was issued an answer is kept (``KEY_RETENTION_SECONDS``)."""
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW
    """How far this participant's clock may be from the orchestrator's
    (``CLOCK_SKEW_SECONDS``)."""
    now: Callable[[], float] = time.time
    """This participant's clock, in Unix seconds (the simulator's is virtual)."""

    def __post_init__(self) -> None:
        check_retention(retention=self.key_retention, skew=self.clock_skew)

    @property
    def acceptance_window(self) -> timedelta:
        """How long after its issue a key is accepted for a forward request."""
        return acceptance_window(retention=self.key_retention, skew=self.clock_skew)

    def refuse_if_too_late(self, times: KeyTimes, *, compensation: bool) -> None:
        """Raise the 410 refusal of a request that comes too late, now."""
        refuse_if_too_late(
            times,
            now=self.now(),
            window=self.acceptance_window,
            skew=self.clock_skew,
            compensation=compensation,
        )

    def expires_at(self, times: KeyTimes) -> datetime | None:
        """When a record made under ``times`` may be forgotten (None: never)."""
        return expires_at(times, retention=self.key_retention)


SAFE = KeyRules()


def answers_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "answers",
        metadata,
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # When it may be forgotten (checkout.common.pruning); NULL: kept for good.
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, index=True),
    )


def request_hash(operation: str, request: Mapping[str, Any]) -> str:
    """What identifies a request under its key: the operation and its validated body."""
    canonical = json.dumps(
        {"operation": operation, "request": request}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer_once(
    connection: Connection,
    table: sa.Table,
    *,
    key: str,
    operation: str,
    request: BaseModel,
    decide: Callable[[Connection], Answer],
    rules: KeyRules = SAFE,
    times: KeyTimes = UNTIMED,
    compensation: bool = False,
) -> Answer:
    """The answer under ``key``: the recorded one, or ``decide``'s, recorded now.

    ``request`` is the validated body. ``decide`` runs in a savepoint: when it raises a
    :class:`BusinessError` its writes are undone and the refusal is the answer.

    A request that comes too late (``times``; a ``compensation`` whatever its key's
    age) is refused with a 410 :class:`BusinessError` raised to the caller, whose
    transaction then rolls back: nothing decided, nothing recorded. The clock is read
    before anything else, and again after the last read, just before the answer is
    given: the proof in :mod:`checkout.common.key_expiry` needs the reads to happen
    while the key is accepted, however long the transaction waited for its locks.
    """

    def refuse_if_late() -> None:
        rules.refuse_if_too_late(times, compensation=compensation)

    refuse_if_late()
    if not rules.idempotent:
        answer = _decide(connection, decide)
        refuse_if_late()
        return answer
    lock_key(connection, key)
    fingerprint = request_hash(operation, request.model_dump(mode="json"))
    recorded = connection.execute(
        sa.select(table.c.request_hash, table.c.status_code, table.c.body).where(
            table.c.idempotency_key == key
        )
    ).first()
    if recorded is not None:
        refuse_if_late()
        if recorded.request_hash != fingerprint:
            raise key_reused()
        return Answer(recorded.status_code, recorded.body, replayed=True)
    answer = _decide(connection, decide)
    refuse_if_late()
    if answer.is_refusal and not rules.remember_refusals:
        return answer
    connection.execute(
        table.insert().values(
            idempotency_key=key,
            request_hash=fingerprint,
            status_code=answer.status_code,
            body=answer.body,
            created_at=datetime.now(UTC),
            expires_at=rules.expires_at(times),
        )
    )
    return answer


def _decide(connection: Connection, decide: Callable[[Connection], Answer]) -> Answer:
    try:
        with connection.begin_nested():
            return decide(connection)
    except BusinessError as refusal:
        if refusal.code == KEY_REUSED:
            raise  # about another request's key: not this request's answer
        return Answer(refusal.status_code, {"detail": refusal.detail()})

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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection

from checkout.common.database import lock_key
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
) -> Answer:
    """The answer under ``key``: the recorded one, or ``decide``'s, recorded now.

    ``request`` is the validated body. ``decide`` runs in a savepoint: when it raises a
    :class:`BusinessError` its writes are undone and the refusal is the answer.
    """
    if not rules.idempotent:
        return _decide(connection, decide)
    lock_key(connection, key)
    fingerprint = request_hash(operation, request.model_dump(mode="json"))
    recorded = connection.execute(
        sa.select(table.c.request_hash, table.c.status_code, table.c.body).where(
            table.c.idempotency_key == key
        )
    ).first()
    if recorded is not None:
        if recorded.request_hash != fingerprint:
            raise key_reused()
        return Answer(recorded.status_code, recorded.body, replayed=True)
    answer = _decide(connection, decide)
    if answer.is_refusal and not rules.remember_refusals:
        return answer
    connection.execute(
        table.insert().values(
            idempotency_key=key,
            request_hash=fingerprint,
            status_code=answer.status_code,
            body=answer.body,
            created_at=datetime.now(UTC),
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

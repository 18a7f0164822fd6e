"""The protocol every participant follows for its effect on an order, written once.

A participant does one thing to an order (charge it, reserve its stock, ship it) and
can undo it (refund, release, cancel). The orchestrator may send either request late,
twice, or both at once, so around the domain's decision and undo this module keeps
four promises:

* The first answer under an idempotency key is final, refusals included; a key reused
  with another request is refused with 422 (:func:`checkout.common.answers.answer_once`).
* An order gets its effect once: a second forward request under another key is
  refused with 409, unless the test-only ``KeyRules(idempotent=False)`` asks for the
  double effect the chaos checker must catch.
* Undoing an order that has no effect is a no-op that leaves a tombstone, so the
  forward request that may still be on its way is refused when it lands
  (:mod:`checkout.common.tombstones`).
* Forward and undo for one order are serialised by the per-order lock
  (:func:`checkout.common.database.lock_order`), so neither can slip between the
  other's check and write.
* A request too late to act is refused with 410 and changes nothing; a compensation
  is never refused for its key's age, since it is decided on the effects, which are
  kept for good (:mod:`checkout.common.key_expiry`).

The domain supplies only the decision (``apply``) and the undo (``undo``); both run
inside the transaction and savepoint of :func:`~checkout.common.answers.answer_once`,
so a :class:`~checkout.common.refusals.BusinessError` they raise undoes their writes
and becomes the recorded answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection

from checkout.common.answers import SAFE, Answer, KeyRules, answer_once
from checkout.common.database import lock_order
from checkout.common.key_expiry import UNTIMED, KeyTimes
from checkout.common.refusals import BusinessError
from checkout.common.tombstones import record_compensated, refuse_if_compensated

Apply = Callable[[Connection, str], Answer]
"""The domain's decision: given the connection and the key to store with the effect,
apply it and say what was done, or raise a ``BusinessError``."""

Undo = Callable[[Connection], Answer]
"""The domain's undo, called only for an order that has at least one effect: undo one
that is still in force, or say that it was undone already."""


@dataclass(frozen=True, kw_only=True)
class EffectLedger:
    """Where one participant keeps its effects, its answers and its tombstones."""

    effects: sa.Table
    """The effects, one row each, with an ``order_id`` column."""
    answers: sa.Table
    tombstones: sa.Table
    already_applied: Callable[[], BusinessError]
    """The refusal of a second effect for one order under another key."""

    def apply_once(
        self,
        connection: Connection,
        *,
        key: str,
        order_id: str,
        operation: str,
        request: BaseModel,
        apply: Apply,
        rules: KeyRules = SAFE,
        times: KeyTimes = UNTIMED,
    ) -> Answer:
        """The answer to a forward request: the recorded one, or ``apply``'s.

        ``apply`` gets the key to store on the effect's row. With the test-only
        ``rules.idempotent`` off every request applies anew, so it gets a key of its
        own: the effects' unique key index must not stop the double effect.
        """

        def decide(connection: Connection) -> Answer:
            lock_order(connection, order_id)
            refuse_if_compensated(connection, self.tombstones, order_id)
            if not rules.idempotent:
                return apply(connection, f"{key}:{uuid.uuid4()}")
            if self._has_effect(connection, order_id):
                raise self.already_applied()
            return apply(connection, key)

        return answer_once(
            connection,
            self.answers,
            key=key,
            operation=operation,
            request=request,
            decide=decide,
            rules=rules,
            times=times,
        )

    def undo_once(
        self,
        connection: Connection,
        *,
        key: str,
        order_id: str,
        operation: str,
        request: BaseModel,
        undo: Undo,
        nothing_to_undo: Answer,
        rules: KeyRules = SAFE,
        times: KeyTimes = UNTIMED,
    ) -> Answer:
        """The answer to a compensation: the recorded one, or ``undo``'s, or, when the
        order has no effect, ``nothing_to_undo`` and a tombstone.

        A compensation honours its key even when the test-only ``rules.idempotent`` is
        off: that switch doubles forward effects, and the saga's one compensation must
        then undo just one of them, leaving the double effect for the checker to find.
        """

        def decide(connection: Connection) -> Answer:
            lock_order(connection, order_id)
            if self._has_effect(connection, order_id):
                return undo(connection)
            record_compensated(
                connection,
                self.tombstones,
                order_id=order_id,
                idempotency_key=key,
                expires_at=rules.expires_at(times),
            )
            return nothing_to_undo

        return answer_once(
            connection,
            self.answers,
            key=key,
            operation=operation,
            request=request,
            decide=decide,
            rules=replace(rules, idempotent=True),
            times=times,
            compensation=True,
        )

    def _has_effect(self, connection: Connection, order_id: str) -> bool:
        query = sa.select(self.effects.c.order_id).where(self.effects.c.order_id == order_id)
        return connection.execute(query.limit(1)).first() is not None

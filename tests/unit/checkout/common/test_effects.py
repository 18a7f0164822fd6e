"""The participants' protocol around a hand-written domain: one effect per order, each
key answered once, a tombstone for an undo that found nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.pool import StaticPool

from checkout.common.answers import Answer, KeyRules, answers_table
from checkout.common.effects import EffectLedger
from checkout.common.refusals import BusinessError
from checkout.common.tombstones import compensated_orders_table
from sagakit.database import create_sync_engine

metadata = sa.MetaData()
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("idempotency_key", sa.String(200), primary_key=True),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("undone", sa.Boolean, nullable=False),
)
LEDGER = EffectLedger(
    effects=effects,
    answers=answers_table(metadata),
    tombstones=compensated_orders_table(metadata),
    already_applied=lambda: BusinessError(409, "already_applied", "Applied already."),
)
NOTHING = Answer(200, {"status": "nothing_to_undo"})


class Forward(BaseModel):
    order_id: str
    refuse: bool = False


class Backward(BaseModel):
    order_id: str


@dataclass
class Domain:
    """A participant's rules reduced to what the protocol sees, counting its calls."""

    applied: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    refuse: bool = False

    def apply(self, connection: Connection, request: Forward, effect_key: str) -> Answer:
        self.applied.append(effect_key)
        values = {"idempotency_key": effect_key, "order_id": request.order_id, "undone": False}
        connection.execute(effects.insert().values(**values))
        if request.refuse:
            raise BusinessError(409, "refused", "Refused.")
        return Answer(201, {"order_id": request.order_id, "status": "applied"})

    def undo(self, connection: Connection, order_id: str) -> Answer:
        self.undone.append(order_id)
        connection.execute(
            effects.update().where(effects.c.order_id == order_id).values(undone=True)
        )
        return Answer(200, {"order_id": order_id, "status": "undone"})


@pytest.fixture
def database() -> Iterator[sa.Engine]:
    engine = create_sync_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def domain() -> Domain:
    return Domain()


@pytest.fixture
def order_id() -> str:
    return str(uuid.uuid4())


def forward(
    database: sa.Engine,
    domain: Domain,
    request: Forward,
    *,
    key: str = "forward",
    rules: KeyRules | None = None,
) -> Answer:
    with database.begin() as connection:
        return LEDGER.apply_once(
            connection,
            key=key,
            order_id=request.order_id,
            operation="apply",
            request=request,
            apply=lambda connection, effect_key: domain.apply(connection, request, effect_key),
            rules=rules or KeyRules(),
        )


def backward(
    database: sa.Engine,
    domain: Domain,
    order_id: str,
    *,
    key: str = "backward",
    rules: KeyRules | None = None,
) -> Answer:
    with database.begin() as connection:
        return LEDGER.undo_once(
            connection,
            key=key,
            order_id=order_id,
            operation="undo",
            request=Backward(order_id=order_id),
            undo=lambda connection: domain.undo(connection, order_id),
            nothing_to_undo=NOTHING,
            rules=rules or KeyRules(),
        )


def effect_rows(database: sa.Engine) -> list[tuple[str, bool]]:
    with database.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(sa.select(effects.c.order_id, effects.c.undone))
        ]


def test_a_repeated_forward_request_gets_the_first_answer_without_applying_again(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    first = forward(database, domain, Forward(order_id=order_id))

    again = forward(database, domain, Forward(order_id=order_id))

    assert (again.status_code, again.body, again.replayed) == (201, first.body, True)
    assert domain.applied == ["forward"]
    assert effect_rows(database) == [(order_id, False)]


def test_a_refusal_is_the_final_answer_and_leaves_no_effect(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    refused = forward(database, domain, Forward(order_id=order_id, refuse=True))

    again = forward(database, domain, Forward(order_id=order_id, refuse=True))

    assert (refused.status_code, refused.body["detail"]["code"]) == (409, "refused")
    assert (again.body, again.replayed) == (refused.body, True)
    assert domain.applied == ["forward"]
    assert effect_rows(database) == []


def test_a_key_reused_with_another_request_is_refused_and_records_nothing(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    forward(database, domain, Forward(order_id=order_id))

    with pytest.raises(BusinessError) as reused:
        forward(database, domain, Forward(order_id=str(uuid.uuid4())))

    assert (reused.value.status_code, reused.value.code) == (422, "idempotency_key_reused")
    assert domain.applied == ["forward"]


def test_a_second_effect_for_an_order_under_another_key_is_refused(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    forward(database, domain, Forward(order_id=order_id), key="first")

    second = forward(database, domain, Forward(order_id=order_id), key="second")

    assert (second.status_code, second.body["detail"]["code"]) == (409, "already_applied")
    assert domain.applied == ["first"]


def test_undoing_what_was_never_applied_answers_nothing_and_refuses_the_late_forward(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    undone = backward(database, domain, order_id)

    late = forward(database, domain, Forward(order_id=order_id))

    assert undone == NOTHING
    assert (late.status_code, late.body["detail"]["code"]) == (409, "order_compensated")
    assert (domain.applied, domain.undone) == ([], [])


def test_an_undo_under_one_key_runs_once(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    forward(database, domain, Forward(order_id=order_id))

    first = backward(database, domain, order_id)
    again = backward(database, domain, order_id)

    assert (first.body["status"], again.body, again.replayed) == ("undone", first.body, True)
    assert domain.undone == [order_id]
    assert effect_rows(database) == [(order_id, True)]


def test_an_undo_key_reused_for_another_order_is_refused(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    backward(database, domain, order_id)

    with pytest.raises(BusinessError) as reused:
        backward(database, domain, str(uuid.uuid4()))

    assert reused.value.code == "idempotency_key_reused"


def test_without_idempotency_a_repeat_applies_again_but_an_undo_key_still_runs_once(
    database: sa.Engine, domain: Domain, order_id: str
) -> None:
    unsafe = KeyRules(idempotent=False)
    for _ in range(2):
        forward(database, domain, Forward(order_id=order_id), rules=unsafe)
    for _ in range(2):
        backward(database, domain, order_id, rules=unsafe)

    assert len(set(domain.applied)) == 2
    assert all(key.startswith("forward:") for key in domain.applied)
    assert domain.undone == [order_id]

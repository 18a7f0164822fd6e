"""sagakit: durable sagas for any domain.

A saga is a list of steps, each with an action and a compensation (and ``Parallel``
groups of steps that run side by side). The engine runs the actions in order; when one
fails for good it runs the compensations of the steps that were started, in reverse.
Every attempt is written ahead to a store, so a saga whose process dies is finished by
another, with the same idempotency keys.
"""

from typing import TYPE_CHECKING

from sagakit.database import open_database
from sagakit.definition import (
    JSON,
    Action,
    AttemptLimit,
    Await,
    Direction,
    Parallel,
    RetryPolicy,
    Saga,
    Step,
    StepContext,
    delay,
    idempotency_key,
)
from sagakit.engine import SagaEngine
from sagakit.errors import (
    EventRefused,
    InvalidTransition,
    LeaseLost,
    OutcomeUnknown,
    SagaError,
    SagaNotFound,
    StepRejected,
    TransientError,
    UnknownSagaError,
)
from sagakit.handle import SagaHandle
from sagakit.observer import SagaObserver
from sagakit.retention import PrunableStore, Pruned, Pruner, Retention
from sagakit.state import (
    AttemptEnd,
    AttemptRecord,
    AttemptStart,
    AttemptStatus,
    Delivery,
    Failure,
    SagaEvent,
    SagaState,
    SagaStatus,
    Signal,
    SignalKind,
)
from sagakit.store import InMemorySagaStore, SagaStore, SqlSagaStore
from sagakit.store.alongside import Alongside, Rows

__all__ = [
    "JSON",
    "Action",
    "Alongside",
    "AttemptEnd",
    "AttemptLimit",
    "AttemptRecord",
    "AttemptStart",
    "AttemptStatus",
    "Await",
    "Delivery",
    "Direction",
    "EventRefused",
    "Failure",
    "InMemorySagaStore",
    "InvalidTransition",
    "LeaseLost",
    "OutcomeUnknown",
    "Parallel",
    "PrunableStore",
    "Pruned",
    "Pruner",
    "Retention",
    "RetryPolicy",
    "Rows",
    "Saga",
    "SagaEngine",
    "SagaError",
    "SagaEvent",
    "SagaHandle",
    "SagaNotFound",
    "SagaObserver",
    "SagaState",
    "SagaStatus",
    "SagaStore",
    "Signal",
    "SignalKind",
    "SqlSagaStore",
    "Step",
    "StepContext",
    "StepRejected",
    "TransientError",
    "UnknownSagaError",
    "delay",
    "idempotency_key",
    "open_database",
]


if TYPE_CHECKING:
    from sagakit import migrate as migrate


def __getattr__(name: str) -> object:
    # ``sagakit.migrate.upgrade(engine)`` after a plain ``import sagakit``, without
    # importing Alembic into every process that only runs sagas.
    if name == "migrate":
        import sagakit.migrate

        return sagakit.migrate
    raise AttributeError(f"module 'sagakit' has no attribute {name!r}")

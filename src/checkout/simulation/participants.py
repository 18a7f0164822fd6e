"""The payment, inventory and shipping services as simulated participants.

Each is the service's real request models, service functions (its domain rules and
the record of its answers) and tables, on an in-memory SQLite database of its own:
everything a request meets past the HTTP layer, decided in one transaction at the
instant the simulated network delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.pool import StaticPool

from checkout.common.answers import SAFE, Answer, KeyRules
from checkout.common.errors import validation_errors
from checkout.common.key_expiry import KeyTimes
from checkout.common.pruning import delete_expired
from checkout.common.refusals import BusinessError
from checkout.inventory import service as inventory
from checkout.inventory import tables as inventory_tables
from checkout.inventory.schemas import ReleaseRequest, ReserveRequest
from checkout.payment import service as payment
from checkout.payment import tables as payment_tables
from checkout.payment.schemas import ChargeRequest, ConfirmationRequest, RefundRequest
from checkout.shipping import service as shipping
from checkout.shipping import tables as shipping_tables
from checkout.shipping.schemas import CancelRequest, ShipRequest
from sagakit.database import create_sync_engine
from sagakit.simulation import Reply, Request

Handler = Callable[..., Answer]
Routes = Mapping[str, tuple[type[BaseModel], Handler]]


class ServiceModel:
    """One participant service: ``routes`` maps ``"POST /path"`` to its request model
    and service function."""

    def __init__(self, metadata: sa.MetaData, routes: Routes, *, rules: KeyRules) -> None:
        self.database = _empty_database(metadata)
        self._routes, self._rules = routes, rules
        self._expiring = [metadata.tables["answers"], metadata.tables["compensated_orders"]]

    def __call__(self, request: Request) -> Reply:
        route = self._routes.get(request.operation)
        if route is None:
            return Reply(404, {"detail": "Not Found"})
        model, handle = route
        if not request.key:
            return Reply(422, {"detail": "the Idempotency-Key header is required"})
        try:
            body = model.model_validate(request.body)
        except ValidationError as invalid:
            return Reply(422, {"detail": validation_errors(invalid.errors())})
        times = KeyTimes(issued_at=request.key_issued_at, deadline=request.deadline)
        try:
            with self.database.begin() as connection:
                self._forget_expired(connection)
                answer = handle(connection, body, key=request.key, rules=self._rules, times=times)
        except BusinessError as refusal:  # a reused key: refused, nothing recorded
            return Reply(refusal.status_code, {"detail": refusal.detail()})
        return Reply(answer.status_code, answer.body)

    def _forget_expired(self, connection: sa.Connection) -> None:
        """Delete every answer and tombstone that expired: the most eager pruner there
        can be, so a request that could still find what it needs is never spared."""
        now = datetime.fromtimestamp(self._rules.now(), UTC)
        for table in self._expiring:
            delete_expired(connection, table, now=now, limit=1_000_000)

    def read(self, reader: Callable[[sa.Connection], Any]) -> Any:
        with self.database.connect() as connection:
            return reader(connection)


_databases: dict[int, sa.Engine] = {}


def _empty_database(metadata: sa.MetaData) -> sa.Engine:
    """An in-memory database with ``metadata``'s tables and no rows.

    One per set of tables and process, emptied for each run: a new engine would compile
    every statement afresh, which costs more than the run's own work.
    """
    database = _databases.get(id(metadata))
    if database is None:
        database = create_sync_engine("sqlite://", poolclass=StaticPool)
        metadata.create_all(database)
        _databases[id(metadata)] = database
    with database.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    return database


def checkout_participants(rules: KeyRules = SAFE) -> dict[str, ServiceModel]:
    return {
        "payment": ServiceModel(
            payment_tables.metadata,
            {
                "POST /payments": (ChargeRequest, payment.charge),
                "POST /payments/refunds": (RefundRequest, payment.refund),
                "POST /payments/confirmations": (ConfirmationRequest, payment.confirm),
            },
            rules=rules,
        ),
        "inventory": ServiceModel(
            inventory_tables.metadata,
            {
                "POST /reservations": (ReserveRequest, inventory.reserve),
                "POST /reservations/release": (ReleaseRequest, inventory.release),
            },
            rules=rules,
        ),
        "shipping": ServiceModel(
            shipping_tables.metadata,
            {
                "POST /shipments": (ShipRequest, shipping.create_shipment),
                "POST /shipments/cancel": (CancelRequest, shipping.cancel_shipment),
            },
            rules=rules,
        ),
    }

"""Where sagas are kept: the ``SagaStore`` boundary and the stores behind it.

One set of tables and statements (``tables``, ``statements``) serves every database;
the modules named for one (``sqlite``, ``postgres``) hold only how statements reach
it, and the features only it has. Their drivers are imported when a store is made
for that database, never by ``import sagakit``.
"""

from sagakit.store.instrumentation import StoreCounters, StoreInstrumentation
from sagakit.store.memory import InMemorySagaStore
from sagakit.store.protocol import SagaStore
from sagakit.store.sql import SqlSagaStore
from sagakit.store.sqlite_transactions import SqliteTransactions
from sagakit.store.tables import attempts, events, metadata, sagas

__all__ = [
    "InMemorySagaStore",
    "SagaStore",
    "SqlSagaStore",
    "SqliteTransactions",
    "StoreCounters",
    "StoreInstrumentation",
    "attempts",
    "events",
    "metadata",
    "sagas",
]

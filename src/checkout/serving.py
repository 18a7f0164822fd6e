"""One service process: its app built, what startup made set aside, served by uvicorn."""

from __future__ import annotations

import gc

import uvicorn
from uvicorn.importer import import_from_string

KEEP_ALIVE_SECONDS = 75
"""Above httpx's 5 s idle limit, so the server never closes a connection the client
is about to reuse (which would fail the request with a read error)."""

YOUNG_COLLECTION_EVERY = 10_000
"""Allocations of container objects, net of those freed, between two collections of the
youngest generation (Python's default is 700)."""


def serve(factory: str, *, host: str, port: int) -> None:
    """Build the app with ``factory`` (``module:function``) and serve it until stopped."""
    app = import_from_string(factory)()
    settle_heap()
    uvicorn.run(
        app, host=host, port=port, timeout_keep_alive=KEEP_ALIVE_SECONDS, log_level="warning"
    )


def settle_heap() -> None:
    """Tune the cyclic garbage collector for a process that serves requests for long.

    Startup leaves some hundred thousand objects (modules, routes, models) that live
    as long as the process; the collector traversed them all in every full
    collection, during which every saga in flight waited. Frozen, they are never
    traversed again (reference counting still frees them). And a request's objects are
    freed by reference counting as it ends, so collecting the young generation every
    10,000 allocations instead of 700 finds as much garbage with a fourteenth of the
    passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])

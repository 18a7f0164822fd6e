"""The 503 a participant's operation can answer, for its OpenAPI ``responses=``.

The outage middleware (:mod:`checkout.common.outages`) answers it for any request that
meets an unavailable database, whatever the route; every route that reads or writes
the database lists it, with the body and header the middleware sends.
"""

from __future__ import annotations

from checkout.common.responses import BusinessRefusal, Responses

UNAVAILABLE: Responses = {
    503: {
        "model": BusinessRefusal,
        "description": "The database cannot be reached (detail.code "
        "`database_unavailable`): retry after Retry-After seconds, with the same "
        "Idempotency-Key where the request has one",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": {"type": "integer"},
            }
        },
    }
}

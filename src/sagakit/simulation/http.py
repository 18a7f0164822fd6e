"""HTTP over the simulated network, for steps that call participants with httpx.

Give a ``SimulatedTransport`` to ``httpx.AsyncClient(transport=...)`` or to
``TransportParticipantClient(..., transport=...)``: the step's real code builds the request and
reads the answer (``sagakit.http.post_step`` maps it to a refusal or a retryable
error as in production), while the request itself crosses the simulated network.
"""

from __future__ import annotations

import json

import httpx

from sagakit.http import DEADLINE_HEADER, IDEMPOTENCY_HEADER, KEY_ISSUED_HEADER
from sagakit.simulation.network import Network, Request, Unreachable


class SimulatedTransport(httpx.AsyncBaseTransport):
    def __init__(self, network: Network, destination: str) -> None:
        self._network = network
        self._destination = destination

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        message = Request(
            destination=self._destination,
            operation=f"{request.method} {request.url.path}",
            body=json.loads(content) if content else None,
            key=request.headers.get(IDEMPOTENCY_HEADER),
            key_issued_at=_seconds(request.headers.get(KEY_ISSUED_HEADER)),
            deadline=_seconds(request.headers.get(DEADLINE_HEADER)),
        )
        try:
            reply = await self._network.call(message)
        except Unreachable as error:
            raise httpx.ConnectError(str(error), request=request) from error
        return httpx.Response(reply.status, json=reply.body, request=request)


def _seconds(value: str | None) -> float | None:
    return float(value) if value is not None else None

"""HTTP over the simulated network, for steps that call participants with httpx.

Give a ``SimulatedTransport`` to ``httpx.AsyncClient(transport=...)`` or to
``TransportParticipantClient(..., transport=...)``: the step's real code builds the request and
reads the answer (``sagakit.http.post_step`` maps it to a refusal or a retryable
error as in production), while the request itself crosses the simulated network.
"""

from __future__ import annotations

import json

import httpx

from sagakit.http import IDEMPOTENCY_HEADER
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
        )
        try:
            reply = await self._network.call(message)
        except Unreachable as error:
            raise httpx.ConnectError(str(error), request=request) from error
        return httpx.Response(reply.status, json=reply.body, request=request)

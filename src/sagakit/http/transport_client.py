"""A participant caller through an httpx transport instead of sockets.

The simulator's ``SimulatedTransport``, ``httpx.ASGITransport`` (an app in the same
process) and ``httpx.MockTransport`` (respx, in tests) all speak httpx's transport
interface; ``TransportParticipantClient`` lets a step's real code (``post_step`` and
the answer's mapping) run over any of them, as it runs over ``AiohttpParticipantClient``
in production. Closing the transport is left to whoever made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from sagakit.errors import TransientError
from sagakit.http import Answer

_JSON = {"Content-Type": "application/json"}


class TransportParticipantClient:
    """``post`` JSON to paths of one service through ``transport``; ``timeout_seconds``
    bounds the whole exchange."""

    def __init__(
        self, base_url: str, *, transport: httpx.AsyncBaseTransport, timeout_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._timeout = timeout_seconds

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The participant's whole answer to ``POST`` of ``body`` (JSON) to ``path``."""
        request = httpx.Request(
            "POST", self.base_url + path, content=body, headers={**_JSON, **headers}
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._transport.handle_async_request(request)
                content = await response.aread()
        except TimeoutError as error:
            raise TransientError(
                f"POST {self.base_url}{path} did not answer in time ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise TransientError(
                f"POST {self.base_url}{path} failed: {type(error).__name__}: {error}"
            ) from error
        return Answer(response.status_code, response.headers, content)

    async def aclose(self) -> None:
        return None

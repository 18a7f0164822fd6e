"""The participant client saga steps call with: ``aiohttp.ClientSession``, set up for
them.

What it changes from aiohttp's defaults, and why:

- no cookies kept (``DummyCookieJar``): a cookie one participant set in one saga would
  otherwise travel with the calls of every saga after it;
- redirects not followed: a ``POST`` that moved is the participant's mistake to report,
  not a request to repeat elsewhere with the same idempotency key;
- no proxy or ``.netrc`` from the environment: where a call goes is the
  configuration's business;
- a bounded pool of kept-alive connections to the one service, dropped after
  ``keepalive_seconds`` idle (below the services' own keep-alive, so a connection the
  server is closing is not reused);
- ``timeout_seconds`` bounds waiting for a pooled connection and connecting (aiohttp
  counts both as connecting), then each wait for the answer's bytes; three times it
  bounds the whole call, sending included, which aiohttp bounds no other way.

A call that gets no whole answer raises ``TransientError``: the request may have done
its work before the answer was lost, so the engine retries it with the same key.
``TransportParticipantClient`` is the same caller over an httpx transport, for the
simulator and tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp
import yarl

from sagakit.errors import TransientError
from sagakit.http import Answer

_JSON = {"Content-Type": "application/json"}


class AiohttpParticipantClient:
    """``post`` JSON to paths of one service over at most ``max_connections`` kept-alive
    connections. The session is made on the first call, inside the running event loop
    aiohttp wants for it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        max_connections: int,
        keepalive_seconds: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        url = yarl.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"A participant's base URL is http:// or https:// and a host: {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=3 * timeout_seconds,
            connect=timeout_seconds,
            sock_connect=timeout_seconds,
            sock_read=timeout_seconds,
        )
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, yarl.URL] = {}

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The participant's whole answer to ``POST`` of ``body`` (JSON) to ``path``."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = yarl.URL(self.base_url + path)
        try:
            async with self._open().post(
                url, data=body, headers={**_JSON, **headers}, allow_redirects=False
            ) as response:
                content = await response.read()
                return Answer(response.status, response.headers, content)
        except TimeoutError as error:
            raise TransientError(
                f"POST {self.base_url}{path} did not answer in time ({type(error).__name__})"
            ) from error
        except aiohttp.ClientError as error:
            raise TransientError(
                f"POST {self.base_url}{path} failed: {type(error).__name__}: {error}"
            ) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> AiohttpParticipantClient:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    limit_per_host=self._max_connections,
                    keepalive_timeout=self._keepalive,
                    ssl=self._ssl,
                ),
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

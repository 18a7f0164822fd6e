"""A participant client on ``httpx.AsyncClient``, set up for saga steps.

What it changes from httpx's defaults, and why:

- no cookies kept: a cookie one participant set in one saga would otherwise travel with
  the calls of every saga after it;
- redirects not followed: a ``POST`` that moved is the participant's mistake to report,
  not a request to repeat elsewhere with the same idempotency key;
- no retries in the transport and no proxy or ``.netrc`` from the environment: the
  engine decides retries, and where a call goes is the configuration's business;
- one timeout on each phase (waiting for a pooled connection, connecting, writing,
  reading) and a bounded pool of kept-alive connections;
- calls beyond ``max_connections`` wait at a semaphore in front of the pool rather
  than in it: httpcore's pool walks its whole queue of waiting requests, for every
  connection, each time a request arrives or an answer is read, so a long queue there
  costs CPU on every call while a semaphore's waiters cost nothing until woken.

A call that gets no whole answer raises ``TransientError``: the request may have done
its work before the answer was lost, so the engine retries it with the same key.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from sagakit.errors import TransientError
from sagakit.http import Answer

_JSON = {"Content-Type": "application/json"}


class _NeverKeeps(CookieJar):
    """A cookie jar that drops every cookie it is given."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class HttpxParticipantClient:
    """``post`` JSON to paths of one service over at most ``max_connections`` kept-alive
    connections; ``timeout_seconds`` bounds each phase of a call. ``transport`` (an
    ``httpx.MockTransport``, ``httpx.ASGITransport`` or the simulator's) replaces the
    sockets; closing it is left to whoever made it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        max_connections: int,
        keepalive_seconds: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"A participant's base URL is http:// or https:// and a host: {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(max_connections)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            transport=_Borrowed(transport)
            if transport is not None
            else httpx.AsyncHTTPTransport(
                verify=ssl_context if ssl_context is not None else True,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                    keepalive_expiry=keepalive_seconds,
                ),
                retries=0,
            ),
        )
        self._client.cookies.jar = _NeverKeeps()

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The participant's whole answer to ``POST`` of ``body`` (JSON) to ``path``."""
        try:
            await self._take_slot()
            try:
                response = await self._client.post(path, content=body, headers={**_JSON, **headers})
            finally:
                self._slots.release()
        except httpx.TimeoutException as error:
            raise TransientError(
                f"POST {self.base_url}{path} did not answer in time ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise TransientError(
                f"POST {self.base_url}{path} failed: {type(error).__name__}: {error}"
            ) from error
        return Answer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns at once, no timer needed
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError as error:
            raise httpx.PoolTimeout(f"No free connection within {self._timeout} s") from error

    async def __aenter__(self) -> HttpxParticipantClient:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()


class _Borrowed(httpx.AsyncBaseTransport):
    """A transport someone else made and will close."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        return None

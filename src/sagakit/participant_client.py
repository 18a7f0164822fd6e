"""A pooled HTTP/1.1 client for calling one participant service from saga steps.

An orchestrator makes several participant calls for every request it serves, so what
each call costs it is a large part of what a saga costs. ``httpx.AsyncClient`` does
much more per call than a step needs: it merges URLs, runs auth and redirect flows,
keeps a cookie jar (which an orchestrator should not have at all: a cookie one
participant sets in one saga would travel with the calls of every saga after it), and
under it httpcore's pool takes anyio locks and cancel scopes and parses the answer
with h11 in pure Python.

``ParticipantClient`` keeps what a step needs: a pool of kept-alive connections to one
service, a timeout on every phase, one write per request, and the answer parsed by
httptools (llhttp, the C parser uvicorn serves with). Its answers are
``httpx.Response`` objects and its errors httpx's exceptions, so code that knows httpx
reads it as usual, and ``sagakit.http.post_step`` takes either client. Given an httpx
transport instead (``httpx.ASGITransport`` for an app in the same process, or a respx
router's ``httpx.MockTransport`` in tests), it makes its calls through that, and leaves
closing it to whoever made it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import Mapping
from typing import cast

import httptools
import httpx

from sagakit.errors import TransientError
from sagakit.http import Answer

_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")

RawAnswer = tuple[int, list[tuple[bytes, bytes]], bytes]


class ParticipantClient:
    """``post`` JSON to paths of one service, over at most ``max_connections``
    kept-alive connections; ``timeout_seconds`` bounds waiting for a free connection,
    connecting, and the exchange (sending the request and reading the whole answer)."""

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
        self._host = url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if url.scheme == "https" else None
        self._host_field = f"Host: {url.netloc.decode('ascii')}\r\n"
        self._base_path = url.raw_path.decode("ascii").rstrip("/")
        self._timeout = timeout_seconds
        self._keepalive = keepalive_seconds
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[_Connection] = deque()
        self._urls: dict[str, httpx.URL] = {}
        self._transport = transport
        self._closed = False

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The participant's answer to ``POST`` of ``body`` to ``path``, read in full."""
        try:
            response = await self._post(path, body, headers)
        except httpx.TimeoutException as error:
            raise TransientError(
                f"POST {self.base_url}{path} did not answer in time ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise TransientError(
                f"POST {self.base_url}{path} failed: {type(error).__name__}: {error}"
            ) from error
        return Answer(response.status_code, response.headers, response.content)

    async def _post(self, path: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        url = self._url(path)
        if self._transport is not None:
            return await self._post_through(self._transport, url, body, headers or {})
        request = self._request(path, body, headers or {})
        await self._take_slot()
        try:
            connection = await self._connection()
            try:
                status, fields, content = await connection.exchange(request, self._timeout)
            finally:
                self._give_back(connection)
        finally:
            self._slots.release()
        return httpx.Response(
            status, headers=fields, content=content, request=httpx.Request("POST", url)
        )

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    async def __aenter__(self) -> ParticipantClient:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()

    def _request(self, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        head = [
            f"POST {self._base_path}{path} HTTP/1.1\r\n",
            self._host_field,
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n",
        ]
        for name, value in headers.items():
            if not _FIELD_NAME.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
                raise httpx.LocalProtocolError(f"Not a valid header field: {name!r}: {value!r}")
            head.append(f"{name}: {value}\r\n")
        head.append("\r\n")
        return "".join(head).encode("ascii") + body

    async def _post_through(
        self,
        transport: httpx.AsyncBaseTransport,
        url: httpx.URL,
        body: bytes,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        request = httpx.Request(
            "POST", url, content=body, headers={"Content-Type": "application/json", **headers}
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await transport.handle_async_request(request)
                await response.aread()
        except TimeoutError as error:
            raise httpx.ReadTimeout(f"No complete answer within {self._timeout} s") from error
        response.request = request
        return response

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns at once, no timer needed
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError as error:
            raise httpx.PoolTimeout(
                f"No free connection to {self.base_url} within {self._timeout} s"
            ) from error

    async def _connection(self) -> _Connection:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and now - connection.idle_since < self._keepalive:
                return connection
            connection.close()
        return await self._connect()

    async def _connect(self) -> _Connection:
        if self._closed:
            raise RuntimeError("This ParticipantClient is closed.")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _transport, connection = await loop.create_connection(
                    _Connection, self._host, self._port, ssl=self._ssl
                )
        except TimeoutError as error:
            raise httpx.ConnectTimeout(
                f"No connection to {self.base_url} within {self._timeout} s"
            ) from error
        except OSError as error:
            raise httpx.ConnectError(f"Cannot connect to {self.base_url}: {error}") from error
        return connection

    def _give_back(self, connection: _Connection) -> None:
        if connection.reusable and not self._closed:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            connection.close()

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, the answer parsed as it comes."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[RawAnswer] | None = None
        self._fields: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._lost = False
        self._keep_alive = False
        self.idle_since = 0.0

    @property
    def reusable(self) -> bool:
        return self._keep_alive and not self._lost

    async def exchange(self, request: bytes, timeout: float) -> RawAnswer:  # noqa: ASYNC109
        """Send ``request`` and wait for the whole answer; on any failure the
        connection is closed (an answer arriving later must not reach the next
        exchange)."""
        assert self._transport is not None
        self._keep_alive = False
        self._fields, self._body, self._headers_done = [], [], False
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        try:
            async with asyncio.timeout(timeout):
                return await self._answer
        except TimeoutError as error:
            raise httpx.ReadTimeout(f"No complete answer within {timeout} s") from error
        finally:
            self._answer = None
            if not self._keep_alive:
                self.close()

    def close(self) -> None:
        self._lost = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(httpx.RemoteProtocolError(f"Malformed HTTP answer: {error}"))

    def eof_received(self) -> None:
        self._lost = True  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._answer is None or self._answer.done():
            return
        if self._headers_done and not self._framed():
            self.on_message_complete()  # an answer without a length ends where the connection does
            return
        self._fail(
            httpx.RemoteProtocolError("The server closed the connection before answering in full.")
        )

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive() and not self._lost
        if self._answer is not None and not self._answer.done():
            status = self._parser.get_status_code()
            self._answer.set_result((status, self._fields, b"".join(self._body)))

    def _framed(self) -> bool:
        names = {name.lower() for name, _value in self._fields}
        return b"content-length" in names or b"transfer-encoding" in names

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self.close()

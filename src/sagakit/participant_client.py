"""A pooled HTTP client for calling one participant service from saga steps.

An orchestrator makes several participant calls for every request it serves, so what
each call costs it is a large part of what a saga costs. ``httpx.AsyncClient`` does
more per call than a step needs: it merges URLs, runs auth and redirect flows, and
keeps a cookie jar (which an orchestrator should not have at all: a cookie one
participant sets in one saga would travel with the calls of every saga after it).
``ParticipantClient`` keeps what matters (httpcore's connection pool, the one under
httpx, with keep-alive and a timeout on every phase) and answers with an
``httpx.Response`` and httpx's exceptions, so code that knows httpx reads it as usual.

Over plain HTTP its connections are asyncio streams that send each request in one
write: httpcore writes a request's headers and its body separately, and on a busy host
each write wakes the participant. HTTPS connections are httpcore's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

JSON_CONTENT_TYPE = (b"Content-Type", b"application/json")
HELD_BYTES_LIMIT = 64 * 1024
"""A request larger than this is written as it comes: holding it would save nothing."""

_HTTPX_ERROR_FOR: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
}
_HTTPCORE_ERRORS = tuple(_HTTPX_ERROR_FOR)


class ParticipantClient:
    """``post`` JSON to paths of one service; pooled, with ``timeout_seconds`` on
    connecting, writing, reading and waiting for a pooled connection alike."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        max_connections: int,
        keepalive_seconds: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = dict.fromkeys(("connect", "read", "write", "pool"), timeout_seconds)
        self._urls: dict[str, httpx.URL] = {}
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=max_connections,
            keepalive_expiry=keepalive_seconds,
            network_backend=None if self.base_url.startswith("https:") else WholeRequestBackend(),
        )

    async def post(
        self, path: str, *, json: Any, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """The participant's answer to ``POST`` of ``json`` to ``path``, read in full."""
        url = self._url(path)
        content = _json_bytes(json)
        fields = [JSON_CONTENT_TYPE]
        fields += ((name.encode(), value.encode()) for name, value in (headers or {}).items())
        try:
            answer = await self._pool.request(
                "POST",
                str(url),
                headers=fields,
                content=content,
                extensions={"timeout": self._timeout},
            )
        except _HTTPCORE_ERRORS as error:
            raise _HTTPX_ERROR_FOR[type(error)](str(error)) from error
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            content=answer.content,
            request=httpx.Request("POST", url),
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> ParticipantClient:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class WholeRequestStream(httpcore.AsyncNetworkStream):
    """A plain TCP connection on asyncio streams that holds what httpcore writes until
    it reads the answer, and sends it then in one write. (An HTTP/1.1 client writes the
    whole request before it reads; a body larger than the stream's buffer is sent as it
    comes.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._held: list[bytes] = []
        self._held_bytes = 0

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._held.append(buffer)
        self._held_bytes += len(buffer)
        if self._held_bytes > HELD_BYTES_LIMIT:
            await self._send_held(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._held:
            await self._send_held(timeout)
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error

    async def aclose(self) -> None:
        self._held.clear()
        self._writer.close()
        with contextlib.suppress(OSError):  # the other side went first: closed either way
            await self._writer.wait_closed()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of an idle pooled connection: did the server close it?
            return self._reader.at_eof() or _socket_readable(self._writer.get_extra_info("socket"))
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return self._writer.get_extra_info(info)

    async def _send_held(self, timeout: float | None) -> None:  # noqa: ASYNC109
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._held_bytes = 0
        try:
            self._writer.write(data)
            if self._writer.transport.get_write_buffer_size():
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.WriteError(str(error)) from error


def _socket_readable(sock: Any) -> bool:
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class WholeRequestBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend for ``WholeRequestStream`` connections."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return WholeRequestStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

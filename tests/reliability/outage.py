"""A port in front of PostgreSQL that is unreachable until opened: a server outage that
a test can end, without touching the real server others use."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.engine import make_url

from checkout.processes import free_port


class Outage:
    """Until :meth:`end`, connections to :attr:`port` are refused (``"refused"``) or
    accepted and cut at once (``"reset"``); afterwards they reach ``target``'s server."""

    def __init__(self, target: str, *, kind: str = "refused") -> None:
        url = make_url(target)
        self.host, self.target_port = url.host or "127.0.0.1", url.port or 5432
        self.kind = kind
        self.port = free_port()
        self.connections = 0
        self._over = False
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    def url(self, target: str) -> str:
        """``target`` reached through this port."""
        return make_url(target).set(port=self.port).render_as_string(hide_password=False)

    async def __aenter__(self) -> Outage:
        if self.kind == "reset":
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def end(self) -> None:
        self._over = True
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if not self._over:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(
            self.host, self.target_port
        )
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(_pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(ConnectionError):
            sink.close()

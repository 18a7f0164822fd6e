"""``AiohttpParticipantClient`` against a real socket: the settings a saga step relies on
(a timeout on each phase, no cookies kept, no redirects followed, kept-alive
connections, an answer lost after the work read as an unknown outcome), checked with an
HTTP/1.1 server on the loopback that records what arrives, and on which connection."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import pytest
import trustme

from sagakit import TransientError
from sagakit.http import post_step
from sagakit.http.aiohttp_client import AiohttpParticipantClient
from tests.support.step_context import PAY_CONTEXT


@dataclass
class Received:
    connection: int
    path: str
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, list[tuple[str, str]], bytes]


def created(received: Received) -> Reply:
    return (
        201,
        [("Content-Type", "application/json")],
        json.dumps({"got": len(received.body)}).encode(),
    )


@dataclass
class Participant:
    """Answers each request with ``answer(received)``; ``None`` means never answer.
    ``hang_up`` closes the connection instead of answering (after the request arrived,
    so its work is done), and ``trickle`` holds the answer open, sending a byte at a time,
    until it is set."""

    answer: Callable[[Received], Reply | None] = created
    hang_up: bool = False
    trickle: asyncio.Event | None = None
    close_after_answer: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0
    open_connections: int = 0
    most_open_connections: int = 0

    def protocol(self) -> asyncio.Protocol:
        self.connections += 1
        return _Connection(self, self.connections)


class _Connection(asyncio.Protocol):
    def __init__(self, participant: Participant, number: int) -> None:
        self._participant = participant
        self._number = number
        self._h11 = h11.Connection(h11.SERVER)
        self._path = ""
        self._headers: dict[str, str] = {}
        self._body = b""
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        participant = self._participant
        participant.open_connections += 1
        participant.most_open_connections = max(
            participant.most_open_connections, participant.open_connections
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._participant.open_connections -= 1

    def data_received(self, data: bytes) -> None:
        self._h11.receive_data(data)
        while (event := self._h11.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
            if isinstance(event, h11.Request):
                self._path = event.target.decode()
                self._headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                self._body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._answer()
                return

    def _answer(self) -> None:
        received = Received(self._number, self._path, self._headers, self._body)
        participant = self._participant
        participant.requests.append(received)
        participant.arrived.set()
        if participant.hang_up:
            self._transport.close()
            return
        reply = participant.answer(received)
        if reply is None:
            return
        status, headers, body = reply
        if participant.trickle is not None:
            head = h11.Response(
                status_code=status, headers=[*headers, ("Transfer-Encoding", "chunked")]
            )
            task = asyncio.ensure_future(
                self._trickle(self._h11.send(head), body, participant.trickle)
            )
            self._tasks.add(task)
            return
        head = h11.Response(
            status_code=status, headers=[*headers, ("Content-Length", str(len(body)))]
        )
        self._transport.write(self._h11.send(head) + self._h11.send(h11.Data(data=body)))
        self._finish()

    async def _trickle(self, head: bytes, body: bytes, done: asyncio.Event) -> None:
        """Whitespace before the body, a byte every 0.05 s, until ``done``."""
        self._transport.write(head)
        while not done.is_set():
            self._transport.write(self._h11.send(h11.Data(data=b" ")))
            await asyncio.sleep(0.05)
        self._transport.write(self._h11.send(h11.Data(data=body)))
        self._finish()

    def _finish(self) -> None:
        self._transport.write(self._h11.send(h11.EndOfMessage()))
        if self._participant.close_after_answer:
            self._transport.close()
            return
        self._h11.start_next_cycle()
        self._headers, self._body = {}, b""


@pytest.fixture
async def participant() -> AsyncIterator[tuple[Participant, str]]:
    participant = Participant()
    server = await asyncio.get_running_loop().create_server(participant.protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield participant, f"http://127.0.0.1:{port}"
    server.close()


def client(url: str, timeout_seconds: float = 2.0, **options: Any) -> AiohttpParticipantClient:
    options.setdefault("max_connections", 4)
    return AiohttpParticipantClient(url, timeout_seconds=timeout_seconds, **options)


async def post(caller: AiohttpParticipantClient, path: str = "/payments", **body: Any) -> Any:
    return await post_step(caller, path, context=PAY_CONTEXT, json=body)


async def test_posts_json_with_headers_and_answers_with_status_headers_and_body(participant):
    server, url = participant
    async with client(url) as payment:
        answer = await payment.post(
            "/payments", body=b'{"amount":"35.00"}', headers={"X-Key": "k1"}
        )

    assert answer.status == 201
    assert answer.headers["content-type"] == answer.headers["Content-Type"] == "application/json"
    assert json.loads(answer.body) == {"got": len(b'{"amount":"35.00"}')}
    sent = server.requests[0]
    assert sent.path == "/payments"
    assert json.loads(sent.body) == {"amount": "35.00"}
    assert sent.headers["x-key"] == "k1"
    assert sent.headers["content-type"] == "application/json"


async def test_calls_one_after_another_share_one_kept_alive_connection(participant):
    server, url = participant
    async with client(url) as payment:
        for n in range(3):
            await post(payment, n=n)

    assert [r.connection for r in server.requests] == [1, 1, 1]


async def test_a_connection_the_server_closed_while_idle_is_not_reused(participant):
    server, url = participant
    server.close_after_answer = True
    async with client(url) as payment:
        await post(payment)
        await asyncio.sleep(0.2)  # the server's close reaches the idle pooled connection
        assert await post(payment) == {"got": 2}

    assert server.connections == 2


async def test_a_connection_idle_longer_than_the_keepalive_is_not_reused(participant):
    server, url = participant
    async with client(url, keepalive_seconds=0.05) as payment:
        await post(payment)
        await asyncio.sleep(0.2)
        await post(payment)

    assert [r.connection for r in server.requests] == [1, 2]


async def test_concurrent_calls_open_at_most_max_connections(participant):
    server, url = participant
    async with client(url, max_connections=2) as payment:
        answers = await asyncio.gather(*(post(payment, n=n) for n in range(10)))

    assert len(answers) == len(server.requests) == 10
    assert server.most_open_connections <= 2


async def test_cookies_a_participant_sets_are_not_sent_back(participant):
    server, url = participant
    server.answer = lambda _received: (200, [("Set-Cookie", "session=abc; Path=/")], b"{}")
    async with client(url) as payment:
        await post(payment)
        await post(payment)

    assert "cookie" not in server.requests[1].headers


async def test_a_redirect_is_answered_as_it_came_not_followed(participant):
    server, url = participant
    server.answer = lambda _received: (307, [("Location", f"{url}/elsewhere")], b"")
    async with client(url) as payment:
        answer = await payment.post("/payments", body=b"{}", headers={})

    assert answer.status == 307
    assert [r.path for r in server.requests] == ["/payments"]


async def test_a_base_url_with_a_path_prefixes_every_path(participant):
    server, url = participant
    async with client(f"{url}/v1/") as payment:
        await post(payment)

    assert server.requests[0].path == "/v1/payments"


async def test_an_answer_lost_after_the_work_is_a_transient_error(participant):
    server, url = participant
    server.hang_up = True
    async with client(url) as payment:
        with pytest.raises(TransientError, match="ServerDisconnectedError"):
            await post(payment)

    assert len(server.requests) == 1  # it arrived: the outcome is unknown, not a refusal


async def test_no_answer_in_time_is_a_read_timeout_and_a_transient_error(participant):
    server, url = participant
    server.answer = lambda _received: None
    async with client(url, timeout_seconds=0.2) as payment:
        with pytest.raises(TransientError, match=r"did not answer in time \(SocketTimeoutError\)"):
            await post(payment)

    assert len(server.requests) == 1


async def test_waiting_too_long_for_a_free_connection_is_a_pool_timeout(participant):
    server, url = participant
    server.trickle = finish = asyncio.Event()
    server.answer = lambda _received: (200, [], b'{"n": 1}')
    async with client(url, timeout_seconds=1.0, max_connections=1) as payment:
        # The first call holds the one connection, a byte of its answer arriving every
        # 0.05 s (well within its read timeout), until the second has given up waiting.
        first = asyncio.ensure_future(post(payment))
        await server.arrived.wait()
        with pytest.raises(TransientError, match="did not answer in time"):
            await post(payment)
        finish.set()
        assert await first == {"n": 1}

    assert server.connections == 1  # the second call never had a connection of its own


@pytest.fixture
def full_listener() -> Iterator[str]:
    """A port whose accept queue is full, so a new connection is never established: the
    kernel drops its handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    yield "http://{}:{}".format(*listener.getsockname())
    for filler in fillers:
        filler.close()
    listener.close()


async def test_a_connection_not_established_in_time_is_a_connect_timeout(full_listener):
    async with client(full_listener, timeout_seconds=0.2) as payment:
        with pytest.raises(
            TransientError, match=r"did not answer in time \(ConnectionTimeoutError\)"
        ):
            await post(payment)


async def test_a_refused_connection_is_a_transient_error():
    probe = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()

    async with client(f"http://127.0.0.1:{port}") as payment:
        with pytest.raises(TransientError, match="ClientConnectorError"):
            await post(payment)


async def test_a_header_that_could_smuggle_a_second_request_is_never_sent(participant):
    server, url = participant
    async with client(url) as payment:
        with pytest.raises(ValueError, match="header injection"):
            await payment.post(
                "/payments", body=b"{}", headers={"X-Key": "k\r\n\r\nPOST /refunds HTTP/1.1"}
            )

    assert server.requests == []


async def test_https_with_a_trusted_certificate_and_not_without():
    authority = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_side)
    participant = Participant()
    server = await asyncio.get_running_loop().create_server(
        participant.protocol, "127.0.0.1", 0, ssl=server_side
    )
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    try:
        async with client(url, ssl_context=trusting) as payment:
            for n in range(2):
                await post(payment, n=n)
        async with client(url) as doubting:
            with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
                await post(doubting)
    finally:
        server.close()

    assert [r.connection for r in participant.requests] == [1, 1]


def test_a_base_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="http:// or https://"):
        AiohttpParticipantClient("ftp://payment", timeout_seconds=1, max_connections=1)

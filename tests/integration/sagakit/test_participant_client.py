"""``ParticipantClient`` against a real socket: an HTTP/1.1 server on the loopback that
records what arrives, and on which connection."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx
import pytest
import trustme

from sagakit import TransientError
from sagakit.http import post_step
from sagakit.participant_client import ParticipantClient
from tests.support.step_context import PAY_CONTEXT


@dataclass
class Received:
    connection: int
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Received], tuple[int, list[tuple[str, str]], bytes] | None]


def created(received: Received) -> tuple[int, list[tuple[str, str]], bytes]:
    return (
        201,
        [("Content-Type", "application/json")],
        json.dumps({"got": len(received.body)}).encode(),
    )


@dataclass
class Participant:
    """Answers each request with ``answer(received)``; ``None`` means never answer, and
    ``raw`` (when set) is written instead of a well-formed answer."""

    answer: Answer = created
    raw: bytes | None = None
    close_after_answer: bool = False
    requests: list[Received] = field(default_factory=list)
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
        self._participant.requests.append(received)
        if self._participant.raw is not None:
            self._transport.write(self._participant.raw)
            self._transport.close()
            return
        answer = self._participant.answer(received)
        if answer is None:
            return
        status, headers, body = answer
        response = h11.Response(
            status_code=status, headers=[*headers, ("Content-Length", str(len(body)))]
        )
        self._transport.write(
            self._h11.send(response)
            + self._h11.send(h11.Data(data=body))
            + self._h11.send(h11.EndOfMessage())
        )
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


def client(url: str, timeout_seconds: float = 2.0, **options: Any) -> ParticipantClient:
    options.setdefault("max_connections", 4)
    return ParticipantClient(url, timeout_seconds=timeout_seconds, **options)


async def test_posts_json_with_headers_and_answers_with_an_httpx_response(participant):
    server, url = participant
    async with client(url) as payment:
        response = await payment.post(
            "/payments", json={"amount": "35.00"}, headers={"X-Key": "k1"}
        )

    assert response.status_code == 201
    assert response.json() == {"got": len(b'{"amount":"35.00"}')}
    assert str(response.request.url) == f"{url}/payments"
    sent = server.requests[0]
    assert json.loads(sent.body) == {"amount": "35.00"}
    assert sent.headers["x-key"] == "k1"
    assert sent.headers["content-type"] == "application/json"


async def test_requests_one_after_another_share_one_kept_alive_connection(participant):
    server, url = participant
    async with client(url) as payment:
        for n in range(3):
            await payment.post("/payments", json={"n": n})

    assert [r.connection for r in server.requests] == [1, 1, 1]


async def test_a_large_body_is_sent_whole(participant):
    _server, url = participant
    body = {"blob": "y" * 300_000}
    async with client(url) as payment:
        response = await payment.post("/blobs", json=body)

    assert response.json() == {"got": len(json.dumps(body, separators=(",", ":")))}


async def test_a_connection_the_server_closed_while_idle_is_not_reused(participant):
    server, url = participant
    server.close_after_answer = True
    async with client(url) as payment:
        await payment.post("/payments", json={})
        await asyncio.sleep(0.05)  # the server's close reaches the idle pooled connection
        second = await payment.post("/payments", json={})

    assert second.status_code == 201
    assert server.connections == 2


async def test_cookies_a_participant_sets_are_not_sent_back(participant):
    server, url = participant
    server.answer = lambda _received: (200, [("Set-Cookie", "session=abc")], b"{}")
    async with client(url) as payment:
        await payment.post("/payments", json={})
        await payment.post("/payments", json={})

    assert "cookie" not in server.requests[1].headers


async def test_no_answer_in_time_is_a_read_timeout_and_a_transient_step_error(participant):
    server, url = participant
    server.answer = lambda _received: None
    async with client(url, timeout_seconds=0.2) as payment:
        with pytest.raises(httpx.ReadTimeout):
            await payment.post("/payments", json={})
        with pytest.raises(TransientError, match="did not answer in time"):
            await post_step(payment, "/payments", context=PAY_CONTEXT, json={})


async def test_a_refused_connection_is_httpxs_connect_error():
    probe = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()

    async with client(f"http://127.0.0.1:{port}") as payment:
        with pytest.raises(httpx.ConnectError):
            await payment.post("/payments", json={})


async def test_a_base_url_with_a_path_prefixes_every_path(participant):
    server, url = participant
    async with client(f"{url}/v1/") as payment:
        response = await payment.post("/payments", json={})

    assert str(response.request.url) == f"{url}/v1/payments"
    assert server.requests[0].path == "/v1/payments"


async def test_a_connection_idle_longer_than_the_keepalive_is_not_reused(participant):
    server, url = participant
    async with client(url, keepalive_seconds=0.05) as payment:
        await payment.post("/payments", json={})
        await asyncio.sleep(0.1)
        await payment.post("/payments", json={})

    assert [r.connection for r in server.requests] == [1, 2]


async def test_concurrent_calls_open_at_most_max_connections(participant):
    server, url = participant
    async with client(url, max_connections=2) as payment:
        answers = await asyncio.gather(*(payment.post("/payments", json={}) for _ in range(10)))

    assert [a.status_code for a in answers] == [201] * 10
    assert server.most_open_connections <= 2
    assert len(server.requests) == 10


async def test_waiting_too_long_for_a_free_connection_is_a_pool_timeout(participant):
    server, url = participant
    server.answer = lambda _received: None
    async with client(url, timeout_seconds=0.2, max_connections=1) as payment:
        # The first holds the one connection until 0.2 s; the second takes it then and
        # holds it until 0.4 s; the third, waiting since 0.1 s, gives up at 0.3 s.
        first = asyncio.ensure_future(payment.post("/payments", json={}))
        await asyncio.sleep(0.1)
        outcomes = await asyncio.gather(
            first, *(payment.post("/payments", json={}) for _ in range(2)), return_exceptions=True
        )

    assert [type(outcome) for outcome in outcomes] == [
        httpx.ReadTimeout,
        httpx.ReadTimeout,
        httpx.PoolTimeout,
    ]


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n',
            {"a": 1},
        ),
        (b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a": 2}', {"a": 2}),
    ],
    ids=["chunked", "until-close"],
)
async def test_answers_without_a_content_length_are_read_whole(participant, raw, body):
    server, url = participant
    server.raw = raw
    async with client(url) as payment:
        response = await payment.post("/payments", json={})

    assert response.json() == body


@pytest.mark.parametrize(
    "raw",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", b"SMTP ready\r\n\r\n"],
    ids=["nothing", "cut-short", "not-http"],
)
async def test_a_missing_or_broken_answer_is_a_remote_protocol_error(participant, raw):
    server, url = participant
    server.raw = raw
    async with client(url) as payment:
        with pytest.raises(httpx.RemoteProtocolError):
            await payment.post("/payments", json={})
        with pytest.raises(TransientError, match="RemoteProtocolError"):
            await post_step(payment, "/payments", context=PAY_CONTEXT, json={})


async def test_a_header_that_could_smuggle_a_second_request_is_refused(participant):
    server, url = participant
    async with client(url) as payment:
        with pytest.raises(httpx.LocalProtocolError):
            await payment.post(
                "/payments", json={}, headers={"X-Key": "k\r\n\r\nPOST /refunds HTTP/1.1"}
            )

    assert server.requests == []


async def test_a_cancelled_call_does_not_leave_its_answer_to_the_next(participant):
    server, url = participant
    delayed: list[Received] = []
    server.answer = lambda received: (delayed.append(received), None)[1]
    async with client(url, max_connections=1) as payment:
        call = asyncio.ensure_future(payment.post("/payments", json={"n": 1}))
        await asyncio.sleep(0.05)
        call.cancel()
        server.answer = created
        second = await payment.post("/payments", json={"n": 22})

    assert second.json() == {"got": len(b'{"n":22}')}
    assert [r.connection for r in server.requests] == [1, 2]


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
            answers = [await payment.post("/payments", json={"n": n}) for n in range(2)]
        async with client(url) as doubting:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await doubting.post("/payments", json={})
    finally:
        server.close()

    assert [a.status_code for a in answers] == [201, 201]
    assert [r.connection for r in participant.requests] == [1, 1]

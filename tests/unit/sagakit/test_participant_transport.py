"""``TransportParticipantClient``: a step's calls through an httpx transport (the
simulator's, an in-process app's, respx's), with the same answers and errors as over
sockets."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from sagakit import TransientError
from sagakit.http import post_step
from sagakit.http.transport_client import TransportParticipantClient
from tests.support.step_context import PAY_CONTEXT


def through(handler, timeout_seconds: float = 1.0) -> TransportParticipantClient:
    return TransportParticipantClient(
        "http://payment/v1/",
        transport=httpx.MockTransport(handler),
        timeout_seconds=timeout_seconds,
    )


async def test_posts_the_json_body_with_its_headers_and_reads_the_answer():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "p1"}, headers={"Retry-After": "3"})

    answer = await through(handler).post("/payments", body=b'{"a":1}', headers={"X-Key": "k"})

    assert (answer.status, answer.headers["retry-after"], answer.body) == (201, "3", b'{"id":"p1"}')
    assert str(seen[0].url) == "http://payment/v1/payments"
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].headers["x-key"] == "k"
    assert json.loads(seen[0].content) == {"a": 1}


async def test_a_lost_connection_is_a_transient_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection dropped before the answer", request=request)

    with pytest.raises(TransientError, match="ReadError"):
        await post_step(through(handler), "/payments", context=PAY_CONTEXT, json={})


async def test_no_answer_in_time_is_a_transient_error():
    async def handler(_request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    with pytest.raises(TransientError, match="did not answer in time"):
        await post_step(
            through(handler, timeout_seconds=0.05), "/payments", context=PAY_CONTEXT, json={}
        )

"""How a participant's HTTP answer becomes a step result or an engine error."""

from __future__ import annotations

import httpx
import pytest

from sagakit import StepRejected, TransientError
from sagakit.http import post_step
from tests.support.step_context import PAY_CONTEXT


async def answer(handler) -> object:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await post_step(client, "http://participant/pay", context=PAY_CONTEXT, json={})


async def test_a_success_returns_the_body_and_sends_the_idempotency_key():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["key"] = request.headers["Idempotency-Key"]
        return httpx.Response(201, json={"id": "p1"})

    assert await answer(handler) == {"id": "p1"}
    assert seen["key"] == "s1:pay:forward"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_server_errors_and_throttling_are_transient(status):
    with pytest.raises(TransientError):
        await answer(lambda _request: httpx.Response(status))


async def test_a_wrong_token_is_transient_and_says_so():
    with pytest.raises(TransientError, match="service token"):
        await answer(lambda _request: httpx.Response(401))


async def test_a_refusal_carries_the_participants_code():
    body = {"detail": {"code": "insufficient_stock", "message": "only 3 left"}}
    with pytest.raises(StepRejected) as refused:
        await answer(lambda _request: httpx.Response(409, json=body))
    assert refused.value.code == "insufficient_stock"
    assert "only 3 left" in str(refused.value)


async def test_a_refusal_without_json_is_still_a_refusal():
    with pytest.raises(StepRejected) as refused:
        await answer(lambda _request: httpx.Response(400, text="bad"))
    assert refused.value.code == "http_400"


async def test_no_answer_is_transient():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="did not answer in time"):
        await answer(handler)

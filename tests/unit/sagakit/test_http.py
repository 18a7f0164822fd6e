"""How a participant's answer (status, headers, body) becomes a step result or an
engine error, whichever client fetched it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from sagakit import OutcomeUnknown, StepRejected, TransientError
from sagakit.http import Answer, interpret, post_step
from tests.support.step_context import PAY_CONTEXT

WHERE = "POST http://participant/pay"


def answer(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> Answer:
    content = b"" if body is None else json.dumps(body).encode()
    return Answer(status, headers or {}, content)


@dataclass
class FakeParticipant:
    """Answers every call with ``reply`` and keeps what it was sent."""

    reply: Answer
    base_url: str = "http://participant"
    sent: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        self.sent.append((path, body, dict(headers)))
        return self.reply

    async def aclose(self) -> None:
        return None


async def test_post_step_sends_compact_json_with_the_idempotency_key_and_headers():
    participant = FakeParticipant(answer(201, {"id": "p1"}))

    result = await post_step(
        participant, "/pay", context=PAY_CONTEXT, json={"amount": "35.00"}, headers={"X": "1"}
    )

    assert result == {"id": "p1"}
    assert participant.sent == [
        ("/pay", b'{"amount":"35.00"}', {"X": "1", "Idempotency-Key": "s1:pay:forward"})
    ]


async def test_post_step_names_the_service_and_path_in_its_errors():
    participant = FakeParticipant(answer(503))

    with pytest.raises(TransientError, match="POST http://participant/pay answered 503"):
        await post_step(participant, "/pay", context=PAY_CONTEXT, json={})


def test_a_success_returns_the_json_body():
    assert interpret(answer(200, {"status": "captured"}), where=WHERE) == {"status": "captured"}


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
def test_server_errors_and_throttling_are_transient(status):
    with pytest.raises(TransientError):
        interpret(answer(status), where=WHERE)


@pytest.mark.parametrize("name", ["Retry-After", "retry-after"])
def test_a_retry_after_in_seconds_is_the_wait_asked(name):
    with pytest.raises(TransientError) as error:
        interpret(answer(429, headers={name: "7"}), where=WHERE)
    assert error.value.retry_after == timedelta(seconds=7)


@pytest.mark.parametrize("status", [401, 403])
def test_a_wrong_token_is_transient_and_says_so(status):
    with pytest.raises(TransientError, match="service token"):
        interpret(answer(status), where=WHERE)


def test_a_refusal_carries_the_participants_code():
    body = {"detail": {"code": "insufficient_stock", "message": "only 3 left"}}
    with pytest.raises(StepRejected) as refused:
        interpret(answer(409, body), where=WHERE)
    assert refused.value.code == "insufficient_stock"
    assert "only 3 left" in str(refused.value)


def test_a_refusal_without_json_is_still_a_refusal():
    with pytest.raises(StepRejected, match="bad") as refused:
        interpret(Answer(400, {}, b"bad"), where=WHERE)
    assert refused.value.code == "http_400"


async def test_post_step_sends_when_the_key_was_issued_and_when_the_attempt_times_out():
    participant = FakeParticipant(answer(201, {"id": "p1"}))
    context = replace(PAY_CONTEXT, key_issued_at=1_700_000_000.0, deadline=1_700_000_010.25)

    await post_step(participant, "/pay", context=context, json={})

    [(_, _, headers)] = participant.sent
    assert headers["Idempotency-Key-Issued-At"] == "1700000000.000"
    assert headers["Request-Deadline"] == "1700000010.250"


def test_a_410_is_too_late_to_act_so_the_outcome_is_unknown_not_a_refusal():
    too_late = answer(410, {"detail": {"code": "key_expired", "message": "key too old"}})

    with pytest.raises(OutcomeUnknown, match="key too old") as raised:
        interpret(too_late, where=WHERE)

    assert raised.value.code == "key_expired"
    assert not isinstance(raised.value, StepRejected | TransientError)

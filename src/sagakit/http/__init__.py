"""Calling a participant over HTTP from a step, with the error rules the engine expects.

The idempotency key travels in the ``Idempotency-Key`` header, with two times (Unix
seconds on the engine's clock) that let a participant forget keys safely:
``Idempotency-Key-Issued-At``, when the saga started (no request under its keys is
older), and ``Request-Deadline``, when this attempt times out. A participant that keeps
keys for a while refuses, without acting, a request past its deadline or whose key is
older than it keeps keys, with 410. An answer maps to the engine's error hierarchy
like this:

- 2xx: the step's result is the JSON body.
- 408, 425, 429 and every 5xx: ``TransientError`` (retry with the same key).
- 410: ``OutcomeUnknown``: too late to act, and an earlier request under the key may
  have acted, so the step is compensated, never judged afresh.
- 401 and 403: ``TransientError`` too, with a message naming the token: a wrong token
  is an operator's mistake, not the customer's, so it must not read as a refusal; the
  retries run out and the saga ends visibly instead.
- any other 4xx: ``StepRejected``, with the ``code`` from ``{"detail": {"code": ...}}``.
- no answer (connection refused, reset, timeout): ``TransientError``, raised by the
  client itself: the request may have done its work before the answer was lost.

A ``Retry-After`` on a 429 or 5xx (in seconds) is honoured: the engine waits at least
that long (up to the policy's longest interval) before retrying.

The mapping reads an ``Answer`` (status, headers, body), not a client's response, so
it holds whichever HTTP library a ``ParticipantCaller`` is built on: sagakit ships
``sagakit.http.aiohttp_client.AiohttpParticipantClient`` for real sockets and
``sagakit.http.transport_client.TransportParticipantClient`` for an httpx transport (the
simulator's, ``httpx.ASGITransport``, respx's ``httpx.MockTransport``).

Steps that call with httpx themselves (``response.raise_for_status()``) get the same
rules from ``HTTP_RETRY``: transport errors and those answers retried, any other 4xx a
refusal.
"""

from __future__ import annotations

import json as json_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx

from sagakit.definition import JSON, RetryPolicy, StepContext
from sagakit.errors import OutcomeUnknown, StepRejected, TransientError

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_ISSUED_HEADER = "Idempotency-Key-Issued-At"
DEADLINE_HEADER = "Request-Deadline"
TOO_LATE = 410
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Answer:
    """A participant's whole answer. ``headers`` looks names up as given by the client:
    a case-insensitive mapping (httpx's, aiohttp's), or one with lower-case names."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class ParticipantCaller(Protocol):
    """What a step needs from an HTTP client: ``POST`` a JSON body to a path of one
    service. A call that gets no whole answer raises ``TransientError`` (its outcome is
    unknown); a call that gets one returns it, whatever its status."""

    @property
    def base_url(self) -> str: ...

    async def post(self, path: str, *, body: bytes, headers: Mapping[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...


async def post_step(
    client: ParticipantCaller,
    path: str,
    *,
    context: StepContext[Any, Any],
    json: JSON,
    headers: Mapping[str, str] | None = None,
) -> JSON:
    """POST ``json`` to ``path`` of ``client``'s service for the step in ``context``;
    the answer's JSON or an error."""
    answer = await client.post(path, body=json_bytes(json), headers=call_headers(context, headers))
    return interpret(answer, where=f"POST {client.base_url}{path}")


def call_headers(
    context: StepContext[Any, Any], headers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``headers`` and the call's own: its idempotency key, and the times a participant
    needs to forget keys safely when the engine knows them."""
    own = {IDEMPOTENCY_HEADER: context.idempotency_key}
    if context.key_issued_at is not None:
        own[KEY_ISSUED_HEADER] = unix_seconds(context.key_issued_at)
    if context.deadline is not None:
        own[DEADLINE_HEADER] = unix_seconds(context.deadline)
    return {**(headers or {}), **own}


def unix_seconds(moment: float) -> str:
    """A time as the headers carry it: Unix seconds with millisecond precision."""
    return f"{moment:.3f}"


def json_bytes(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON; NaN and infinities refused (JSON has none)."""
    return json_module.dumps(
        body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def interpret(answer: Answer, *, where: str) -> JSON:
    """The JSON body of a successful answer, else the error the engine should see;
    ``where`` (method and URL) starts the error's message."""
    status = answer.status
    if 200 <= status < 300:
        result: JSON = json_module.loads(answer.body)
        return result
    if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
        raise TransientError(f"{where} answered {status}", retry_after=_retry_after(answer.headers))
    if status == TOO_LATE:
        code, message = _refusal(answer)
        raise OutcomeUnknown(f"{where} answered {status}: {message}", code=code)
    if status in (401, 403):
        raise TransientError(
            f"{where} answered {status}: check the service token the orchestrator sends"
        )
    code, message = _refusal(answer)
    raise StepRejected(f"{where} answered {status}: {message}", code=code)


def _refusal(answer: Answer) -> tuple[str, str]:
    try:
        body: Any = json_module.loads(answer.body)
    except ValueError:
        return f"http_{answer.status}", answer.body[:200].decode(errors="replace")
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return str(detail.get("code", f"http_{answer.status}")), str(detail.get("message", detail))
    return f"http_{answer.status}", str(detail if detail is not None else body)[:500]


def transient(error: BaseException) -> bool:
    """Whether an httpx call's error may pass: no answer (a timeout, a refused or reset
    connection), or an answer 408, 425, 429 or 5xx (``raise_for_status()``'s error)."""
    if isinstance(error, TransientError | httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        return status >= 500 or status in RETRYABLE_CLIENT_ERRORS or status in (401, 403)
    return False


def refused(error: BaseException) -> bool:
    """Whether an httpx call's error is the participant refusing: any other 4xx but
    410 (too late to act: the outcome is unknown, so the step is compensated)."""
    return (
        isinstance(error, httpx.HTTPStatusError)
        and error.response.status_code != TOO_LATE
        and not transient(error)
    )


def wait_asked(error: BaseException) -> timedelta | None:
    """The wait an error asks for: a ``TransientError``'s, or the ``Retry-After`` (in
    seconds) of the answer ``raise_for_status()`` raised for."""
    if isinstance(error, TransientError):
        return error.retry_after
    if isinstance(error, httpx.HTTPStatusError):
        return _retry_after(error.response.headers)
    return None


HTTP_RETRY = RetryPolicy(retry_on=transient, refuse_on=refused, wait_asked=wait_asked)
"""The usual rule for a step that calls with httpx: transport errors, 408, 425, 429 and
5xx retried (honouring ``Retry-After``); any other 4xx but 410 refuses; anything else
(a 410, a bug in the action) ends the step with an unknown outcome.
``dataclasses.replace`` it to change the intervals or attempts."""


def _retry_after(headers: Mapping[str, str]) -> timedelta | None:
    value = headers.get("Retry-After") or headers.get("retry-after") or ""
    return timedelta(seconds=int(value)) if value.isdigit() else None

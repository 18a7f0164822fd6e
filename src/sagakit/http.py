"""Calling a participant over HTTP from a step, with the error rules the engine expects.

The idempotency key travels in the ``Idempotency-Key`` header. An answer maps to the
engine's error hierarchy like this:

- 2xx: the step's result is the JSON body.
- 408, 425, 429 and every 5xx: ``TransientError`` (retry with the same key).
- 401 and 403: ``TransientError`` too, with a message naming the token: a wrong token
  is an operator's mistake, not the customer's, so it must not read as a refusal; the
  retries run out and the saga ends visibly instead.
- any other 4xx: ``StepRejected``, with the ``code`` from ``{"detail": {"code": ...}}``.
- no answer (connection refused, reset, timeout): ``TransientError``.

A ``Retry-After`` on a 429 or 5xx (in seconds) is honoured: the engine waits at least
that long (up to the policy's longest interval) before retrying.

Steps that call with httpx themselves (``response.raise_for_status()``) get the same
rules from ``HTTP_RETRY``: transport errors and those answers retried, any other 4xx a
refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from sagakit.definition import JSON, RetryPolicy, StepContext
from sagakit.errors import StepRejected, TransientError
from sagakit.participant_client import ParticipantClient

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


async def post_step(
    client: ParticipantClient | httpx.AsyncClient,
    url: str,
    *,
    context: StepContext[Any, Any],
    json: JSON,
    headers: Mapping[str, str] | None = None,
) -> JSON:
    """POST ``json`` to ``url`` for the step in ``context``; the answer's JSON or an error.

    ``client`` is best a ``ParticipantClient`` (lean, pooled, no cookies); an
    ``httpx.AsyncClient`` works the same."""
    try:
        response = await client.post(
            url, json=json, headers={**(headers or {}), IDEMPOTENCY_HEADER: context.idempotency_key}
        )
    except httpx.TimeoutException as error:
        raise TransientError(
            f"POST {url} did not answer in time ({type(error).__name__})"
        ) from error
    except httpx.TransportError as error:
        raise TransientError(f"POST {url} failed: {type(error).__name__}: {error}") from error
    return interpret(response)


def interpret(response: httpx.Response) -> JSON:
    """The JSON body of a successful answer, else the error the engine should see."""
    status = response.status_code
    if response.is_success:
        return response.json()
    where = f"{response.request.method} {response.request.url}"
    if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
        raise TransientError(f"{where} answered {status}", retry_after=_retry_after(response))
    if status in (401, 403):
        raise TransientError(
            f"{where} answered {status}: check the service token the orchestrator sends"
        )
    code, message = _refusal(response)
    raise StepRejected(f"{where} answered {status}: {message}", code=code)


def _refusal(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return f"http_{response.status_code}", response.text[:200]
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return str(detail.get("code", f"http_{response.status_code}")), str(
            detail.get("message", detail)
        )
    return f"http_{response.status_code}", str(detail if detail is not None else body)[:500]


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
    """Whether an httpx call's error is the participant refusing: any other 4xx."""
    return isinstance(error, httpx.HTTPStatusError) and not transient(error)


def wait_asked(error: BaseException) -> timedelta | None:
    """The wait an error asks for: a ``TransientError``'s, or the ``Retry-After`` (in
    seconds) of the answer ``raise_for_status()`` raised for."""
    if isinstance(error, TransientError):
        return error.retry_after
    if isinstance(error, httpx.HTTPStatusError):
        return _retry_after(error.response)
    return None


HTTP_RETRY = RetryPolicy(retry_on=transient, refuse_on=refused, wait_asked=wait_asked)
"""The usual rule for a step that calls with httpx: transport errors, 408, 425, 429 and
5xx retried (honouring ``Retry-After``); any other 4xx refuses; anything else (a bug in
the action) ends the step with an unknown outcome. ``dataclasses.replace`` it to change
the intervals or attempts."""


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "")
    return timedelta(seconds=int(value)) if value.isdigit() else None

"""The error answers each route documents in its OpenAPI ``responses=``, so the schema
says what a caller can really get back (and schemathesis can hold the apps to it)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from checkout.common.answers import Answer


class Message(BaseModel):
    """``{"detail": "..."}``: a missing token (401), a body too large (413) or unparsable (400)."""

    detail: str


class BusinessDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class BusinessRefusal(BaseModel):
    """``{"detail": {"code": ..., "message": ...}}``: a refusal the caller must not retry."""

    detail: BusinessDetail


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    loc: list[str | int]
    msg: str


class Unprocessable(BaseModel):
    """A 422: the request's fields (``detail`` lists them, ``loc`` naming each one), or a
    business refusal such as a reused Idempotency-Key."""

    detail: list[FieldError] | BusinessDetail


Responses = dict[int | str, dict[str, Any]]


def _message(description: str) -> dict[str, Any]:
    return {"model": Message, "description": description}


UNAUTHORIZED: Responses = {401: _message("Missing or invalid bearer token")}
BODY: Responses = {
    400: _message("The body could not be parsed"),
    413: _message("The body is larger than the limit"),
    422: {"model": Unprocessable, "description": "Invalid fields, or a refused request"},
}
QUERY: Responses = {422: {"model": Unprocessable, "description": "Invalid parameters"}}
TOO_LATE: Responses = {
    410: {
        "model": BusinessRefusal,
        "description": "Too late to act, so nothing was done or recorded: the "
        "Request-Deadline passed (`request_expired`), or a forward request's key is older "
        "than keys are accepted (`key_expired`); see checkout.common.key_expiry",
    }
}
"""What a request under an Idempotency-Key can answer when it comes too late."""


def refusals(*statuses: int) -> Responses:
    """Business refusals (402, 404, 409, ...) in the ``{"detail": {"code": ...}}`` shape."""
    return {
        status: {"model": BusinessRefusal, "description": "Refused; see detail.code"}
        for status in statuses
    }


def answered(answer: Answer) -> JSONResponse:
    """The participant's answer; a replay of a recorded one says so in a header."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)

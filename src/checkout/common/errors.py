"""Business refusals as JSON: ``{"detail": {"code": ..., "message": ...}}``.

Domain functions raise :class:`BusinessError`; the app turns it into a response, so
domain code never imports FastAPI and the transaction that raised it rolls back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class BusinessError(Exception):
    """A refusal the caller should not retry: the saga compensates instead."""

    def __init__(self, status_code: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.extra = extra

    def detail(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def error_response(status_code: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": code, "message": message, **extra}}, status_code=status_code
    )


def key_reused() -> BusinessError:
    return BusinessError(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request; "
        "use a new key for a new request.",
    )


async def _business_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BusinessError)
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BusinessError, _business_error_handler)

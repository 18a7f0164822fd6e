"""Refusals and invalid requests as JSON: ``{"detail": {"code": ..., "message": ...}}``.

Domain functions raise :class:`checkout.common.refusals.BusinessError`, which knows
nothing of FastAPI; the handlers here turn it into a response, and the transaction that
raised it rolls back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from checkout.common.refusals import BusinessError


def error_response(status_code: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": code, "message": message, **extra}}, status_code=status_code
    )


async def _business_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BusinessError)
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)


def safe_text(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so it encodes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _safe_value(value: Any) -> Any:
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return safe_text(str(value))


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's 422 detail (``type``, ``loc``, ``msg``, ``ctx``) without ``input``.

    Echoing the input would repeat whatever a hostile caller sent (megabytes of it, or
    values JSON cannot carry: NaN, Infinity, lone surrogates, which made the default
    handler fail with a 500); every string that stays is made encodable.
    """
    cleaned = []
    for error in errors:
        entry: dict[str, Any] = {
            "type": str(error.get("type", "")),
            "loc": [_safe_value(part) for part in error.get("loc", ())],
            "msg": safe_text(str(error.get("msg", ""))),
        }
        context = error.get("ctx")
        if isinstance(context, dict):
            entry["ctx"] = {safe_text(str(k)): _safe_value(v) for k, v in context.items()}
        cleaned.append(entry)
    return cleaned


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_errors(exc.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BusinessError, _business_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)

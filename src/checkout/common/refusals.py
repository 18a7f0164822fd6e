"""A participant's business refusals, free of any web framework.

Domain functions raise :class:`BusinessError` ("card declined", "out of stock"); the
routes answer it as ``{"detail": {"code": ..., "message": ...}}`` with its status code
(:mod:`checkout.common.errors`), and the recorded answers keep it
(:mod:`checkout.common.answers`).
"""

from __future__ import annotations

from typing import Any


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


KEY_REUSED = "idempotency_key_reused"


def key_reused() -> BusinessError:
    return BusinessError(
        422,
        KEY_REUSED,
        "This Idempotency-Key was already used for a different request; "
        "use a new key for a new request.",
    )

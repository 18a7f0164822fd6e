"""A participant's business refusals, free of any web framework.

Domain functions raise :class:`BusinessError` ("card declined", "out of stock"); the
routes answer it as ``{"detail": {"code": ..., "message": ...}}`` with its status code
(:mod:`checkout.common.errors`), and the recorded answers keep it
(:mod:`checkout.common.answers`).
"""

from __future__ import annotations

from datetime import timedelta
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


TOO_LATE = 410
"""A request that came too late to be acted on (:mod:`checkout.common.key_expiry`); the
orchestrator reads it as an unknown outcome (``sagakit.http.TOO_LATE``)."""
REQUEST_EXPIRED = "request_expired"
KEY_EXPIRED = "key_expired"


def request_expired(*, deadline: float, skew: timedelta) -> BusinessError:
    return BusinessError(
        TOO_LATE,
        REQUEST_EXPIRED,
        f"This request's Request-Deadline ({deadline:.3f}) passed more than "
        f"{skew.total_seconds():g} s (CLOCK_SKEW_SECONDS) ago: its caller no longer waits "
        "for it, so nothing was done and nothing recorded. Send it again with a new "
        "deadline if it is a compensation; a forward request's outcome is unknown: "
        "compensate it.",
    )


def key_expired(*, issued_at: float, age: float, window: timedelta) -> BusinessError:
    return BusinessError(
        TOO_LATE,
        KEY_EXPIRED,
        f"This Idempotency-Key was issued {age:.0f} s ago (Idempotency-Key-Issued-At "
        f"{issued_at:.3f}), longer than keys are accepted ({window.total_seconds():g} s: "
        "KEY_RETENTION_SECONDS - 2 x CLOCK_SKEW_SECONDS), so nothing was done and nothing "
        "recorded. An earlier request under this key may have acted: compensate it "
        "rather than send it again.",
    )

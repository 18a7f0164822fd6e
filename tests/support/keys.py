"""The headers of a call a saga step makes: its idempotency key and the key's times."""

from __future__ import annotations

import time

from sagakit.http import DEADLINE_HEADER, IDEMPOTENCY_HEADER, KEY_ISSUED_HEADER, unix_seconds

DUE_IN = 60.0
"""Seconds to a call's deadline when a test names none: no test waits that long."""


def keyed(
    key: str, *, issued_at: float | None = None, deadline: float | None = None
) -> dict[str, str]:
    """``Idempotency-Key: key``, issued at ``issued_at`` and due at ``deadline`` (Unix
    seconds): by default issued now and due a minute from now."""
    now = time.time()
    return {
        IDEMPOTENCY_HEADER: key,
        KEY_ISSUED_HEADER: unix_seconds(now if issued_at is None else issued_at),
        DEADLINE_HEADER: unix_seconds(now + DUE_IN if deadline is None else deadline),
    }

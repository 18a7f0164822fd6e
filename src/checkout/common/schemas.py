"""Field types every participant's API shares: order ids, money, text, the idempotency
header and the two times that come with it."""

from __future__ import annotations

import unicodedata
import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Header
from pydantic import AfterValidator, Field, PlainSerializer

from checkout.common.key_expiry import KeyTimes
from sagakit.http import DEADLINE_HEADER, KEY_ISSUED_HEADER

MAX_AMOUNT = Decimal("1000000000")

Money = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str),
]
"""A positive amount with at most two decimals, serialised as a string: ``"25.00"``."""

OrderId = uuid.UUID


def plain_text(value: str) -> str:
    """Refuse control characters (NUL, ...) and lone surrogates.

    PostgreSQL cannot store NUL in text, and a lone surrogate (``"\\ud800"`` in JSON)
    cannot be encoded as UTF-8 at all: both would fail deep in the database driver
    as a 500. Format characters (right-to-left override, zero-width space) are valid
    Unicode and are stored and echoed literally.
    """
    for character in value:
        if unicodedata.category(character) in {"Cc", "Cs"}:
            raise ValueError(
                f"must not contain control characters or lone surrogates "
                f"(found U+{ord(character):04X})"
            )
    return value


PlainText = Annotated[str, AfterValidator(plain_text)]
"""A string without control characters or lone surrogates."""

ShortText = Annotated[PlainText, Field(min_length=1, max_length=200)]

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
"""The caller's key for this effect; a repeat with the same key replays the first answer."""

LAST_UNIX_SECONDS = 32_503_680_000
"""1 January 3000: a later time in a header is a mistake, and would overflow a date."""


def _unix_seconds(header: str) -> Any:
    return Header(alias=header, ge=0, lt=LAST_UNIX_SECONDS, allow_inf_nan=False)


KeyIssuedAt = Annotated[float, _unix_seconds(KEY_ISSUED_HEADER)]
"""When the key's saga started (Unix seconds, the caller's clock): no request under its
keys is older. A record made under it expires (:mod:`checkout.common.key_expiry`)."""
RequestDeadline = Annotated[float, _unix_seconds(DEADLINE_HEADER)]
"""When the caller stops waiting for this request (Unix seconds, the caller's clock)."""
OptionalKeyIssuedAt = Annotated[float | None, _unix_seconds(KEY_ISSUED_HEADER)]
OptionalRequestDeadline = Annotated[float | None, _unix_seconds(DEADLINE_HEADER)]


async def _key_times(issued_at: KeyIssuedAt, deadline: RequestDeadline) -> KeyTimes:
    return KeyTimes(issued_at=issued_at, deadline=deadline)


async def _optional_key_times(
    issued_at: OptionalKeyIssuedAt = None, deadline: OptionalRequestDeadline = None
) -> KeyTimes:
    return KeyTimes(issued_at=issued_at, deadline=deadline)


KeyTimesHeaders = Annotated[KeyTimes, Depends(_key_times)]
"""Both times, required: the orchestrator's calls (a saga step's) always send them."""
OptionalKeyTimesHeaders = Annotated[KeyTimes, Depends(_optional_key_times)]
"""Either time, when sent: without an Issued-At a record never expires."""

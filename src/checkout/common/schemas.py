"""Field types every participant's API shares: order ids, money, text, the idempotency header."""

from __future__ import annotations

import unicodedata
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import Header
from pydantic import AfterValidator, Field, PlainSerializer

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

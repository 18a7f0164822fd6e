"""Field types every participant's API shares: order ids, money, the idempotency header."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import Header
from pydantic import Field, PlainSerializer

MAX_AMOUNT = Decimal("1000000000")

Money = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str),
]
"""A positive amount with at most two decimals, serialised as a string: ``"25.00"``."""

OrderId = uuid.UUID
ShortText = Annotated[str, Field(min_length=1, max_length=200)]

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
"""The caller's key for this effect; a repeat with the same key replays the first answer."""

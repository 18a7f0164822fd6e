"""A forward step's context, for tests of a participant call."""

from __future__ import annotations

from sagakit import Direction, StepContext

PAY_CONTEXT = StepContext(
    saga_id="s1",
    saga_name="demo",
    step="pay",
    direction=Direction.FORWARD,
    idempotency_key="s1:pay:forward",
    attempt=1,
    input={},
    results={},
)

"""One revision chain over four databases: each revision runs only the functions named
for the database being migrated (``upgrade_payment`` …); others are no-ops."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal


def run_step(
    direction: Literal["upgrade", "downgrade"], engine_name: str, revision: Mapping[str, Any]
) -> None:
    step: Callable[[], None] | None = revision.get(f"{direction}_{engine_name}")
    if step is not None:
        step()

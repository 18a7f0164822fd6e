"""Orders database: the checkout's order tables (left empty here; filled by the orders work).

Revision ID: 0001_orders
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0001_orders"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    """Run ``upgrade_<engine_name>()``; a database this revision does not touch is a no-op."""
    step = globals().get(f"upgrade_{engine_name}")
    if step is not None:
        step()


def downgrade(engine_name: str) -> None:
    step = globals().get(f"downgrade_{engine_name}")
    if step is not None:
        step()


def upgrade_orders() -> None:
    pass


def downgrade_orders() -> None:
    pass

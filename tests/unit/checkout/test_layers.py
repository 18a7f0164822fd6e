"""The participants' domain rules know nothing of the web framework that serves them."""

from __future__ import annotations

import subprocess
import sys

DOMAIN = (
    "checkout.payment.domain",
    "checkout.inventory.domain",
    "checkout.shipping.domain",
    "checkout.common.answers",
    "checkout.common.tombstones",
    "checkout.common.refusals",
)


def test_the_domain_rules_import_neither_fastapi_nor_starlette() -> None:
    code = (
        f"import sys, {', '.join(DOMAIN)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

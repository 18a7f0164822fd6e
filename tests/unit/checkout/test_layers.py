"""The participants' domain rules know nothing of the web framework that serves them.

Each module is imported alone in a fresh interpreter, so what it pulls in through its
own imports counts, and a failure names the module that brought FastAPI in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import checkout

COMMON_DOMAIN = (
    "checkout.common.answers",
    "checkout.common.effects",
    "checkout.common.key_expiry",
    "checkout.common.refusals",
    "checkout.common.tombstones",
)
"""The shared protocol the participants' domains run under."""


def domain_modules() -> list[str]:
    """Every service's ``domain.py``, found on disk so that a new service is covered."""
    root = Path(checkout.__file__).parent
    return sorted(f"checkout.{path.parent.name}.domain" for path in root.glob("*/domain.py"))


def web_modules_imported_by(module: str) -> list[str]:
    code = (
        f"import json, sys, {module}; print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('fastapi', 'starlette'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    found: list[str] = json.loads(result.stdout)
    return found


def test_every_participant_has_a_domain_module_to_check() -> None:
    assert {
        "checkout.payment.domain",
        "checkout.inventory.domain",
        "checkout.shipping.domain",
    } <= set(domain_modules())


@pytest.mark.parametrize("module", [*domain_modules(), *COMMON_DOMAIN])
def test_a_domain_module_imports_neither_fastapi_nor_starlette(module: str) -> None:
    assert web_modules_imported_by(module) == []

"""The checkout is built on sagakit's public API only, as any application would be.

sagakit's internals (how the executor steps, how a store batches its writes) may change
in any release; an application that imported them would break with it. So every import
of sagakit in ``src/checkout`` names a public module, and every name it takes from one
is that module's public name (in its ``__all__`` where it has one).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[3] / "src" / "checkout"

PUBLIC_MODULES = {
    "sagakit",
    "sagakit.admin",
    "sagakit.database",
    "sagakit.http",
    "sagakit.http.aiohttp_client",
    "sagakit.http.transport_client",
    "sagakit.migrate",
    "sagakit.simulation",
    "sagakit.store",
    "sagakit.unavailable",
}


def sagakit_imports() -> list[tuple[str, str, list[str]]]:
    """(file, module, names) for every ``import sagakit...`` in the checkout."""
    found = []
    for path in sorted(CHECKOUT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            where = str(path.relative_to(CHECKOUT))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sagakit"):
                found.append((where, node.module or "", [alias.name for alias in node.names]))
            elif isinstance(node, ast.Import):
                found += [
                    (where, alias.name, [])
                    for alias in node.names
                    if alias.name.startswith("sagakit")
                ]
    return found


def test_the_checkout_imports_sagakit() -> None:
    assert len(sagakit_imports()) > 20  # the walk finds them, so the tests below mean something


def test_the_checkout_imports_only_public_sagakit_modules() -> None:
    private = [
        (file, module) for file, module, _ in sagakit_imports() if module not in PUBLIC_MODULES
    ]

    assert private == []


def test_the_checkout_takes_only_public_names_from_them() -> None:
    private = []
    for file, module, names in sagakit_imports():
        exported = getattr(importlib.import_module(module), "__all__", None)
        for name in names:
            if name.startswith("_") or (exported is not None and name not in exported):
                private.append((file, module, name))

    assert private == []

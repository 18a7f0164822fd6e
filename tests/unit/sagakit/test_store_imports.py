"""What importing sagakit pulls in, and what the store boundary names."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

DRIVERS = ("asyncpg", "psycopg", "aiosqlite")


def test_importing_sagakit_imports_no_database_driver():
    code = (
        "import sys, sagakit, sagakit.store; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {DRIVERS!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def imports_of(module: str) -> set[str]:
    """The modules that ``module``'s source names in its imports, by absolute name
    (those under ``if TYPE_CHECKING:`` too: annotations can name what they import)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            imported.add(importlib.util.resolve_name(relative, package))
    return imported


def test_the_store_protocol_and_the_modules_it_names_import_nothing_from_sqlalchemy():
    """The protocol, the sagakit modules it imports and theirs in turn (``sagakit.state``,
    ``sagakit.definition``), read from their syntax trees. Not by importing it: the
    package's ``__init__`` imports the SQL store, so SQLAlchemy is loaded whichever module
    of sagakit is imported; what matters is that no type of the boundary is SQLAlchemy's."""
    reached, pending, imported = set(), ["sagakit.store.protocol"], set()
    while pending:
        module = pending.pop()
        reached.add(module)
        names = imports_of(module)
        imported |= names
        pending += [name for name in names - reached if name.split(".")[0] == "sagakit"]

    assert {"sagakit.state", "sagakit.definition"} <= reached
    assert not [name for name in imported if name.split(".")[0] == "sqlalchemy"]

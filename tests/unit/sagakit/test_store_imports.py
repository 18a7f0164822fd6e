"""What importing sagakit pulls in, and what the store boundary names."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

import sagakit.store.protocol

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


def test_the_store_protocol_imports_nothing_from_sqlalchemy():
    """Its signatures can name only what the module imports: sagakit's own types."""
    tree = ast.parse(inspect.getsource(sagakit.store.protocol))
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
    ]

    assert "sagakit.state" in imported
    assert not [name for name in imported if name.split(".")[0] == "sqlalchemy"]

"""A short soak through the command line: the real services with retention on, rows
printed as one markdown table while it runs, the comparisons and the books at the end.

Half a minute of load, so about a minute in all; nothing here depends on how fast the
machine is, only on what is printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import test_database_backend

pytestmark = pytest.mark.e2e

BOUND_SECONDS = 600
"""Only against a hang: a busy machine may take long to start the services."""


def test_a_short_soak_prints_its_rows_and_finds_the_books_right(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "checkout.cli",
        "bench",
        "--soak",
        "30s",
        "--report-every",
        "10s",
        "--concurrency",
        "4",
        "--retention",
        "1m",
        "--configuration",
        f"ours-{test_database_backend()}",
        "--json-out",
        str(tmp_path / "soak.json"),
    ]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=BOUND_SECONDS
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| elapsed |"))
    table = lines[start : lines.index("", start)]
    rows = [line.split(" | ")[0] for line in table[2:]]  # "| 0:10", "| 0:20", "| 0:30 (end)"
    assert len(rows) == 3
    assert [row.endswith("(end)") for row in rows] == [False, False, True]
    assert "Books: right" in done.stdout
    assert "its first third stands in for the first 10 minutes" in done.stdout
    assert any(line.startswith("Database size, the first third") for line in lines)
    assert any(line.startswith("Memory (RSS), first row → end") for line in lines)
    assert any(line.startswith("p99 of POST /orders") for line in lines)
    assert any(line.startswith("Tables retention prunes") for line in lines)
    assert (tmp_path / "soak.json").exists()

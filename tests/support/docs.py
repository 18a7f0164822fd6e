"""Running the Python of a page of the docs as a reader would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


def shown_output(page: Path) -> str | None:
    """What the page says its program prints: each "It prints:" shows what the blocks
    before it print, so together they are all of it."""
    shown = re.findall(r"It prints:\n\n```\n(.*?)```", page.read_text(), flags=re.DOTALL)
    return "".join(shown) if shown else None


def run(code: str, folder: Path, *, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=folder,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout

"""The README's engine example runs and prints what it says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_engine_example_runs_as_shown():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    example = next(block for block in blocks if "SagaEngine" in block)

    result = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, check=True
    )

    refunded, outcome = result.stdout.splitlines()
    assert refunded.startswith("refunding pay-")
    assert outcome == "compensated insufficient_stock"


def test_the_readme_simulation_example_runs_and_finds_the_books_kept():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    example = next(block for block in blocks if "run_seeds" in block)

    result = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=300, check=True
    )

    assert result.stdout.strip() == "200 seeds, 0 broke the books"

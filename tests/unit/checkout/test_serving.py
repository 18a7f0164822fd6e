"""The garbage collector settings a service process runs with (in a fresh interpreter:
they are the whole process's)."""

from __future__ import annotations

import subprocess
import sys


def test_settling_the_heap_freezes_startup_and_collects_the_young_less_often():
    script = (
        "import gc; from checkout.serving import settle_heap; "
        "before = gc.get_freeze_count(); settle_heap(); "
        "print(before, gc.get_freeze_count(), *gc.get_threshold())"
    )
    printed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()

    before, frozen, young, *older = map(int, printed)
    assert before == 0 and frozen > 10_000
    assert young == 10_000 and older == [10, 10]

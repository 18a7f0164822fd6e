"""The garbage collector settings a service process runs with (in a fresh interpreter:
they are the whole process's)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from checkout.cli import app


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


def test_serving_an_app_that_cannot_be_imported_names_it():
    wide = {"COLUMNS": "200"}  # the error panel on one line
    result = CliRunner().invoke(app, ["serve", "checkout.no_such_module:create_app"], env=wide)

    assert result.exit_code == 2
    assert 'Could not import module "checkout.no_such_module"' in result.output

"""The tutorial on the suite's database: PostgreSQL under ``TEST_DATABASE=postgresql``,
as its section 5 tells a reader to run it."""

from __future__ import annotations

from pathlib import Path

from tests.support.docs import python_blocks, run, shown_output

TUTORIAL = Path(__file__).resolve().parents[3] / "docs" / "writing-a-saga.md"


async def test_the_tutorial_prints_the_same_on_the_suite_database(
    database_url: str, tmp_path: Path
) -> None:
    program = "\n".join(python_blocks(TUTORIAL))

    printed = run(program, tmp_path, env={"TUTORIAL_DATABASE_URL": database_url})

    assert printed == shown_output(TUTORIAL)

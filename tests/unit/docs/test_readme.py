"""Every Python example in the README and the docs runs, and prints what it says.

README examples stand alone, each run on its own; a page under docs/ is one program,
its blocks run together in order (the tutorial builds up that way). Each runs in a
fresh folder, as a reader would run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docs import python_blocks, run, shown_output

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
"""Every page of the docs; those with Python in them are run below."""


README_BLOCKS = python_blocks(README)


@pytest.mark.parametrize(
    "block", README_BLOCKS, ids=[f"block-{n}" for n in range(len(README_BLOCKS))]
)
def test_every_readme_example_runs(block: str, tmp_path: Path) -> None:
    run(block, tmp_path)


def test_the_readme_engine_example_prints_what_it_says(tmp_path: Path) -> None:
    example = next(block for block in README_BLOCKS if "InMemorySagaStore" in block)

    refunded, outcome = run(example, tmp_path).splitlines()

    assert refunded.startswith("refunding pay-")
    assert outcome == "compensated insufficient_stock"


def test_the_readme_alongside_example_stores_the_order_with_its_saga(tmp_path: Path) -> None:
    example = next(block for block in README_BLOCKS if "alongside=" in block)

    assert run(example, tmp_path).strip() == "completed 1"


def test_the_readme_simulation_example_finds_the_books_kept(tmp_path: Path) -> None:
    example = next(block for block in README_BLOCKS if "run_seeds" in block)

    assert run(example, tmp_path).strip() == "200 seeds, 0 broke the books"


PAGES_WITH_PYTHON = [page for page in PAGES if python_blocks(page)]


def test_the_tutorial_is_among_the_pages_run() -> None:
    assert ROOT / "docs" / "writing-a-saga.md" in PAGES_WITH_PYTHON


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=[page.name for page in PAGES_WITH_PYTHON])
def test_every_docs_page_runs_as_one_program_and_prints_what_it_shows(
    page: Path, tmp_path: Path
) -> None:
    blocks = python_blocks(page)
    printed = run("\n".join(blocks), tmp_path)

    shown = shown_output(page)
    if shown is not None:
        assert printed == shown


def test_the_readme_wait_example_is_confirmed_then_shipped(tmp_path: Path) -> None:
    example = next(block for block in README_BLOCKS if "engine.send(" in block)

    assert run(example, tmp_path).strip() == "completed True"


def test_the_readme_parallel_example_undoes_every_attempted_member_then_the_payment(
    tmp_path: Path,
) -> None:
    example = next(block for block in README_BLOCKS if "Parallel(" in block)

    assert run(example, tmp_path).splitlines() == [
        "cancelling car",
        "cancelling hotel",
        "cancelling payment",
        "compensated car",
    ]

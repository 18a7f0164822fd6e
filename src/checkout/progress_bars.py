"""Progress for long commands: a live bar in a terminal, a line every tenth elsewhere
(CI logs), so a run that takes minutes never looks stuck."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


@dataclass
class _Task:
    description: str
    total: float
    completed: float = 0.0
    printed_tenth: int = -1


class LineProgress:
    """The part of ``rich.progress.Progress`` the commands use, printed as lines."""

    def __init__(self) -> None:
        self._tasks: list[_Task] = []

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *_exc: Any) -> None:
        return None

    def add_task(self, description: str, total: float) -> TaskID:
        self._tasks.append(_Task(description, float(total)))
        return TaskID(len(self._tasks) - 1)

    def advance(self, task: TaskID, advance: float = 1) -> None:
        self.update(task, completed=self._tasks[task].completed + advance)

    def update(
        self, task: TaskID, *, completed: float | None = None, description: str | None = None
    ) -> None:
        state = self._tasks[task]
        state.description = description or state.description
        state.completed = state.completed if completed is None else completed
        tenth = int(10 * state.completed / (state.total or 1))
        if tenth != state.printed_tenth:
            state.printed_tenth = tenth
            print(f"{state.description}: {state.completed:.0f}/{state.total:.0f}", flush=True)


def progress_bar(*, show: bool = True) -> Progress | LineProgress:
    """A rich bar in a terminal; lines where output goes to a file; nothing if not ``show``."""
    if show and not Console(file=sys.stdout).is_terminal:
        return LineProgress()
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show,
    )

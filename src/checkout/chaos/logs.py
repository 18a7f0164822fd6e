"""The tracebacks the services logged during the run, counted by service and exception.

Not a verdict (a traceback may be logged for an error handled well), but the first
place to look when clients saw 5xx answers, and a measure of how noisy an outage is:
one line per kind of failure is the goal, one traceback per request the problem.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TRACEBACK = "Traceback (most recent call last):"
GROUP_TRACEBACK = "Exception Group Traceback (most recent call last):"
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
MOST_KINDS_SHOWN = 4


def traceback_notes(log_dir: Path) -> list[str]:
    """One note per service that logged tracebacks: how many, and what they ended in."""
    notes = []
    for log in sorted(log_dir.glob("*.log")):
        found = exceptions_logged(log.read_text(errors="replace"))
        if found:
            kinds = ", ".join(f"{kind} ×{n}" for kind, n in found.most_common(MOST_KINDS_SHOWN))
            more = " …" if len(found) > MOST_KINDS_SHOWN else ""
            notes.append(f"the {log.stem} service logged {found.total()} tracebacks: {kinds}{more}")
    return notes


def exceptions_logged(text: str) -> Counter[str]:
    """The exception each traceback in ``text`` ended with (the last of a chain), by type."""
    found: Counter[str] = Counter()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].lstrip(" +").startswith(GROUP_TRACEBACK):
            # Printed indented throughout; what it holds is in its own lines.
            found["ExceptionGroup"] += 1
            i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")):
                i += 1
            continue
        if not lines[i].startswith(TRACEBACK):
            i += 1
            continue
        last, i = _last_of_chain(lines, i)
        found[last] += 1
    return found


def _last_of_chain(lines: list[str], i: int) -> tuple[str, int]:
    """The exception type that ends the chain of tracebacks starting at ``lines[i]``,
    and the index just past it."""
    while True:
        i += 1
        while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
            i += 1  # the frames, and any blank line before the exception
        exception = lines[i] if i < len(lines) else "(cut off)"
        i += 1
        following = next((j for j in range(i, len(lines)) if lines[j].strip()), len(lines))
        if following < len(lines) and lines[following].startswith(CHAINED):
            i = following + 1
            while i < len(lines) and not lines[i].startswith(TRACEBACK):
                i += 1
            if i < len(lines):
                continue
        return exception.split(":", 1)[0].strip(), i

"""What ``checkout chaos`` prints at the end: what broke, what clients were answered,
the notes, and one line of figures last, where a CI log shows it."""

from __future__ import annotations

from checkout.chaos.config import ChaosResult

MOST_VIOLATIONS_SHOWN = 20


def report_lines(result: ChaosResult) -> list[str]:
    lines = [f"  violation: {v}" for v in result.violations[:MOST_VIOLATIONS_SHOWN]]
    if len(result.violations) > MOST_VIOLATIONS_SHOWN:
        lines.append(f"  … and {len(result.violations) - MOST_VIOLATIONS_SHOWN} more")
    clients = result.clients
    lines += [f"  server error: {answer}" for answer in clients.server_error_lines()]
    if (unlisted := clients.other_server_errors - clients.server_errors.total()) > 0:
        lines.append(f"  … and {unlisted} more of other kinds")
    lines += [f"  note: {note}" for note in result.notes]
    lines.append(f"  outcomes: {dict(result.books.statuses)}")
    lines.append(f"  {clients.summary()}")
    if result.kept:
        lines.append(f"  {result.kept}")
    lines.append(result.summary())
    return lines

"""Durations as people type them on a command line: ``90s``, ``30m``, ``1h30m``, ``30d``."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_PART = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> timedelta:
    """``text`` as a ``timedelta``; ValueError saying what to type when it is not one."""
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        raise ValueError(
            f"{text!r} is not a duration: give numbers with units d, h, m or s "
            "(90s, 30m, 1h30m, 30d)"
        )
    return timedelta(seconds=sum(int(n) * UNITS[unit] for n, unit in _PART.findall(compact)))


def format_duration(span: timedelta) -> str:
    """``span`` as ``parse_duration`` reads it, in whole seconds: ``1m30s``."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"

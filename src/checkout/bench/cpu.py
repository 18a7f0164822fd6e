"""CPU time spent by each process of a benchmark run, read from ``/proc`` (Linux).

Wall time says how fast; CPU time says where the machine's two cores went. A run that
is CPU-bound can place at most (cores × 1000) ms of CPU per second, divided by the CPU
one order costs across every process; the PostgreSQL server is counted as one process,
the sum of its backends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
POSTGRESQL = "postgresql"


def cpu_seconds(pid: int, proc: Path = PROC, *, with_exited_children: bool = False) -> float | None:
    """User plus system time of ``pid`` and all its threads; None if it is gone.

    ``with_exited_children`` adds the time of its children that have exited and been
    waited for, which the kernel folds into the parent's account.
    """
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may itself hold spaces or parentheses.
    fields = stat.rsplit(")", 1)[1].split()
    own, children = fields[11:13], fields[13:15]  # utime, stime; cutime, cstime
    ticks = sum(int(field) for field in own)
    if with_exited_children:
        ticks += sum(int(field) for field in children)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_seconds(proc: Path = PROC) -> float:
    """CPU time of the PostgreSQL server on this machine: every process named
    ``postgres``, with the backends that have exited since (closed connections), whose
    time the server's main process has collected."""
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += cpu_seconds(int(entry.name), proc, with_exited_children=True) or 0.0
    return total


def snapshot(pids: Mapping[str, int], *, include_postgres: bool) -> dict[str, float]:
    """CPU seconds so far of each named process (those that have exited are left out)."""
    taken = {
        name: seconds for name, pid in pids.items() if (seconds := cpu_seconds(pid)) is not None
    }
    if include_postgres and PROC.exists():
        taken[POSTGRESQL] = postgres_seconds()
    return taken


def per_order_ms(
    before: Mapping[str, float], after: Mapping[str, float], orders: int
) -> dict[str, float]:
    """Milliseconds of CPU each process spent per order between two snapshots."""
    return {
        name: (after[name] - before[name]) * 1000 / orders for name in before.keys() & after.keys()
    }

"""A command that starts the services stops them when it is itself stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads processes from /proc")


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# Bounds for a busy two-core machine; each is waited out on a condition, never slept.
STARTING_BOUND_SECONDS = 180
STOPPING_BOUND_SECONDS = 120


def test_sigterm_to_a_benchmark_stops_the_services_it_started(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "checkout.cli", "bench-memory", "--sagas", "1000000"]
    bench = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    services: set[int] = set()
    try:
        deadline = time.monotonic() + STARTING_BOUND_SECONDS
        while len(services) < 4 and bench.poll() is None and time.monotonic() < deadline:
            services = _children(bench.pid)
            time.sleep(0.2)
        assert len(services) == 4, f"the benchmark started {len(services)} services, not 4"

        # Sent as soon as the fourth process exists: on a loaded machine, sometimes
        # before its spawn has returned and the benchmark has it on record. That stop
        # used to leave the fourth service running; spawns now hold it back until done.
        bench.send_signal(signal.SIGTERM)

        # Generous: on a loaded machine the services' graceful shutdown alone may take
        # the ten seconds the benchmark gives them before it kills them.
        assert bench.wait(timeout=STOPPING_BOUND_SECONDS) == 128 + signal.SIGTERM
        assert [pid for pid in services if _alive(pid)] == []
    finally:
        bench.kill()
        bench.wait()  # reaped here, not reported by a later test as still running
        for pid in services:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

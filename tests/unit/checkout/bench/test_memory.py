"""Reading a process's resident set size, which the memory benchmark samples."""

from __future__ import annotations

import os

from checkout.bench.memory import resident_mib


def test_resident_memory_grows_when_the_process_holds_more():
    before = resident_mib(os.getpid())
    held = bytearray(64 * 1024 * 1024)  # 64 MiB, touched so the pages are resident
    for offset in range(0, len(held), 4096):
        held[offset] = 1

    after = resident_mib(os.getpid())

    assert before > 1
    assert after - before > 48

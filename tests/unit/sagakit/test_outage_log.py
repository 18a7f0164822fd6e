"""One log line per kind of failure and interval, not a traceback per request."""

from __future__ import annotations

import logging

import pytest

from sagakit.unavailable import OutageLog


def test_repeats_within_the_interval_are_counted_into_the_next_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outages = OutageLog(logging.getLogger("checkout.outages"), interval=30, clock=lambda: now[0])
    refused = ConnectionRefusedError(111, "Connection refused")

    with caplog.at_level(logging.WARNING, logger="checkout.outages"):
        for _ in range(500):
            outages.failed("database unavailable", refused)
        now[0] = 31.0
        outages.failed("database unavailable", refused)
        outages.failed("database unavailable", TimeoutError("pool"))

    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("database unavailable: ConnectionRefusedError:")
    assert lines[1].endswith("(499 more since the last line)")
    assert lines[2].startswith("database unavailable: TimeoutError: pool")
    assert all(record.exc_info is None for record in caplog.records)

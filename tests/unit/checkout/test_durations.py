"""Durations typed on a command line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkout.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("30d", timedelta(days=30)),
        (" 2D ", timedelta(days=2)),
    ],
)
def test_a_duration_reads_as_typed(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span
    assert parse_duration(format_duration(span)) == span


@pytest.mark.parametrize("text", ["", "30", "m", "1.5h", "-3m", "30 days"])
def test_what_is_not_a_duration_is_refused_saying_what_to_type(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 30m, 1h30m, 30d"):
        parse_duration(text)

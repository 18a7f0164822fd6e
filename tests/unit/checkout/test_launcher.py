"""run_services.py stops once: a second signal while it stops is ignored."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from checkout import launcher


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


@pytest.mark.usefixtures("restored_handlers")
@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_the_first_stop_signal_stops_and_later_ones_are_ignored(first: signal.Signals) -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, launcher._raise_stop)

    with pytest.raises(launcher._Stop):
        os.kill(os.getpid(), first)

    os.kill(os.getpid(), signal.SIGTERM)  # a second one while stopping: nothing happens
    os.kill(os.getpid(), signal.SIGINT)

"""run_services.py stops once (a second signal while it stops is ignored) and says where
the tokens it keeps across restarts are."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

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


def test_the_start_up_output_says_where_the_tokens_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"CHECKOUT_DATA_DIR": str(tmp_path)}

    first = launcher.prepare_tokens(environ)
    generated = capsys.readouterr().out
    second = launcher.prepare_tokens(environ)
    reused = capsys.readouterr().out

    assert second == first
    assert f"kept in {tmp_path / 'tokens.env'}" in generated
    assert "generated now: SERVICE_TOKEN, ADMIN_TOKEN" in generated
    assert f"kept in {tmp_path / 'tokens.env'}" in reused
    assert "generated now" not in reused


def test_the_start_up_output_names_the_tokens_taken_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"CHECKOUT_DATA_DIR": str(tmp_path), "ADMIN_TOKEN": "mine"}

    tokens = launcher.prepare_tokens(environ)

    assert tokens["ADMIN_TOKEN"] == "mine"
    assert "from the environment instead: ADMIN_TOKEN" in capsys.readouterr().out

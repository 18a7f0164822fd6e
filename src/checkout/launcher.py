"""What ``python run_services.py`` does: migrate, start, supervise, stop cleanly."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from types import FrameType

from checkout.admin.token_file import KeptTokens, keep_tokens, kept_tokens_path
from checkout.migrations import upgrade_all
from checkout.processes import SERVICES, PortTaken, System, generated_tokens

RESTART_LIMIT = 5
"""Restarts allowed per service before the supervisor gives up on the whole system."""


class _Stop(Exception):
    pass


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    # One stop is enough: a second Ctrl-C or SIGTERM (``timeout`` and a supervisor both
    # send one) would cut the stop short with a traceback. The stop is bounded anyway:
    # it kills what does not exit in time.
    _ignore_stop_signals()
    raise _Stop


def _ignore_stop_signals() -> None:
    # A handler that does nothing, not SIG_IGN: a signal already delivered but not yet
    # handled would otherwise raise "OSError: Signal 15 ignored due to race condition".
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    pass


def prepare_tokens(environ: Mapping[str, str]) -> dict[str, str]:
    """The tokens for this start, kept in ``tokens.env`` across restarts (see
    :mod:`checkout.admin.token_file`); says where they are kept."""
    kept = keep_tokens(kept_tokens_path(environ), environ, generated_tokens)
    print(token_report(kept))
    return kept.tokens


def token_report(kept: KeptTokens) -> str:
    """Where the tokens are, for the start-up output: the CLI and the dashboard need one."""
    from_environment = ", ".join(kept.from_environment)
    if len(kept.from_environment) == len(kept.tokens):
        return f"Tokens: {from_environment} from the environment; none kept in a file."
    lines = [
        f"Tokens are kept in {kept.path.resolve()} and reused on every start "
        "(delete it for new ones)."
    ]
    if kept.generated:
        lines.append(f"  generated now: {', '.join(kept.generated)}")
    if from_environment:
        lines.append(f"  from the environment instead: {from_environment}")
    return "\n".join(lines)


def main() -> int:
    tokens = prepare_tokens(os.environ)
    system = System(env=tokens, log_dir=None)
    try:
        system.check_ports()
    except PortTaken as taken:
        print(f"Cannot start: {taken}")
        return 2
    print("Applying migrations…")
    upgrade_all()
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    restarts = dict.fromkeys(system.ports, 0)
    try:
        system.start()
        system.wait_healthy()
        for service in SERVICES:
            print(f"  {service.name:<9} {system.url(service.name)}")
        print("All four services are up. Press Ctrl-C to stop them.")
        while True:
            time.sleep(0.5)
            for name, code in system.exited().items():
                restarts[name] += 1
                if restarts[name] > RESTART_LIMIT:
                    print(f"The {name} service keeps exiting (last code {code}); stopping.")
                    return 1
                print(f"The {name} service exited with code {code}; restarting it.")
                system.start(name)
    except (KeyboardInterrupt, _Stop):
        print("\nStopping…")
        return 0
    finally:
        _ignore_stop_signals()
        system.stop()
        print("All services stopped.")

"""What ``python run_services.py`` does: migrate, start, supervise, stop cleanly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType

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


def prepare_tokens(data_dir: Path) -> dict[str, str]:
    """The tokens from the environment; any missing one is generated and written down."""
    tokens = {
        name: value for name in ("SERVICE_TOKEN", "ADMIN_TOKEN") if (value := os.environ.get(name))
    }
    if len(tokens) == 2:
        return tokens
    tokens = {**generated_tokens(), **tokens}
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "tokens.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in tokens.items()))
    path.chmod(0o600)
    print(f"Generated tokens for this run; read them in {path}")
    return tokens


def main() -> int:
    data_dir = Path(os.environ.get("CHECKOUT_DATA_DIR", "data"))
    tokens = prepare_tokens(data_dir)
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

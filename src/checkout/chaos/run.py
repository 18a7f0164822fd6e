"""The chaos run: start the system with faults on (late deliveries among them), place
orders while killing and pausing orchestrators and restocking the scarce product, wait
until nothing is pending and every late delivery has landed, then check the books.

Whatever ends the run (its end, an exception, Ctrl-C, SIGTERM) stops the services and
drops the scratch databases, unless ``keep`` asks to leave them for a look.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from checkout.chaos.config import (
    CALL_TIMEOUT_SECONDS,
    LEASE_SECONDS,
    ChaosConfig,
    ChaosResult,
)
from checkout.chaos.databases import drop_command, new_prefix, scratch_databases, scratch_names
from checkout.chaos.session import ChaosSession
from checkout.processes import PARTICIPANTS, System, free_port, generated_tokens
from checkout.stopping import run_until_stopped

__all__ = ["ChaosConfig", "ChaosResult", "run_chaos"]

Report = Callable[[str], None]


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_chaos(
    config: ChaosConfig, *, workdir: Path | None = None, report: Report = _to_stderr
) -> ChaosResult:
    """One run, start to books. ``workdir`` holds the logs and SQLite files (a temporary
    folder by default, removed); ``config.keep`` keeps them, and PostgreSQL's databases.
    ``report`` hears where kept things are if the run fails before its summary."""
    cleanup = ExitStack()
    kept: str | None = None
    try:
        folder = config.keep or workdir
        if folder is None:
            folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        folder.mkdir(parents=True, exist_ok=True)
        prefix = new_prefix()
        if config.backend == "postgresql":
            # Said first, so that even a run killed with SIGKILL leaves nothing unnamed.
            fate = "kept" if config.keep else "dropped"
            report(f"chaos: scratch databases {prefix}_*, {fate} at the end")
        if config.keep is not None:
            kept = _kept(config, folder, list(scratch_names(prefix).values()))
        urls = cleanup.enter_context(
            scratch_databases(
                backend=config.backend,
                folder=folder,
                postgres_url=config.postgres_url,
                keep=config.keep is not None,
                prefix=prefix,
                report=report,
            )
        )
        system = _system(config, urls, folder)
        cleanup.callback(system.stop)
        system.start()
        system.wait_healthy(timeout=60)
        result = run_until_stopped(ChaosSession(config, system, urls).run())
        result.kept = kept
        return result
    except BaseException:
        if kept is not None:
            report(kept)
        raise
    finally:
        with _signals_held():
            cleanup.close()


def _kept(config: ChaosConfig, folder: Path, names: list[str]) -> str:
    logs = f"kept: the services' logs in {folder / 'logs'}"
    if config.backend == "sqlite":
        return f"{logs}, the SQLite databases in {folder}"
    return (
        f"{logs}; the PostgreSQL databases {', '.join(names)} "
        f"(to drop them: {drop_command(config.postgres_url, names)})"
    )


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the services stop and the databases are dropped.

    A second Ctrl-C, pressed because the first seemed slow, would otherwise cut the
    cleanup short and leave services running and databases behind. The signal is not
    lost: it takes effect when the cleanup is done.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _system(config: ChaosConfig, urls: dict[str, str], folder: Path) -> System:
    orchestrators = ["orders"] + [f"orders-{i}" for i in range(2, config.orchestrators + 1)]
    env = {
        **generated_tokens(),
        **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        "FAULTS_ENABLED": "1",
        "ORDERS_CALL_TIMEOUT_SECONDS": str(CALL_TIMEOUT_SECONDS),
        "ORDERS_LEASE_SECONDS": str(LEASE_SECONDS),
        "ORDERS_RECOVERY_POLL_SECONDS": "0.3",
        "CHECKOUT_DATA_DIR": str(folder),
    }
    if config.idempotency_disabled:
        env["IDEMPOTENCY_DISABLED"] = "1"
    ports = {name: free_port() for name in [*orchestrators, *(s.name for s in PARTICIPANTS)]}
    return System(env=env, ports=ports, log_dir=folder / "logs")

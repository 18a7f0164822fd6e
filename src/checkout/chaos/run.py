"""The chaos run: start the system with faults on (late deliveries among them), place
orders while killing and pausing orchestrators, killing participants, restarting the
database and restocking the scarce product, wait until nothing is pending and every
late delivery has landed, then check the books and what the clients were answered.

Whatever ends the run (its end, an exception, Ctrl-C, SIGTERM) stops the services,
starts a server it was lent again if it had stopped it, and drops the scratch
databases and its private cluster, unless ``keep`` asks to leave them for a look.
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from checkout.chaos.cluster import Cluster, find_cluster, private_cluster
from checkout.chaos.config import (
    CALL_TIMEOUT_SECONDS,
    LEASE_SECONDS,
    ChaosConfig,
    ChaosResult,
)
from checkout.chaos.confirmations import CONFIRMATION_TIMEOUT_SECONDS
from checkout.chaos.databases import (
    DEFAULT_POSTGRES_URL,
    drop_command,
    new_prefix,
    scratch_databases,
    scratch_names,
)
from checkout.chaos.db_restarts import DatabaseRestarts
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
        cluster = _cluster(config, cleanup, report)
        server = cluster.url if config.private_server and cluster else config.postgres_url
        server = server or DEFAULT_POSTGRES_URL
        prefix = new_prefix()
        if config.backend == "postgresql":
            # Said first, so that even a run killed with SIGKILL leaves nothing unnamed.
            fate = "kept" if config.keep else "dropped"
            where = f" on {cluster}" if config.private_server else ""
            report(f"chaos: scratch databases {prefix}_*{where}, {fate} at the end")
        if config.keep is not None:
            kept = _kept(config, server, cluster, folder, list(scratch_names(prefix).values()))
        urls = cleanup.enter_context(
            scratch_databases(
                backend=config.backend,
                folder=folder,
                postgres_url=server,
                # A private cluster goes as a whole, its databases with it.
                keep=config.keep is not None or config.private_server,
                prefix=prefix,
                report=report,
            )
        )
        restarts = None
        if cluster is not None:
            restarts = DatabaseRestarts(
                cluster, random.Random(config.seed + 2), down_seconds=config.db_down_seconds
            )
            # Before the scratch databases are dropped, which needs the server up.
            cleanup.callback(restarts.ensure_running, report)
        system = _system(config, urls, folder)
        cleanup.callback(system.stop)
        system.start()
        system.wait_healthy(timeout=60)
        session = ChaosSession(config, system, urls, restarts=restarts)
        result = run_until_stopped(session.run())
        result.kept = kept
        return result
    except BaseException:
        if kept is not None:
            report(kept)
        raise
    finally:
        with _signals_held():
            cleanup.close()


def _cluster(config: ChaosConfig, cleanup: ExitStack, report: Report) -> Cluster | None:
    """The cluster the run restarts, if it restarts one: its own, created here, or the
    server it was told it may restart."""
    if not config.db_restarts:
        return None
    if config.private_server:
        return cleanup.enter_context(private_cluster(keep=config.keep is not None, report=report))
    assert config.postgres_url is not None and config.may_restart_server  # by ChaosConfig
    return find_cluster(config.postgres_url)


def _kept(
    config: ChaosConfig, server: str, cluster: Cluster | None, folder: Path, names: list[str]
) -> str:
    logs = f"kept: the services' logs in {folder / 'logs'}"
    if config.backend == "sqlite":
        return f"{logs}, the SQLite databases in {folder}"
    if config.private_server and cluster is not None:
        return (
            f"{logs}; the private PostgreSQL cluster {cluster} with the databases "
            f"{', '.join(names)} (to drop it: {cluster.drop_command()})"
        )
    return (
        f"{logs}; the PostgreSQL databases {', '.join(names)} "
        f"(to drop them: {drop_command(server, names)})"
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
        "ORDERS_CONFIRMATION_TIMEOUT_SECONDS": str(CONFIRMATION_TIMEOUT_SECONDS),
        "CHECKOUT_DATA_DIR": str(folder),
    }
    if config.idempotency_disabled:
        env["IDEMPOTENCY_DISABLED"] = "1"
    ports = {name: free_port() for name in [*orchestrators, *(s.name for s in PARTICIPANTS)]}
    return System(env=env, ports=ports, log_dir=folder / "logs")

"""The chaos run: start the system with faults on (late deliveries among them), place
orders while killing and pausing orchestrators and restocking the scarce product, wait
until nothing is pending and every late delivery has landed, then check the books."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from checkout.chaos.config import (
    CALL_TIMEOUT_SECONDS,
    LEASE_SECONDS,
    ChaosConfig,
    ChaosResult,
)
from checkout.chaos.databases import scratch_databases
from checkout.chaos.session import ChaosSession
from checkout.processes import PARTICIPANTS, System, free_port, generated_tokens

__all__ = ["ChaosConfig", "ChaosResult", "run_chaos"]


def run_chaos(config: ChaosConfig, *, workdir: Path | None = None) -> ChaosResult:
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with scratch_databases(
            backend=config.backend, folder=folder, postgres_url=config.postgres_url
        ) as urls:
            system = _system(config, urls, folder)
            try:
                system.start()
                system.wait_healthy(timeout=60)
                return asyncio.run(ChaosSession(config, system, urls).run())
            finally:
                system.stop()


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

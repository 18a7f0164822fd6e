"""Starting, watching and stopping the four services as real uvicorn processes.

Used by ``run_services.py``, the CLI, the end-to-end tests, the chaos run and the
benchmark, so they all run the system the same way.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from checkout.stopping import stop_signals_deferred


@dataclass(frozen=True)
class Service:
    name: str
    app: str
    default_port: int


SERVICES = (
    Service("orders", "checkout.orders.app:create_app", 8000),
    Service("payment", "checkout.payment.app:create_app", 8001),
    Service("inventory", "checkout.inventory.app:create_app", 8002),
    Service("shipping", "checkout.shipping.app:create_app", 8003),
)
PARTICIPANTS = tuple(s for s in SERVICES if s.name != "orders")


class PortTaken(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def check_port_free(host: str, port: int, name: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortTaken(
                f"port {port} on {host}, needed by the {name} service, is already in use. "
                f"Stop whatever listens there (try: lsof -i :{port}) or choose other ports."
            ) from None


def generated_tokens() -> dict[str, str]:
    return {"SERVICE_TOKEN": secrets.token_urlsafe(24), "ADMIN_TOKEN": secrets.token_urlsafe(24)}


APPS = {service.name: service.app for service in SERVICES}


def kind_of(name: str) -> str:
    """``orders-2`` is a second order service, ``worker-1`` a worker process."""
    return name.split("-", 1)[0]


@dataclass
class System:
    """Service processes by name, configured by ``env`` on top of ``os.environ``.

    ``ports`` names the processes: the four services, and any more order services
    (``orders-2``) or workers (``worker-1``, port 0). ``process_env`` adds settings
    for one process (its ``ORDERS_OWNER``, say).
    """

    env: Mapping[str, str]
    ports: dict[str, int] = field(
        default_factory=lambda: {s.name: s.default_port for s in SERVICES}
    )
    host: str = "127.0.0.1"
    log_dir: Path | None = None
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)
    """More kinds of process: ``{"bench": "module:factory"}`` serves ``bench-…`` names."""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.setdefault("PAYMENT_URL", self.url("payment"))
        env.setdefault("INVENTORY_URL", self.url("inventory"))
        env.setdefault("SHIPPING_URL", self.url("shipping"))
        if "orders" in self.ports:  # where the payment service tells what card holders answered
            env.setdefault("ORDERS_URL", self.url("orders"))
        return env

    def check_ports(self) -> None:
        for name, port in self.ports.items():
            if port:
                check_port_free(self.host, port, name)

    def start(self, *names: str) -> None:
        for name in names or tuple(self.ports):
            # A stop arriving mid-spawn waits until the process is on record, or
            # ``stop()`` would never hear of it and it would outlive us.
            with stop_signals_deferred():
                self.processes[name] = self._spawn(name)

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        if kind_of(name) == "worker":
            command = [sys.executable, "-m", "checkout.cli", "worker"]
        else:
            command = [
                sys.executable,
                "-m",
                "checkout.cli",
                "serve",
                {**APPS, **self.apps}[kind_of(name)],
                "--host",
                self.host,
                "--port",
                str(self.ports[name]),
            ]
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("ab")
            self._logs.append(output)
        env = {**self.environment(), **self.process_env.get(name, {})}
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT if output else None
        )

    def wait_healthy(self, *, timeout: float = 30.0, names: tuple[str, ...] = ()) -> None:
        deadline = time.monotonic() + timeout
        for name in names or tuple(self.processes):
            if kind_of(name) == "worker":
                continue
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the {name} service exited with code "
                        f"{process.returncode} while starting"
                        + (f"; see {self.log_dir}/{name}.log" if self.log_dir else "")
                    )
                try:
                    if httpx.get(self.url(name) + "/health", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {name} service did not become healthy in {timeout:g}s")
                time.sleep(0.1)

    def send(self, name: str, sig: int) -> None:
        """Send ``sig`` (SIGKILL, SIGSTOP, SIGCONT…) to one process."""
        self.processes[name].send_signal(sig)
        if sig == signal.SIGKILL:
            self.processes[name].wait()

    def exited(self) -> dict[str, int]:
        return {name: code for name, p in self.processes.items() if (code := p.poll()) is not None}

    def stop(self, *names: str, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
        chosen = [n for n in self.processes if not names or n in names]
        for name in chosen:
            if self.processes[name].poll() is None:
                self.processes[name].send_signal(sig)
        deadline = time.monotonic() + timeout
        for name in chosen:
            process = self.processes[name]
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not names:
            for log in self._logs:
                log.close()
            self._logs.clear()

"""What the customers saw: every answer to ``POST /orders``, attempt by attempt.

The books say whether the system kept its promises; these counts say how it spoke
while it did. An outage should look like a ``503`` (with ``Retry-After``) or, for a
process that is down, a refused connection: both tell a client to come back. Any
other ``5xx`` is the server failing to say so, and fails the run as a violation does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

MOST_KINDS_KEPT = 10


@dataclass
class ClientCounts:
    names: Mapping[str, str] = field(default_factory=dict)
    """The service name of each URL, for the examples."""
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    """Refused, reset or cut connections: a process down, killed or restarting."""
    timeouts: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    """Connection errors and timeouts by kind (``ConnectError``, ``RemoteProtocolError``…)."""
    server_errors: Counter[str] = field(default_factory=Counter)
    """The 5xx answers other than 503, grouped by service, status and body (the first
    few kinds)."""
    first_seen: dict[str, float] = field(default_factory=dict)
    """Seconds into the run each kind was first seen, to find it in the services' logs."""
    started: float = field(default_factory=time.monotonic)

    def answered(self, url: str, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if not is_server_error(response.status_code):
            return
        body = " ".join(response.text.split())[:200]
        kind = f"{self.names.get(url, url)} answered {response.status_code}: {body}"
        if kind in self.first_seen or len(self.first_seen) < MOST_KINDS_KEPT:
            self.first_seen.setdefault(kind, time.monotonic() - self.started)
            self.server_errors[kind] += 1

    def failed(self, error: httpx.TransportError) -> None:
        self.failures[type(error).__name__] += 1
        if isinstance(error, httpx.TimeoutException):
            self.timeouts += 1
        else:
            self.connection_errors += 1

    def of_class(self, hundreds: int) -> int:
        """Answers whose status is ``hundreds``xx: 2 for 2xx."""
        return sum(n for status, n in self.statuses.items() if status // 100 == hundreds)

    @property
    def unavailable(self) -> int:
        return self.statuses[503]

    @property
    def other_server_errors(self) -> int:
        """5xx answers other than 503: each one fails the run."""
        return sum(n for status, n in self.statuses.items() if is_server_error(status))

    def server_error_lines(self) -> list[str]:
        return [
            f"{kind} (×{n}, first {self.first_seen[kind]:.1f}s into the run)"
            for kind, n in self.server_errors.most_common()
        ]

    def summary(self) -> str:
        return (
            f"clients: {self.of_class(2)} × 2xx, {self.of_class(4)} × 4xx, "
            f"{self.unavailable} × 503, {self.other_server_errors} × other 5xx "
            f"({self.statuses[500]} × 500), {self.connection_errors} connection errors, "
            f"{self.timeouts} timeouts"
        )


def is_server_error(status: int) -> bool:
    """A 5xx that does not say "unavailable, come back": the server failed to answer."""
    return status >= 500 and status != 503

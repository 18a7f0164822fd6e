"""What happened in a simulated run, line by line, to read when a seed fails."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    at: float
    who: str
    what: str
    saga_id: str | None = None
    """The saga the line is about, when it is about one: a failing seed's trace can be
    narrowed to the sagas its violations name."""

    def render(self) -> str:
        return f"{self.at:10.3f}  {self.who:<11} {self.what}"


@dataclass
class Trace:
    clock: Callable[[], float]
    lines: list[Line] = field(default_factory=list)

    def __call__(self, who: str, what: str, *, saga_id: str | None = None) -> None:
        self.lines.append(Line(self.clock(), who, what, saga_id))

    def render(self, *, about: Iterable[str] | None = None) -> str:
        """Every line, or only those about sagas whose id is in (or starts) ``about``
        and the lines about no saga (crashes, pauses, restocks...)."""
        wanted = tuple(about) if about is not None else None
        return "\n".join(
            line.render()
            for line in self.lines
            if wanted is None or line.saga_id is None or line.saga_id.startswith(wanted)
        )


def short(saga_id: str) -> str:
    """The first 8 characters of an id: enough to tell a run's sagas apart."""
    return saga_id[:8]


def saga_of_key(key: str | None) -> str | None:
    """The saga id in an idempotency key ``{saga_id}:{step}:{direction}``."""
    return key.split(":", 1)[0] if key else None


def short_key(key: str | None) -> str:
    """An idempotency key with its saga id shortened: ``0748d9bb:inventory:forward``."""
    saga_id = saga_of_key(key)
    return "" if key is None or saga_id is None else short(saga_id) + key[len(saga_id) :]

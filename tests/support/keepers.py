"""Participant models for sagakit's simulation tests: each keeps what it does under the
request's idempotency key, as the engine asks of a participant."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sagakit import JSON
from sagakit.http.transport_client import TransportParticipantClient
from sagakit.simulation import Reply, Request, SimulatedTransport, World


class Keeper:
    """``POST /{do}`` keeps an effect for the body's ``saga``, ``POST /{undo}`` gives back
    the one its ``forward_key`` names. The first answer under a key is final (a refusal
    too), and undoing what was never done leaves a tombstone that refuses the doing if it
    arrives later. ``refuses`` names why a body is refused (None: it is not)."""

    def __init__(
        self, do: str, undo: str, *, refuses: Callable[[JSON], str | None] = lambda _body: None
    ) -> None:
        self._do, self._undo, self._refuses = f"POST /{do}", f"POST /{undo}", refuses
        self.kept: dict[str, str] = {}  # forward key -> saga
        self._answers: dict[str, Reply] = {}
        self._tombstones: set[str] = set()

    def __call__(self, request: Request) -> Reply:
        key = request.key or ""
        if key in self._answers:
            return self._answers[key]
        if request.operation == self._do:
            refusal = "undone" if key in self._tombstones else self._refuses(request.body)
            if refusal is not None:
                reply = Reply(409, {"detail": {"code": refusal, "message": refusal}})
            else:
                self.kept[key] = request.body["saga"]
                reply = Reply(201, {"kept": key})
        elif request.operation == self._undo:
            forward = request.body["forward_key"]
            if self.kept.pop(forward, None) is None:
                self._tombstones.add(forward)
            reply = Reply(200, {"undone": forward})
        else:
            return Reply(404, {"detail": "Not Found"})
        self._answers[key] = reply
        return reply


def simulated_clients(world: World, names: Iterable[str]) -> dict[str, TransportParticipantClient]:
    """A client per participant, over the simulated network."""
    return {
        name: TransportParticipantClient(
            f"http://{name}", transport=SimulatedTransport(world.network, name), timeout_seconds=2.0
        )
        for name in names
    }

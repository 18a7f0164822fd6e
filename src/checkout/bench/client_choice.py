"""Which participant client every orchestrator of a benchmark run calls with, while the
clients are being compared: ``BENCH_PARTICIPANT_CLIENT`` is ``handwritten``, ``httpx``
or ``aiohttp`` (the default ``handwritten``)."""

from __future__ import annotations

import os

import httpx

from sagakit.http import ParticipantCaller
from sagakit.participant_aiohttp import AiohttpParticipantClient
from sagakit.participant_client import ParticipantClient
from sagakit.participant_httpx import HttpxParticipantClient

CLIENT_VARIABLE = "BENCH_PARTICIPANT_CLIENT"


def participant_client(
    url: str,
    *,
    timeout_seconds: float,
    max_connections: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ParticipantCaller:
    choice = os.environ.get(CLIENT_VARIABLE, "handwritten")
    if choice == "httpx" or (transport is not None and choice == "aiohttp"):
        return HttpxParticipantClient(
            url,
            timeout_seconds=timeout_seconds,
            max_connections=max_connections,
            transport=transport,
        )
    if choice == "aiohttp":
        return AiohttpParticipantClient(
            url, timeout_seconds=timeout_seconds, max_connections=max_connections
        )
    if choice == "handwritten":
        return ParticipantClient(
            url,
            timeout_seconds=timeout_seconds,
            max_connections=max_connections,
            transport=transport,
        )
    raise ValueError(f"{CLIENT_VARIABLE} is handwritten, httpx or aiohttp, not {choice!r}")

"""Structured logs: ``LOG_FORMAT=json`` writes one JSON object per line.

The engine logs each attempt with ``extra={"saga_id", "step", "direction", "attempt",
"status"}``; the request middleware adds ``route``, ``status_code`` and
``duration_ms``. Every record also gets the current ``trace_id``, so one order can be
followed across the four services' logs. In the checkout a saga's id is its order's
id, so ``order_id`` is written beside ``saga_id``.

Without ``LOG_FORMAT`` or ``LOG_LEVEL`` in the environment logging is left as the
process (uvicorn, pytest) set it up.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from checkout.observability.tracing import current_traceparent, trace_id_of

CONTEXT_FIELDS = (
    "saga_id",
    "order_id",
    "step",
    "direction",
    "attempt",
    "status",
    "method",
    "route",
    "status_code",
    "duration_ms",
    "service",
)


class LoggingSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    log_format: Literal["text", "json"] | None = Field(default=None, validation_alias="LOG_FORMAT")
    log_level: str | None = Field(default=None, validation_alias="LOG_LEVEL")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if "saga_id" in entry and "order_id" not in entry:
            entry["order_id"] = entry["saga_id"]
        trace_id = trace_id_of(current_traceparent.get())
        if trace_id is not None:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so configuring twice replaces it."""


def configure_logging(settings: LoggingSettings) -> None:
    """Send the root logger's records to stderr as JSON or text, at ``LOG_LEVEL``."""
    if settings.log_format is None and settings.log_level is None:
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel((settings.log_level or "INFO").upper())

"""W3C trace context (``traceparent``) carried from the order request to every participant.

The OpenTelemetry *API* parses and formats the header, but without an SDK its tracer
makes no spans of its own: it only hands the parent's context back. So span ids are
made here, with the API's types, and nothing is exported. A service that installs
the OpenTelemetry SDK can export real spans later without changing the header format.

The trace of the request that created an order is stored in the saga's input, so a
saga resumed by another process after a crash still calls participants in that trace.
"""

from __future__ import annotations

import random
from contextvars import ContextVar

from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)
"""The ``traceparent`` of the span this request (or saga task) runs in, if any."""


def parse(traceparent: str | None) -> SpanContext | None:
    """The span context in a ``traceparent`` header; None when absent or malformed."""
    if not traceparent:
        return None
    context = _PROPAGATOR.extract({TRACEPARENT: traceparent})
    span_context = get_current_span(context).get_span_context()
    return span_context if span_context.is_valid else None


def format_traceparent(span_context: SpanContext) -> str:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=set_span_in_context(NonRecordingSpan(span_context)))
    return carrier[TRACEPARENT]


def child_traceparent(parent: str | None) -> str:
    """A ``traceparent`` for a new span under ``parent``: same trace, new span id.

    Without a (valid) parent, a new trace begins here.
    """
    parent_context = parse(parent)
    trace_id = parent_context.trace_id if parent_context else _random_id(128, INVALID_TRACE_ID)
    flags = parent_context.trace_flags if parent_context else TraceFlags(TraceFlags.SAMPLED)
    span = SpanContext(
        trace_id=trace_id,
        span_id=_random_id(64, INVALID_SPAN_ID),
        is_remote=False,
        trace_flags=flags,
    )
    return format_traceparent(span)


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex-digit trace id of a ``traceparent``, for logs."""
    span_context = parse(traceparent)
    return f"{span_context.trace_id:032x}" if span_context else None


def _random_id(bits: int, invalid: int) -> int:
    # Unique, not secret (as the OpenTelemetry SDK makes them): `secrets` read the
    # kernel's random source, a system call per id.
    while (value := random.getrandbits(bits)) == invalid:
        pass
    return value

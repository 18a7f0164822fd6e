"""Every error the engine raises or understands, in one place.

How an action's error steers a saga:

- ``StepRejected``: a business refusal ("card declined", "out of stock"). The
  refused attempt did nothing, so it is not retried; the steps before it are
  compensated. The refused step itself is compensated too when an earlier attempt of
  it had an unknown outcome (it timed out, failed or was interrupted): that request
  may still be running at the participant and land after the refusal.
- ``TransientError`` (and a timeout, and any exception not named below): the step may
  or may not have taken effect. It is retried under the step's ``RetryPolicy``; when
  the policy gives up, the outcome is unknown, so the step is compensated as if it
  had happened (a participant makes compensating something that never happened a
  no-op).
- ``OutcomeUnknown``: the participant would not act on this request because it came
  too late (past its deadline, or under a key older than the participant keeps
  keys). This request did nothing, but an earlier one under the same key may have,
  and the participant may no longer remember it, so the answer cannot be judged:
  a forward step ends with an unknown outcome and is compensated without a retry; a
  compensation is retried (each attempt carries a new deadline).
- ``RetryPolicy`` says otherwise where the defaults do not fit: errors that match its
  ``refuse_on`` are refusals, and only those that match its ``retry_on`` (and not its
  ``non_retryable_error_types``) are retried; any other error ends the step at once
  with an unknown outcome, compensated like an exhausted retry.

Errors the engine raises to its callers:

- ``UnknownSagaError``: no saga definition is registered under that name and version.
- ``SagaNotFound``: no saga instance with that id.
- ``InvalidTransition``: the saga is not in a state that allows the requested action
  (for example, retrying a saga that has not failed).
- ``LeaseLost``: another process holds the saga now; this one must stop driving it.
"""

from __future__ import annotations

from datetime import timedelta


class SagaError(Exception):
    """Base class of every error raised by the engine."""


class StepRejected(SagaError):
    """A participant refused the step for a business reason; this attempt did nothing.

    ``code`` is a short machine-readable reason (``"payment_declined"``).
    """

    def __init__(self, message: str, *, code: str = "rejected") -> None:
        super().__init__(message)
        self.code = code


class TransientError(SagaError):
    """The step failed in a way that may pass: retry it with the same idempotency key.

    ``retry_after`` is how long the participant asked to be left alone (an HTTP
    ``Retry-After``): the next attempt waits at least that long.
    """

    def __init__(self, message: str, *, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknown(SagaError):
    """The participant refused to act on a request that came too late; whether an
    earlier request under its key acted is unknown (see the module's notes).

    ``code`` says why: ``request_expired`` (past its deadline) or ``key_expired``.
    """

    def __init__(self, message: str, *, code: str = "outcome_unknown") -> None:
        super().__init__(message)
        self.code = code


class UnknownSagaError(SagaError):
    """No saga definition is registered under this name and version."""


class SagaNotFound(SagaError):
    """No saga instance has this id."""


class InvalidTransition(SagaError):
    """The saga's current status does not allow the requested action."""


class LeaseLost(SagaError):
    """The saga's lease passed to another process; stop driving it and do not write."""


class EventRefused(SagaError):
    """The saga will not take this event: it never waits for it, no longer runs, or
    holds another outcome under its name (a different event, or its wait's timeout).

    ``code`` says which: ``not_awaited``, ``not_running``, ``another_event`` or
    ``timed_out``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code

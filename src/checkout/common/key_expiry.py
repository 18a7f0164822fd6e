"""Keys that expire: a participant forgets an idempotency key's answer, and an order's
tombstone, once no request that could act under them can still be served.

Every orchestrated request carries, beside its ``Idempotency-Key``, two times in Unix
seconds on the orchestrator's clock (:data:`sagakit.http.KEY_ISSUED_HEADER`,
:data:`sagakit.http.DEADLINE_HEADER`): ``Idempotency-Key-Issued-At``, when its saga
started (no request under any of the saga's keys is older), and ``Request-Deadline``,
when the orchestrator stops waiting for this attempt. With R the retention
(``KEY_RETENTION_SECONDS``), S the clock skew (``CLOCK_SKEW_SECONDS``: how far the clock
of any participant process may be from the orchestrator's) and the *acceptance window*
W = R - 2S:

* a request whose deadline passed more than S ago is refused, 410 ``request_expired``:
  its caller gave up on it;
* a forward request (charge, reserve, ship) whose key is older than W is refused, 410
  ``key_expired``: an earlier request under its key may have acted, and its answer may
  be forgotten, so it must be neither replayed nor judged afresh;
* an answer recorded under a key expires at issued_at + R, and so does the tombstone a
  compensation leaves, by the compensation's own Issued-At; records made without an
  Issued-At never expire. What expired is deleted in the background
  (:mod:`checkout.common.pruning`).

A refused request does nothing and records nothing, whatever is recorded under its key.

Why deleting at issued_at + R is safe. A forward request acts only if, on the clock of
the process serving it, now - issued_at <= W: on the orchestrator's clock, at most at
issued_at + W + S. A record is deleted by a process whose clock reads past issued_at +
R: on the orchestrator's clock, after issued_at + R - S = issued_at + W + S. So every
forward request that acts under a key acts while the key's answer is still recorded,
and finds it. The clock is read again after the transaction's last read
(:func:`checkout.common.answers.answer_once`), so a transaction that waited for a lock
is held to the same bound. W > S is required (settings refuse less), or a request could
be refused for its key's age before it could arrive.

A tombstone refuses the forward requests of its order that arrive after a compensation
found nothing to undo. Those are the requests of the compensation's own saga, which
sends one Issued-At with all its keys, so by the same argument they all act before the
tombstone expires at issued_at + R. (Its ``created_at`` is read on another process's
clock than the pruner's; expiring it at created_at + R would leave a margin of S less.)

Compensations (refund, release, cancel) are never refused for their key's age. A
compensation is decided on the order's effects, which the participant keeps for good
(they are its business records), so one judged afresh under a forgotten key finds the
effect undone already and says so, or finds none and answers "nothing to undo",
leaving a tombstone that guards nothing any more: every forward request of its saga is
refused by now. A compensation past its deadline is refused all the same, and the
orchestrator sends it again with a new deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from checkout.common.refusals import key_expired, request_expired

DEFAULT_RETENTION = timedelta(days=7)
DEFAULT_CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class KeyTimes:
    """The times a request carries with its key, in Unix seconds on its sender's clock;
    None where it carries none (such a record never expires, its key never ages)."""

    issued_at: float | None = None
    deadline: float | None = None


UNTIMED = KeyTimes()


def acceptance_window(*, retention: timedelta, skew: timedelta) -> timedelta:
    """How long after its issue a key is accepted for a forward request: R - 2S."""
    return retention - 2 * skew


def check_retention(*, retention: timedelta, skew: timedelta) -> None:
    """Raise ``ValueError`` unless keys are accepted for longer than the clock skew."""
    if skew < timedelta(0):
        raise ValueError(f"the clock skew must not be negative, not {skew}")
    window = acceptance_window(retention=retention, skew=skew)
    if window <= skew:
        raise ValueError(
            f"a key retention of {retention} with a clock skew of {skew} accepts keys for "
            f"{window} (retention - 2 x skew), no longer than the skew: a request could be "
            "refused before it can arrive"
        )


def refuse_if_too_late(
    times: KeyTimes, *, now: float, window: timedelta, skew: timedelta, compensation: bool
) -> None:
    """Raise the 410 refusal of a request that comes too late, at ``now`` (Unix seconds
    on this participant's clock); a compensation is never refused for its key's age."""
    if times.deadline is not None and now > times.deadline + skew.total_seconds():
        raise request_expired(deadline=times.deadline, skew=skew)
    if compensation or times.issued_at is None:
        return
    if now - times.issued_at > window.total_seconds():
        raise key_expired(issued_at=times.issued_at, age=now - times.issued_at, window=window)


def expires_at(times: KeyTimes, *, retention: timedelta) -> datetime | None:
    """When a record made under ``times`` may be forgotten: issued_at + retention."""
    if times.issued_at is None:
        return None
    return datetime.fromtimestamp(times.issued_at, UTC) + retention

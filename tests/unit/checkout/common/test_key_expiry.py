"""When a request comes too late to act, and when a record may be forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checkout.common.answers import KeyRules
from checkout.common.key_expiry import UNTIMED, KeyTimes
from checkout.common.refusals import BusinessError

NOW = 1_765_030_000.0
RULES = KeyRules(
    key_retention=timedelta(hours=1), clock_skew=timedelta(seconds=60), now=lambda: NOW
)
WINDOW = 3600 - 2 * 60


def refusal(times: KeyTimes, *, compensation: bool = False) -> tuple[int, str] | None:
    try:
        RULES.refuse_if_too_late(times, compensation=compensation)
    except BusinessError as refused:
        return refused.status_code, refused.code
    return None


def test_the_acceptance_window_is_the_retention_less_twice_the_skew() -> None:
    assert RULES.acceptance_window == timedelta(seconds=WINDOW)


@pytest.mark.parametrize("compensation", [False, True])
def test_a_request_whose_deadline_passed_more_than_the_skew_ago_is_refused_as_expired(
    compensation: bool,
) -> None:
    late = KeyTimes(issued_at=NOW - 10, deadline=NOW - 60.001)

    assert refusal(late, compensation=compensation) == (410, "request_expired")


def test_a_request_within_the_skew_of_its_deadline_is_served() -> None:
    assert refusal(KeyTimes(issued_at=NOW - 10, deadline=NOW - 60)) is None


def test_a_forward_request_whose_key_is_older_than_the_window_is_refused_as_expired() -> None:
    old = KeyTimes(issued_at=NOW - WINDOW - 0.001, deadline=NOW + 5)

    assert refusal(old) == (410, "key_expired")
    assert refusal(KeyTimes(issued_at=NOW - WINDOW, deadline=NOW + 5)) is None


def test_a_compensation_is_never_refused_for_its_keys_age() -> None:
    ancient = KeyTimes(issued_at=NOW - 365 * 86400, deadline=NOW + 5)

    assert refusal(ancient, compensation=True) is None


def test_a_request_without_times_never_comes_too_late() -> None:
    assert refusal(UNTIMED) is None
    assert refusal(KeyTimes(deadline=NOW + 5)) is None


def test_the_refusal_says_what_happened_and_what_to_do() -> None:
    with pytest.raises(BusinessError) as refused:
        RULES.refuse_if_too_late(KeyTimes(issued_at=NOW - 86400), compensation=False)

    assert "nothing was done" in refused.value.message
    assert "compensate" in refused.value.message


def test_a_record_expires_at_its_keys_issue_plus_the_retention() -> None:
    expires = RULES.expires_at(KeyTimes(issued_at=NOW, deadline=NOW + 5))

    assert expires == datetime.fromtimestamp(NOW, UTC) + timedelta(hours=1)


def test_a_record_made_without_an_issue_time_never_expires() -> None:
    assert RULES.expires_at(KeyTimes(deadline=NOW + 5)) is None


@pytest.mark.parametrize(
    ("retention", "skew"),
    [(timedelta(seconds=180), timedelta(seconds=60)), (timedelta(0), timedelta(0))],
)
def test_rules_that_accept_keys_no_longer_than_the_skew_are_refused(
    retention: timedelta, skew: timedelta
) -> None:
    with pytest.raises(ValueError, match="refused before it can arrive"):
        KeyRules(key_retention=retention, clock_skew=skew)


def test_a_negative_skew_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        KeyRules(clock_skew=timedelta(seconds=-1))

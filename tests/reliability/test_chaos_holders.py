"""The chaos run's rules for card holders: each catches what it names."""

from __future__ import annotations

from checkout.chaos.confirmations import Holder, holder_violations, holders_summary


def order(status: str, code: str | None = None) -> dict[str, object]:
    return {"status": status, "failure": {"code": code} if code else None}


def test_answers_that_agree_with_how_their_orders_ended_break_no_rule() -> None:
    holders = [
        Holder("a", "3ds_confirm", asked=True, answers=[(202, None)]),
        Holder("b", "3ds_twice", asked=True, answers=[(202, None), (202, None)]),
        Holder("c", "3ds_decline", asked=True, answers=[(202, None)]),
        Holder("d", "3ds_late", asked=True, answers=[(409, "confirmation_timed_out")]),
        Holder("e", "3ds_never", asked=True),
        Holder("f", "3ds_confirm", asked=False),
    ]
    orders = {
        "a": order("completed"),
        "b": order("completed"),
        "c": order("cancelled", "payment_declined"),
        "d": order("cancelled", "event_timeout"),
        "e": order("cancelled", "event_timeout"),
        "f": order("cancelled", "insufficient_funds"),
    }

    assert holder_violations(holders, orders) == []
    assert holders_summary(holders) == "5 of 6 asked; answers 202 ×4, 409 confirmation_timed_out ×1"


def test_each_broken_promise_is_named() -> None:
    holders = [
        Holder("late", "3ds_late", asked=True, answers=[(202, None)]),
        Holder(
            "twice", "3ds_twice", asked=True, answers=[(202, None), (409, "challenge_answered")]
        ),
        Holder("declined", "3ds_decline", asked=True, answers=[(202, None)]),
        Holder("confirmed", "3ds_confirm", asked=True, answers=[(202, None)]),
    ]
    orders = {
        "late": order("cancelled", "event_timeout"),
        "twice": order("completed"),
        "declined": order("completed"),
        "confirmed": order("cancelled", "event_timeout"),
    }

    violations = holder_violations(holders, orders)

    assert [v.split(":")[0] for v in violations] == [
        "an answer after confirm_by was taken",
        "the same answer was taken once and refused once",
        "an order its holder did not confirm in time completed",
        "a confirmed order was cancelled for want of it",
    ]

"""The card holders of the chaos run: orders paid by ``card_3ds`` whose holder answers
in time, twice at once, declines, answers after ``confirm_by``, or never, while the
services are killed, paused and restarted; and what each answer must have led to.

The books judge the money (a payment its holder never confirmed took none). These
rules judge what the holders were told: an answer after ``confirm_by`` is refused, the
same answer twice is taken twice or refused twice (never one of each), a declined or
unanswered order ends cancelled, and a confirmed one is not cancelled for want of it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from checkout.chaos.clients import ClientCounts
from checkout.chaos.load import RETRY_SECONDS, Sleep, retry_after

PLANS = {
    "3ds_confirm": ("confirmed",),
    "3ds_decline": ("declined",),
    "3ds_twice": ("confirmed", "confirmed"),
    "3ds_late": ("confirmed",),
    "3ds_never": (),
}
"""What each kind of card holder answers; ``3ds_late`` answers once ``confirm_by`` passed."""
CONFIRMATION_TIMEOUT_SECONDS = 6.0
"""The orders' wait for an answer in a chaos run: short, so late and silent holders
end within the run, long enough that a holder answering at once is in time."""
SETTLED = ("completed", "cancelled", "failed")
LATE_BY_SECONDS = 1.0
ASK_WITHIN_SECONDS = 120.0
"""How long a holder waits for the order to ask (the charge retried through outages)."""


@dataclass
class Holder:
    """One card holder's answers: status codes and refusal codes, in the order sent."""

    order_id: str
    plan: str
    asked: bool = False
    answers: list[tuple[int, str | None]] = field(default_factory=list)

    @property
    def taken(self) -> bool:
        return any(200 <= status < 300 for status, _ in self.answers)


async def answer(
    client: httpx.AsyncClient,
    order: Mapping[str, Any],
    plan: str,
    orchestrators: Callable[[], Sequence[str]],
    *,
    rng: random.Random,
    counts: ClientCounts,
    sleep: Sleep = asyncio.sleep,
) -> Holder:
    """Answer ``order``'s challenge as ``plan`` says, through live orchestrators."""
    holder = Holder(str(order["id"]), plan)
    asking = await _asking(client, order, orchestrators, rng=rng, counts=counts, sleep=sleep)
    if asking is None:
        return holder  # cancelled before it asked (its charge failed for good)
    holder.asked = True
    challenge, confirm_by = asking
    if plan == "3ds_late":
        now = datetime.now(confirm_by.tzinfo).timestamp()
        await sleep(max(confirm_by.timestamp() + LATE_BY_SECONDS - now, 0.0))
    outcomes = PLANS[plan]
    holder.answers = list(
        await asyncio.gather(
            *(
                _post(
                    client, holder.order_id, challenge, outcome, orchestrators, rng, counts, sleep
                )
                for outcome in outcomes
            )
        )
    )
    return holder


async def _asking(
    client: httpx.AsyncClient,
    order: Mapping[str, Any],
    orchestrators: Callable[[], Sequence[str]],
    *,
    rng: random.Random,
    counts: ClientCounts,
    sleep: Sleep,
) -> tuple[str, datetime] | None:
    """The challenge and its ``confirm_by`` once the order asks; None if it never will."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + ASK_WITHIN_SECONDS
    body: Mapping[str, Any] | None = order
    while True:
        if body is not None:
            action = body.get("next_action")
            if action:
                return str(action["challenge_id"]), datetime.fromisoformat(action["confirm_by"])
            if body.get("status") in SETTLED:
                return None
        if loop.time() > give_up:
            raise TimeoutError(f"order {order['id']} neither asked its holder nor settled")
        await sleep(RETRY_SECONDS)
        url = rng.choice(list(orchestrators()))
        try:
            response = await client.get(f"{url}/orders/{order['id']}")
        except httpx.TransportError as error:
            counts.failed(error)
            body = None
            continue
        counts.answered(url, response)
        body = response.json() if response.status_code == 200 else None


async def _post(
    client: httpx.AsyncClient,
    order_id: str,
    challenge: str,
    outcome: str,
    orchestrators: Callable[[], Sequence[str]],
    rng: random.Random,
    counts: ClientCounts,
    sleep: Sleep,
) -> tuple[int, str | None]:
    """Send the answer until an orchestrator decides on it (a 5xx or no answer is tried
    again: the same answer is taken again, or refused again)."""
    while True:
        url = rng.choice(list(orchestrators()))
        wait = RETRY_SECONDS
        try:
            response = await client.post(
                f"{url}/orders/{order_id}/confirmation",
                json={"challenge_id": challenge, "outcome": outcome},
            )
        except httpx.TransportError as error:
            counts.failed(error)
        else:
            counts.answered(url, response)
            if response.status_code < 500:
                detail = response.json().get("detail") if response.status_code >= 400 else None
                code = detail.get("code") if isinstance(detail, dict) else None
                return response.status_code, code
            wait = retry_after(response)
        await sleep(wait)


def holder_violations(holders: Sequence[Holder], orders: Mapping[str, Any]) -> list[str]:
    """What the holders were told against how their orders ended (``orders``: each
    order's final JSON by id)."""
    violations = []
    for holder in holders:
        order = orders.get(holder.order_id) or {}
        status = order.get("status")
        failure = order.get("failure") or {}
        code = failure.get("code") if isinstance(failure, dict) else None
        where = f"order {holder.order_id} ({holder.plan}, {status}, {code}): {holder.answers}"
        if holder.plan == "3ds_late" and holder.taken:
            violations.append(f"an answer after confirm_by was taken: {where}")
        if holder.plan == "3ds_twice" and len({s // 100 for s, _ in holder.answers}) > 1:
            violations.append(f"the same answer was taken once and refused once: {where}")
        if not holder.asked:
            continue
        if holder.plan in ("3ds_decline", "3ds_never", "3ds_late") and status == "completed":
            violations.append(f"an order its holder did not confirm in time completed: {where}")
        unconfirmed = code in ("payment_declined", "event_timeout", "challenge_mismatch")
        if holder.plan in ("3ds_confirm", "3ds_twice") and holder.taken and unconfirmed:
            violations.append(f"a confirmed order was cancelled for want of it: {where}")
    return violations


def holders_summary(holders: Sequence[Holder]) -> str:
    """How many holders were asked, and every answer they got, by status and code."""
    answers = Counter(
        f"{status} {code}" if code else str(status)
        for holder in holders
        for status, code in holder.answers
    )
    asked = sum(holder.asked for holder in holders)
    told = ", ".join(f"{answer} ×{n}" for answer, n in sorted(answers.items()))
    return f"{asked} of {len(holders)} asked; answers {told or 'none'}"

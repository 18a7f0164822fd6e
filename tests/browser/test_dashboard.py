"""The dashboard in headless Chromium against the real order service."""

from __future__ import annotations

import copy
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Checkout

ORDER = {
    "customer_id": "browser",
    "items": [{"product_id": "product1", "name": "Product 1", "price": 10.0, "quantity": 1}],
    "shipping_address": {
        "street": "1 Main St",
        "city": "Town",
        "state": "State",
        "postal_code": "12345",
        "country": "Country",
    },
    "payment_method": "credit_card",
}


def order(*, country: str = "Country") -> dict[str, object]:
    body = copy.deepcopy(ORDER)
    body["customer_id"] = f"browser-{uuid.uuid4().hex[:8]}"
    body["shipping_address"]["country"] = country  # type: ignore[index]
    return body


def sign_in(page: Page, checkout: Checkout, path: str = "/dashboard") -> None:
    page.goto(checkout.urls["orders"] + path)
    page.fill("#token", checkout.admin_token)
    page.click("#login button[type=submit]")
    expect(page.locator("#signed-in")).to_be_visible()


def bars(page: Page, direction: str) -> list[str]:
    selector = f"#timeline .bar[data-direction={direction}]"
    return [
        f"{b.get_attribute('data-step')}:{b.get_attribute('data-status')}"
        for b in page.locator(selector).all()
    ]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_the_dashboard_loads_and_counts_sagas_by_status(page: Page, checkout: Checkout) -> None:
    saga_id = checkout.place(order())
    checkout.wait_for(saga_id, "completed")

    sign_in(page, checkout)

    expect(page.locator('#counts [data-status="completed"] .number')).not_to_have_text("–")
    expect(page.locator(f'#sagas tr[data-saga-id="{saga_id}"]')).to_contain_text("completed")


def test_a_completed_order_shows_three_forward_bars(page: Page, checkout: Checkout) -> None:
    saga_id = checkout.place(order())
    checkout.wait_for(saga_id, "completed")

    sign_in(page, checkout, f"/dashboard/sagas/{saga_id}")

    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#timeline .bar")).to_have_count(3)
    assert bars(page, "forward") == [
        "payment:succeeded",
        "inventory:succeeded",
        "shipping:succeeded",
    ]
    assert bars(page, "compensate") == []


def test_a_cancelled_order_shows_its_compensations_in_reverse(
    page: Page, checkout: Checkout
) -> None:
    saga_id = checkout.place(order(country="XX"))
    checkout.wait_for(saga_id, "compensated")

    sign_in(page, checkout, f"/dashboard/sagas/{saga_id}")

    expect(page.locator("#status")).to_have_text("compensated")
    expect(page.locator("#timeline .bar")).to_have_count(5)
    assert bars(page, "forward")[-1] == "shipping:rejected"
    assert bars(page, "compensate") == ["inventory:succeeded", "payment:succeeded"]
    rows = page.locator("#timeline .row").evaluate_all("rows => rows.map(r => r.dataset.label)")
    assert rows == ["payment", "inventory", "shipping", "undo inventory", "undo payment"]
    screenshot(page, "timeline-cancelled.png")


def failed_saga(checkout: Checkout) -> str:
    """Shipping answers 500 until its retries and then its compensation's run out."""
    checkout.set_shipping_faults(error_rate=1.0)
    try:
        saga_id = checkout.place(order())
        checkout.wait_for(saga_id, "failed")
    finally:
        checkout.set_shipping_faults(error_rate=0.0)
    return saga_id


def test_an_admin_retry_of_a_failed_saga_brings_it_to_compensated(
    page: Page, checkout: Checkout
) -> None:
    saga_id = failed_saga(checkout)
    sign_in(page, checkout, f"/dashboard/sagas/{saga_id}")
    expect(page.locator("#status")).to_have_text("failed")
    expect(page.locator("#timeline .bar.status-failed").first).to_be_visible()
    screenshot(page, "timeline-failed.png")

    page.click("#retry")

    expect(page.locator("#status")).to_have_text("compensated", timeout=20_000)
    expect(page.locator("#events li")).to_contain_text("retry by dashboard")
    assert bars(page, "compensate")[-1] == "payment:succeeded"
    screenshot(page, "timeline-retried.png")

"""The dashboard's public shells hold no data; the timeline picture needs the token."""

from __future__ import annotations

from tests.integration.checkout.admin.conftest import Orders
from tests.integration.checkout.conftest import ADMIN


async def test_the_dashboard_shell_and_its_script_load_without_a_token(orders: Orders) -> None:
    saga_id = await orders.place()
    await orders.settled(saga_id)

    page = await orders.client.get("/dashboard")
    script = await orders.client.get("/dashboard/static/dashboard.js")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert saga_id not in page.text and "cust-1" not in page.text
    assert script.status_code == 200 and "sessionStorage" in script.text


async def test_the_timeline_picture_has_a_bar_per_attempt(orders: Orders) -> None:
    saga_id = await orders.place()
    await orders.settled(saga_id)

    picture = await orders.client.get(f"/admin/sagas/{saga_id}/timeline.svg", headers=ADMIN)

    assert picture.status_code == 200
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert picture.text.count('class="bar status-succeeded"') == 3

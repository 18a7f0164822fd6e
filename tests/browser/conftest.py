"""The four services as real processes, and Debian's Chromium driven by Playwright.

Shipping runs with fault injection, so a test can make its calls fail and a saga's
compensation give up; the order service gives up after two attempts per compensation
so that happens in seconds. Without ``/usr/bin/chromium`` the browser tests skip on a
developer's machine but fail in CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from checkout.migrations import DATABASES, upgrade_all
from checkout.processes import SERVICES, System, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@dataclass(frozen=True)
class Checkout:
    urls: dict[str, str]
    admin_token: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def set_shipping_faults(self, *, error_rate: float) -> None:
        response = httpx.put(
            self.urls["shipping"] + "/admin/faults",
            json={"error_rate": error_rate},
            headers=self.admin,
        )
        response.raise_for_status()

    def place(self, body: dict[str, object]) -> str:
        response = httpx.post(self.urls["orders"] + "/orders", json=body, timeout=30)
        assert response.status_code == 201, response.text
        order_id: str = response.json()["id"]
        return order_id

    def wait_for(self, saga_id: str, status: str, *, seconds: float = 30) -> None:
        response = httpx.get(
            f"{self.urls['orders']}/orders/{saga_id}",
            headers={"Prefer": f"wait={int(seconds)}"},
            timeout=seconds + 5,
        )
        assert response.json()["saga"]["status"] == status, response.text


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    directory = tmp_path_factory.mktemp("browser")
    urls = {name: f"sqlite+aiosqlite:///{directory / name}.db" for name in DATABASES}
    # Playwright's sync API may already run an event loop in this thread.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(upgrade_all, urls).result()
    tokens = {"SERVICE_TOKEN": secrets.token_urlsafe(24), "ADMIN_TOKEN": secrets.token_urlsafe(24)}
    env = {
        **tokens,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        "CHECKOUT_DATA_DIR": str(directory),
    }
    system = System(
        env=env,
        ports={service.name: free_port() for service in SERVICES},
        log_dir=directory / "logs",
        process_env={
            "shipping": {"FAULTS_ENABLED": "1"},
            "orders": {"ORDERS_COMPENSATION_MAX_ATTEMPTS": "2", "ORDERS_FORWARD_MAX_ATTEMPTS": "3"},
        },
    )
    system.start()
    try:
        system.wait_healthy(timeout=30)
        yield Checkout(
            urls={s.name: system.url(s.name) for s in SERVICES},
            admin_token=tokens["ADMIN_TOKEN"],
        )
    finally:
        system.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread
    while it lives, which would break the async tests that run after these."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()

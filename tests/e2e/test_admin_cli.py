"""``checkout sagas show`` against the running system, naming a saga by a short id."""

from __future__ import annotations

from typer.testing import CliRunner

from checkout.cli import app
from tests.e2e.api import CheckoutApi, order_body, unique


def sagas(api: CheckoutApi, *args: str) -> tuple[int, str]:
    # On the test's own thread: the CLI installs signal handlers, which only the main
    # thread may. It blocks the loop meanwhile, but the services are other processes.
    url, token = api.running.urls["orders"], api.running.admin_token
    result = CliRunner().invoke(
        app, ["sagas", *args, "--url", url, "--token", token], terminal_width=200
    )
    return result.exit_code, result.output


async def test_show_finds_a_placed_order_by_the_start_of_its_id(api: CheckoutApi) -> None:
    order = await api.place(order_body(customer_id=unique("cust")))

    code, output = sagas(api, "show", order["id"][:13])

    assert code == 0, output
    assert order["id"] in output
    assert "completed" in output


async def test_show_says_when_no_saga_starts_with_the_prefix(api: CheckoutApi) -> None:
    order = await api.place(order_body(customer_id=unique("cust")))
    absent = "ffffffff-fff" if not order["id"].startswith("ffffffff-fff") else "00000000-000"

    code, output = sagas(api, "show", absent)

    assert code == 1
    assert f"No saga's id starts with {absent}." in output

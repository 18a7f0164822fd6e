"""``checkout sagas …``: the admin API from a terminal, rendered with rich tables.

The commands talk HTTP to a running order service, so they work the same against a
laptop or production. The admin token comes from ``--token``, else ``ADMIN_TOKEN``,
else the ``data/tokens.env`` that ``checkout run`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

sagas_app = typer.Typer(help="List, inspect, retry and abort sagas (the admin API).")
console = Console()

UrlOption = Annotated[str, typer.Option("--url", envvar="ORDERS_URL", help="The order service.")]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help="Admin token (default: $ADMIN_TOKEN or data/tokens.env)."),
]
DEFAULT_URL = "http://127.0.0.1:8000"


def admin_token(given: str | None) -> str:
    if given:
        return given
    if from_env := os.environ.get("ADMIN_TOKEN"):
        return from_env
    tokens = Path(os.environ.get("CHECKOUT_DATA_DIR", "data")) / "tokens.env"
    if tokens.is_file():
        for line in tokens.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "ADMIN_TOKEN" and value.strip():
                return value.strip()
    raise typer.BadParameter(
        f"no admin token: pass --token, set ADMIN_TOKEN, or run `checkout run` to write {tokens}"
    )


def call(method: str, url: str, token: str | None, path: str, **options: Any) -> Any:
    headers = {"Authorization": f"Bearer {admin_token(token)}", "X-Actor": _actor()}
    try:
        response = httpx.request(method, url.rstrip("/") + path, headers=headers, **options)
    except httpx.HTTPError as error:
        console.print(f"[red]Cannot reach the order service at {url}: {error}[/red]")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        detail = _detail(response)
        console.print(f"[red]{response.status_code}: {detail}[/red]")
        raise typer.Exit(1)
    return response.json()


@sagas_app.command("list")
def list_sagas(
    status: Annotated[str | None, typer.Option(help="running, compensating, failed…")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's orders.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many to show.")] = 20,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """The newest sagas, with their status and why any stopped."""
    params = {"limit": limit, "status": status, "customer_id": customer}
    page = call("GET", url, token, "/admin/sagas", params={k: v for k, v in params.items() if v})
    table = Table(title=f"{len(page['items'])} of {page['total']} sagas")
    for column in ("id", "status", "customer", "step", "failure", "created"):
        table.add_column(column)
    for saga in page["items"]:
        failure = saga["compensation_failure"] or saga["failure"]
        table.add_row(
            saga["id"],
            _status(saga["status"]),
            saga["customer_id"] or "",
            saga["step"] or "",
            f"{failure['step']}: {failure['code']}" if failure else "",
            saga["created_at"][:19],
        )
    console.print(table)


@sagas_app.command()
def show(
    saga_id: Annotated[str, typer.Argument(help="The saga's id (the order's id).")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """One saga's timeline: every attempt of every step, and who retried or aborted it."""
    _print_detail(call("GET", url, token, f"/admin/sagas/{saga_id}"))


@sagas_app.command()
def retry(
    saga_id: Annotated[str, typer.Argument(help="A failed saga's id.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Resume a failed saga's compensations (they run on in the order service)."""
    detail = call("POST", url, token, f"/admin/sagas/{saga_id}/retry")
    console.print(f"Retry requested: saga {saga_id} is now {_status(detail['status'])}")


@sagas_app.command()
def abort(
    saga_id: Annotated[str, typer.Argument(help="A running saga's id.")],
    reason: Annotated[str, typer.Option(help="Recorded in the saga's history.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Stop a running saga and compensate what it started."""
    detail = call("POST", url, token, f"/admin/sagas/{saga_id}/abort", json={"reason": reason})
    console.print(f"Abort requested: saga {saga_id} is now {_status(detail['status'])}")


def _print_detail(saga: dict[str, Any]) -> None:
    console.print(f"[bold]{saga['name']} v{saga['version']}[/bold] {saga['id']}")
    console.print(f"status {_status(saga['status'])}, customer {saga['customer_id']}")
    for label, key in (("stopped", "failure"), ("gave up", "compensation_failure")):
        if failure := saga[key]:
            console.print(f"{label} at {failure['step']}: {failure['code']} — {failure['error']}")
    table = Table(title="attempts")
    for column in ("step", "direction", "#", "status", "started", "ms", "error", "key"):
        table.add_column(column)
    for a in saga["attempts"]:
        took = "" if a["duration_seconds"] is None else f"{a['duration_seconds'] * 1000:.0f}"
        table.add_row(
            a["step"],
            a["direction"],
            str(a["attempt"]),
            _status(a["status"]),
            a["started_at"][11:23],
            took,
            a["error"] or "",
            a["idempotency_key"],
        )
    console.print(table)
    for event in saga["events"]:
        detail = f" ({event['detail']})" if event["detail"] else ""
        console.print(f"{event['at'][:19]} {event['kind']} by {event['actor']}{detail}")


_COLOURS = {"completed": "green", "succeeded": "green", "compensated": "yellow", "failed": "red"}


def _status(status: str) -> str:
    colour = _COLOURS.get(status, "cyan")
    return f"[{colour}]{status}[/{colour}]"


def _actor() -> str:
    return os.environ.get("CHECKOUT_ACTOR") or os.environ.get("USER") or "cli"


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:200]
    if isinstance(detail, dict):
        return str(detail.get("message", detail))
    return str(detail)

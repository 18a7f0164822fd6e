"""``checkout sagas …``: the admin API from a terminal, rendered with rich tables.

The commands talk HTTP to a running order service, so they work the same against a
laptop or production. The admin token comes from ``--token``, else ``ADMIN_TOKEN``,
else the ``tokens.env`` that ``checkout run`` keeps (found as
:mod:`checkout.admin.token_lookup` says). A saga is named by its id or by a prefix of
it that no other saga's id shares, as git names a commit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from checkout.admin.token_lookup import (
    FoundToken,
    NoAdminToken,
    find_admin_token,
    installed_project_root,
    token_file_candidates,
)
from checkout.durations import parse_duration

sagas_app = typer.Typer(help="List, inspect, retry, abort and prune sagas (the admin API).")
console = Console()

UrlOption = Annotated[str, typer.Option("--url", envvar="ORDERS_URL", help="The order service.")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Admin token (default: $ADMIN_TOKEN, else the tokens.env run_services.py keeps).",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 10.0
SHOWN_MATCHES = 10
"""Sagas listed when a prefix names several."""
_PREFIX = re.compile(r"[0-9a-fA-F-]{1,35}")
"""Shorter than a whole UUID (36 characters) and made of its characters."""


def admin_token(given: str | None) -> str | FoundToken:
    """The token to send: ``given``, else ``$ADMIN_TOKEN``, else one from a token file
    (returned with the file, so a refusal can say which file held a stale one)."""
    if given:
        return given
    if from_env := os.environ.get("ADMIN_TOKEN"):
        return from_env
    candidates = token_file_candidates(
        cwd=Path.cwd(), environ=os.environ, project_root=installed_project_root()
    )
    try:
        return find_admin_token(candidates)
    except NoAdminToken as missing:
        # soft_wrap: paths stay whole on their lines, to be copied.
        console.print(f"[red]{missing}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def call(method: str, url: str, token: str | None, path: str, **options: Any) -> Any:
    found = admin_token(token)
    secret = found.token if isinstance(found, FoundToken) else found
    headers = {"Authorization": f"Bearer {secret}", "X-Actor": _actor()}
    try:
        response = httpx.request(
            method, url.rstrip("/") + path, headers=headers, timeout=TIMEOUT_SECONDS, **options
        )
    except httpx.HTTPError as error:
        console.print(f"[red]Cannot reach the order service at {url}: {error}[/red]")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        detail = _detail(response)
        console.print(f"[red]{response.status_code}: {detail}[/red]", highlight=False)
        if response.status_code == 401 and isinstance(found, FoundToken):
            console.print(
                f"The admin token was read from {found.path}: the order service runs with "
                "another ADMIN_TOKEN. Pass --token or set ADMIN_TOKEN to the one it uses.",
                highlight=False,
                soft_wrap=True,
            )
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
    params = {"limit": limit, "status": status, "subject": customer}
    page = call("GET", url, token, "/admin/sagas", params={k: v for k, v in params.items() if v})
    table = Table(title=f"{len(page['items'])} of {page['total']} sagas")
    # An id is for pasting into `show`: never ellipsised, only folded, and only when
    # the terminal is too narrow for it whole.
    longest = max((len(saga["id"]) for saga in page["items"]), default=2)
    table.add_column("id", no_wrap=True, overflow="fold", min_width=longest)
    for column in ("status", "customer", "step", "failure", "created"):
        table.add_column(column)
    for saga in page["items"]:
        failure = saga["compensation_failure"] or saga["failure"]
        table.add_row(
            saga["id"],
            _status(saga["status"]),
            saga["subject"] or "",
            saga["step"] or "",
            f"{failure['step']}: {failure['code']}" if failure else "",
            saga["created_at"][:19],
        )
    console.print(table)


@sagas_app.command()
def show(
    saga_id: Annotated[
        str, typer.Argument(help="The saga's id (the order's id), or a prefix only it has.")
    ],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """One saga's timeline: every attempt of every step, and who retried or aborted it."""
    full_id = resolve(url, token, saga_id)
    _print_detail(call("GET", url, token, f"/admin/sagas/{full_id}"))


@sagas_app.command()
def retry(
    saga_id: Annotated[str, typer.Argument(help="A failed saga's id, or a prefix only it has.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Resume a failed saga's compensations (they run on in the order service)."""
    full_id = resolve(url, token, saga_id)
    detail = call("POST", url, token, f"/admin/sagas/{full_id}/retry")
    console.print(f"Retry requested: saga {full_id} is now {_status(detail['status'])}")


@sagas_app.command()
def abort(
    saga_id: Annotated[str, typer.Argument(help="A running saga's id, or a prefix only it has.")],
    reason: Annotated[str, typer.Option(help="Recorded in the saga's history.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Stop a running saga and compensate what it started."""
    full_id = resolve(url, token, saga_id)
    detail = call("POST", url, token, f"/admin/sagas/{full_id}/abort", json={"reason": reason})
    console.print(f"Abort requested: saga {full_id} is now {_status(detail['status'])}")


@sagas_app.command()
def prune(
    older_than: Annotated[
        str | None,
        typer.Option(help="Finished sagas that finished longer ago than this go: 30d, 12h."),
    ] = None,
    keep_last: Annotated[
        int | None,
        typer.Option(min=0, help="Or: all but this many most recently finished go."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only say how many would go.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Delete the history of finished sagas (completed or cancelled orders keep their
    status); running, waiting and failed sagas are never deleted."""
    if older_than is None and keep_last is None:
        console.print("[red]Say what may go: --older-than 30d, --keep-last N, or both.[/red]")
        raise typer.Exit(2)
    body: dict[str, Any] = {"keep_last": keep_last, "dry_run": dry_run}
    if older_than is not None:
        try:
            body["older_than_seconds"] = parse_duration(older_than).total_seconds()
        except ValueError as wrong:
            console.print(f"[red]--older-than: {wrong}[/red]", highlight=False)
            raise typer.Exit(2) from None
    if dry_run:
        answer = call("POST", url, token, "/admin/sagas/prune", json=body)
        console.print(f"{answer['sagas']} finished sagas would be pruned (dry run).")
        return
    sagas = rows = 0
    with console.status("pruning…") as status:
        while True:  # one call per batch of up to 10,000 sagas, so each answers quickly
            answer = call("POST", url, token, "/admin/sagas/prune", json=body)
            sagas, rows = sagas + answer["sagas"], rows + answer["rows"]
            status.update(f"pruning… {sagas} sagas so far")
            if not answer["more"] or not answer["sagas"]:
                break
    console.print(f"Pruned {sagas} finished sagas ({rows} rows).")


def resolve(url: str, token: str | None, saga_id: str) -> str:
    """The whole id of the one saga whose id starts with ``saga_id``; a whole id (or
    what cannot start one) as it is, for the service to find or not."""
    if not _PREFIX.fullmatch(saga_id):
        return saga_id
    params = {"id_prefix": saga_id, "limit": SHOWN_MATCHES}
    page = call("GET", url, token, "/admin/sagas", params=params)
    matches, total = page["items"], page["total"]
    if total == 1:
        whole: str = matches[0]["id"]
        return whole
    if total == 0:
        console.print(f"[red]No saga's id starts with {saga_id}.[/red]", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"[red]{saga_id} starts {total} sagas' ids; give more of the one you mean:[/red]",
        highlight=False,
    )
    for saga in matches:
        console.print(f"  {saga['id']}  {_status(saga['status'])}  {saga['created_at'][:19]}")
    if total > len(matches):
        console.print(f"  … and {total - len(matches)} more")
    raise typer.Exit(1)


def _print_detail(saga: dict[str, Any]) -> None:
    console.print(f"[bold]{saga['name']} v{saga['version']}[/bold] {saga['id']}")
    console.print(f"status {_status(saga['status'])}, customer {saga['subject']}")
    if saga.get("waiting_for"):
        until = saga["waiting_until"][:19] if saga["waiting_until"] else "?"
        console.print(f"{saga['step']} waits for the event {saga['waiting_for']} until {until}")
    elif saga.get("waiting_until"):
        console.print(f"{saga['step']} is retried at {saga['waiting_until'][:19]}")
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
    if isinstance(detail, list):  # a 422's fields, each named by its place in the request
        return "; ".join(f"{_field(error.get('loc'))}: {error.get('msg')}" for error in detail)
    return str(detail)


def _field(location: Any) -> str:
    # ["query", "id_prefix"] is the field id_prefix; the request part says little.
    parts = [str(part) for part in location or ()]
    return ".".join(parts[1:] or parts)

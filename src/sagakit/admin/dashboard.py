"""The dashboard's pages: public shells whose script reads the admin API.

The pages hold no data: their script reads everything from ``/admin`` with the token
the operator types in (kept in the tab's ``sessionStorage``), so the dashboard shows
nothing the admin API would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent
STATIC = HERE / "static"

templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True, kw_only=True)
class DashboardLook:
    """What the pages call the application, and whom a saga is for (its ``Subject``'s
    label; without one, the pages show no such column)."""

    title: str = "sagakit"
    subject_label: str | None = None


def dashboard_router(look: DashboardLook) -> APIRouter:
    pages = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
    context = {"title": look.title, "subject_label": look.subject_label}

    @pages.get("", response_class=HTMLResponse)
    async def dashboard(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {**context, "page": "index"})

    @pages.get("/sagas/{saga_id}", response_class=HTMLResponse)
    async def saga_page(request: Request, saga_id: str) -> HTMLResponse:
        page = {**context, "page": "saga", "saga_id": saga_id}
        return templates.TemplateResponse(request, "saga.html", page)

    return pages

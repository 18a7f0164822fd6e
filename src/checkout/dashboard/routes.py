"""The dashboard's pages (public shells) and the timeline picture (admin token)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from checkout.admin.routes import ADMIN, SAGA, AdminDep, not_found
from checkout.common.routing import AdminRoute
from checkout.dashboard.timeline import layout_timeline
from sagakit import SagaNotFound

SVG = "image/svg+xml"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

pages = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
pictures = APIRouter(prefix="/admin", tags=["admin"], route_class=AdminRoute, responses=ADMIN)


@pages.get("", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"page": "index"})


@pages.get("/sagas/{saga_id}", response_class=HTMLResponse)
async def saga_page(request: Request, saga_id: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "saga.html", {"page": "saga", "saga_id": saga_id})


@pictures.get(
    "/sagas/{saga_id}/timeline.svg",
    # A plain Response has no media type of its own, so the JSON errors below are
    # documented as JSON; the picture's type is given here.
    response_class=Response,
    responses={200: {"content": {SVG: {"schema": {"type": "string"}}}}, **SAGA},
)
async def timeline_picture(saga_id: str, admin: AdminDep) -> Response:
    """The saga's attempts drawn on a time axis, as SVG."""
    try:
        detail = await admin.show(saga_id)
    except SagaNotFound:
        raise not_found(saga_id) from None
    timeline = layout_timeline(detail, now=datetime.now(UTC))
    svg = templates.get_template("timeline.svg.html").render(t=timeline, saga_id=saga_id)
    return Response(svg, media_type=SVG, headers={"Cache-Control": "no-store"})

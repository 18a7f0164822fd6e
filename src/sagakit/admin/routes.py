"""``/admin``: list sagas, read one's timeline, retry or abort it.

The routes are built by :func:`admin_router` around the application's own route class,
which checks the operator's credentials before the body or the query is parsed, so an
anonymous caller learns nothing, not even which parameters are valid. The service they
call is the application's ``app.state.saga_admin``, set once its store is open.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from sagakit.admin.schemas import (
    AbortRequest,
    PruneOut,
    PruneRequest,
    SagaDetail,
    SagaFilters,
    SagaPage,
    StatusCounts,
)
from sagakit.admin.service import SagaAdmin, SubjectUnknown
from sagakit.admin.timeline import layout_timeline, render_timeline
from sagakit.errors import InvalidTransition, SagaNotFound

Responses = dict[int | str, dict[str, Any]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

SVG = "image/svg+xml"
DEFAULT_ACTOR = "admin"


class RefusalDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class Refusal(BaseModel):
    """``{"detail": {"code": ..., "message": ...}}``: what the admin refuses, and why."""

    detail: RefusalDetail


def refusals(*statuses: int) -> Responses:
    return {
        status: {"model": Refusal, "description": "Refused; see detail.code"} for status in statuses
    }


def refused(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def not_found(saga_id: str) -> HTTPException:
    return refused(404, "saga_not_found", f"No saga has id {saga_id}.")


async def get_admin(request: Request) -> SagaAdmin:
    admin: SagaAdmin = request.app.state.saga_admin
    return admin


AdminDep = Annotated[SagaAdmin, Depends(get_admin)]
ActorHeader = Annotated[str | None, Header(alias="X-Actor", min_length=1, max_length=100)]


def admin_router(
    *,
    route_class: type[APIRoute],
    responses: Responses | None = None,
    body_responses: Responses | None = None,
) -> APIRouter:
    """The admin API under ``/admin``.

    ``route_class`` checks the caller (see :func:`sagakit.admin.bearer_token`): the
    routes never run open. ``responses`` documents what every route can answer besides
    its own (the 401 of the route class, a 503 of the application's); ``body_responses``
    what a route with a body can (a 413 of a size limit, say).
    """
    common = responses or {}
    saga = {**common, **refusals(404)}
    router = APIRouter(prefix="/admin", tags=["admin"], route_class=route_class, responses=common)

    @router.get("/sagas", response_model=SagaPage)
    async def list_sagas(filters: Annotated[SagaFilters, Query()], admin: AdminDep) -> SagaPage:
        try:
            return await admin.list_sagas(filters)
        except SubjectUnknown as unknown:
            # As any invalid parameter: a 422 naming the field.
            error = {"type": "value_error", "loc": ("query", "subject"), "msg": str(unknown)}
            raise RequestValidationError([error]) from None

    @router.get("/counts", response_model=StatusCounts)
    async def count_sagas(admin: AdminDep) -> StatusCounts:
        """How many sagas are in each status: what the dashboard polls."""
        return await admin.counts()

    @router.get("/sagas/{saga_id}", response_model=SagaDetail, responses=saga)
    async def show_saga(saga_id: str, admin: AdminDep) -> SagaDetail:
        try:
            return await admin.show(saga_id)
        except SagaNotFound:
            raise not_found(saga_id) from None

    @router.get(
        "/sagas/{saga_id}/timeline.svg",
        # A plain Response has no media type of its own, so the JSON errors are
        # documented as JSON; the picture's type is given here.
        response_class=Response,
        responses={200: {"content": {SVG: {"schema": {"type": "string"}}}}, **saga},
    )
    async def timeline_picture(saga_id: str, admin: AdminDep) -> Response:
        """The saga's attempts drawn on a time axis, as SVG."""
        try:
            detail = await admin.show(saga_id)
        except SagaNotFound:
            raise not_found(saga_id) from None
        svg = render_timeline(layout_timeline(detail, now=datetime.now(UTC)), saga_id=saga_id)
        return Response(svg, media_type=SVG, headers={"Cache-Control": "no-store"})

    @router.post(
        "/sagas/{saga_id}/retry", response_model=SagaDetail, responses={**saga, **refusals(409)}
    )
    async def retry_saga(saga_id: str, admin: AdminDep, actor: ActorHeader = None) -> SagaDetail:
        """Resume a ``failed`` saga's compensations; answers at once, the saga runs on."""
        try:
            return await admin.retry(saga_id, actor=actor or DEFAULT_ACTOR)
        except SagaNotFound:
            raise not_found(saga_id) from None
        except InvalidTransition as invalid:
            raise refused(409, "invalid_transition", str(invalid)) from None

    @router.post(
        "/sagas/{saga_id}/abort",
        response_model=SagaDetail,
        responses={**saga, **(body_responses or {}), **refusals(409)},
    )
    async def abort_saga(
        saga_id: str,
        admin: AdminDep,
        body: Annotated[AbortRequest | None, Body()] = None,
        actor: ActorHeader = None,
    ) -> SagaDetail:
        """Stop a ``running`` saga and compensate what it started; answers at once."""
        reason = (body or AbortRequest()).reason
        try:
            return await admin.abort(saga_id, actor=actor or DEFAULT_ACTOR, reason=reason)
        except SagaNotFound:
            raise not_found(saga_id) from None
        except InvalidTransition as invalid:
            raise refused(409, "invalid_transition", str(invalid)) from None

    @router.post("/sagas/prune", response_model=PruneOut, responses=body_responses or {})
    async def prune_sagas(body: PruneRequest, admin: AdminDep) -> PruneOut:
        """Delete the history of finished sagas (completed or compensated) that finished
        longer ago than ``older_than_seconds``, or all but the ``keep_last`` most recent;
        never a running, waiting, compensating or failed one. ``dry_run`` only counts."""
        return await admin.prune(body)

    return router

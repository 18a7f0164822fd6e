"""``/admin``: list sagas, read one's timeline, retry or abort it. Admin token only.

The token is checked by :class:`AdminRoute` before the body or the query is parsed,
so an anonymous caller learns nothing, not even which parameters are valid.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request

from checkout.admin.schemas import AbortRequest, SagaDetail, SagaFilters, SagaPage, StatusCounts
from checkout.admin.service import AdminService
from checkout.common.outages import UNAVAILABLE
from checkout.common.refusals import BusinessError
from checkout.common.responses import BODY, QUERY, UNAUTHORIZED, Responses, refusals
from checkout.common.routing import AdminRoute
from sagakit import InvalidTransition, SagaNotFound

ADMIN: Responses = {**UNAUTHORIZED, **UNAVAILABLE}
"""What every admin route can answer: the token is checked first, the database read."""
SAGA: Responses = {**ADMIN, **refusals(404)}
"""And a route naming a saga by its id."""

router = APIRouter(prefix="/admin", tags=["admin"], route_class=AdminRoute, responses=ADMIN)

DEFAULT_ACTOR = "admin"


async def get_admin(request: Request) -> AdminService:
    admin: AdminService = request.app.state.admin
    return admin


AdminDep = Annotated[AdminService, Depends(get_admin)]
ActorHeader = Annotated[str | None, Header(alias="X-Actor", min_length=1, max_length=100)]


@router.get("/sagas", response_model=SagaPage, responses=QUERY)
async def list_sagas(filters: Annotated[SagaFilters, Query()], admin: AdminDep) -> SagaPage:
    return await admin.list_sagas(filters)


@router.get("/counts", response_model=StatusCounts)
async def count_sagas(admin: AdminDep) -> StatusCounts:
    """How many sagas are in each status: what the dashboard polls."""
    return await admin.counts()


@router.get("/sagas/{saga_id}", response_model=SagaDetail, responses=SAGA)
async def show_saga(saga_id: str, admin: AdminDep) -> SagaDetail:
    try:
        return await admin.show(saga_id)
    except SagaNotFound:
        raise not_found(saga_id) from None


@router.post(
    "/sagas/{saga_id}/retry",
    response_model=SagaDetail,
    responses={**SAGA, **QUERY, **refusals(409)},
)
async def retry_saga(saga_id: str, admin: AdminDep, actor: ActorHeader = None) -> SagaDetail:
    """Resume a ``failed`` saga's compensations; answers at once, the saga runs on."""
    try:
        return await admin.retry(saga_id, actor=actor or DEFAULT_ACTOR)
    except SagaNotFound:
        raise not_found(saga_id) from None
    except InvalidTransition as refused:
        raise BusinessError(409, "invalid_transition", str(refused)) from None


@router.post(
    "/sagas/{saga_id}/abort", response_model=SagaDetail, responses={**SAGA, **BODY, **refusals(409)}
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
    except InvalidTransition as refused:
        raise BusinessError(409, "invalid_transition", str(refused)) from None


def not_found(saga_id: str) -> BusinessError:
    return BusinessError(404, "saga_not_found", f"No saga has id {saga_id}.")

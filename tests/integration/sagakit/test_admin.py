"""``sagakit.admin`` on an application of its own: the token, the lists, a subject the
application names, the timeline picture and the dashboard's pages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Column, MetaData, String, Table, select

from sagakit import (
    JSON,
    Await,
    Parallel,
    RetryPolicy,
    Rows,
    Saga,
    SagaEngine,
    SagaState,
    SqlSagaStore,
    Step,
    StepContext,
)
from sagakit.admin import DashboardLook, SagaAdmin, Subject, bearer_token, install_admin
from sagakit.errors import StepRejected

TOKEN = "operator-secret"
STEP_TIMEOUT = timedelta(seconds=1)
"""Within the ``sql_store`` fixture's lease."""

owners_metadata = MetaData()
owners = Table(
    "owners",
    owners_metadata,
    Column("saga_id", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
)


async def reserve(context: StepContext) -> JSON:
    return {"reserved": True}


async def release(context: StepContext) -> JSON:
    return None


async def confirm(context: StepContext) -> JSON:
    if context.input["refuse"]:
        raise StepRejected("refused by the test", code="refused")
    return {"confirmed": True}


SAGA = Saga(
    name="booking",
    version=1,
    steps=(
        Step("reserve", reserve, compensation=release, timeout=STEP_TIMEOUT),
        Step("confirm", confirm, timeout=STEP_TIMEOUT),
    ),
)


def owner_of(state: SagaState) -> str | None:
    owner = state.input.get("owner")
    return owner if isinstance(owner, str) else None


OWNER = Subject(
    label="Owner",
    of=owner_of,
    sagas_of=lambda owner: select(owners.c.saga_id).where(owners.c.owner == owner),
)


@dataclass
class Operators:
    client: httpx.AsyncClient
    engine: SagaEngine
    ids: dict[str, str]


@pytest.fixture
async def operators(sql_store: SqlSagaStore) -> AsyncIterator[Operators]:
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(owners_metadata.create_all)
    engine = SagaEngine(store=sql_store, sagas=[SAGA])
    ids = {}
    for owner, refuse in (("ada", False), ("ada", True), ("grace", False)):
        saga_id = str(uuid.uuid4())
        handle = await engine.start(
            SAGA,
            input={"owner": owner, "refuse": refuse},
            saga_id=saga_id,
            alongside=[Rows(owners, [{"saga_id": saga_id, "owner": owner}])],
        )
        await handle.result()
        ids[f"{owner}-{'refused' if refuse else 'ok'}"] = saga_id
    app = FastAPI()
    install_admin(app, route_class=bearer_token(TOKEN), look=DashboardLook(subject_label="Owner"))
    app.state.saga_admin = SagaAdmin(history=sql_store, engine=engine, subject=OWNER)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        yield Operators(client, engine, ids)
    await engine.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
async def test_every_admin_route_refuses_a_caller_without_the_token(
    operators: Operators, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    saga_id = operators.ids["ada-ok"]

    for method, path in [
        ("GET", "/admin/sagas?limit=not-a-number"),
        ("GET", "/admin/counts"),
        ("GET", f"/admin/sagas/{saga_id}"),
        ("GET", f"/admin/sagas/{saga_id}/timeline.svg"),
        ("POST", f"/admin/sagas/{saga_id}/retry"),
        ("POST", f"/admin/sagas/{saga_id}/abort"),
    ]:
        response = await operators.client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)


def test_an_empty_token_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="never runs open"):
        bearer_token("")


async def test_sagas_are_listed_counted_and_filtered_by_subject(operators: Operators) -> None:
    counts = (await operators.client.get("/admin/counts", headers=AUTH)).json()
    ada = (await operators.client.get("/admin/sagas?subject=ada", headers=AUTH)).json()
    nobody = (await operators.client.get("/admin/sagas?subject=nobody", headers=AUTH)).json()

    assert counts["counts"] == {"completed": 2, "compensated": 1}
    assert {saga["id"] for saga in ada["items"]} == {
        operators.ids["ada-ok"],
        operators.ids["ada-refused"],
    }
    assert {saga["subject"] for saga in ada["items"]} == {"ada"}
    assert nobody == {"items": [], "total": 0}


async def test_a_saga_is_found_by_the_first_characters_of_its_id(operators: Operators) -> None:
    saga_id = operators.ids["grace-ok"]

    page = (
        await operators.client.get(f"/admin/sagas?id_prefix={saga_id[:8]}", headers=AUTH)
    ).json()

    assert [saga["id"] for saga in page["items"]] == [saga_id]


async def test_a_saga_shows_its_attempts_and_its_timeline(operators: Operators) -> None:
    saga_id = operators.ids["ada-refused"]

    detail = (await operators.client.get(f"/admin/sagas/{saga_id}", headers=AUTH)).json()
    picture = await operators.client.get(f"/admin/sagas/{saga_id}/timeline.svg", headers=AUTH)

    assert detail["status"] == "compensated"
    assert detail["failure"]["code"] == "refused"
    assert [(a["step"], a["direction"], a["status"]) for a in detail["attempts"]] == [
        ("reserve", "forward", "succeeded"),
        ("confirm", "forward", "rejected"),
        ("reserve", "compensate", "succeeded"),
    ]
    assert picture.headers["content-type"] == "image/svg+xml"
    assert picture.text.count('class="bar ') == 3


async def test_an_unknown_saga_is_a_404_and_a_finished_one_cannot_be_aborted(
    operators: Operators,
) -> None:
    missing = await operators.client.get("/admin/sagas/no-such-saga", headers=AUTH)
    finished = operators.ids["grace-ok"]
    abort = await operators.client.post(f"/admin/sagas/{finished}/abort", headers=AUTH)

    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "saga_not_found"
    assert abort.status_code == 409
    assert abort.json()["detail"]["code"] == "invalid_transition"


async def test_a_subject_filter_where_the_application_names_none_is_a_422_naming_it(
    sql_store: SqlSagaStore,
) -> None:
    app = FastAPI()
    install_admin(app, route_class=bearer_token(TOKEN))
    engine = SagaEngine(store=sql_store, sagas=[SAGA])
    app.state.saga_admin = SagaAdmin(history=sql_store, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        response = await client.get("/admin/sagas?subject=ada", headers=AUTH)
        page = await client.get("/dashboard")

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "subject"]]
    assert "data-subject-label" not in page.text


async def test_the_dashboard_pages_name_the_subject_and_hold_no_data(
    operators: Operators,
) -> None:
    index = await operators.client.get("/dashboard")
    saga = await operators.client.get(f"/dashboard/sagas/{operators.ids['ada-ok']}")
    script = await operators.client.get("/dashboard/static/dashboard.js")

    assert index.status_code == saga.status_code == script.status_code == 200
    assert "<th>Owner</th>" in index.text
    assert "ada" not in index.text


HOLD = Saga(
    name="hold",
    version=1,
    steps=(
        Step(
            "reserve",
            reserve,
            compensation=release,
            timeout=STEP_TIMEOUT,
            wait=Await(event="paid", timeout=timedelta(hours=1)),
        ),
    ),
)


async def test_a_saga_waiting_for_an_event_says_which_and_until_when(
    sql_store: SqlSagaStore,
) -> None:
    engine = SagaEngine(store=sql_store, sagas=[HOLD])
    app = FastAPI()
    install_admin(app, route_class=bearer_token(TOKEN))
    app.state.saga_admin = SagaAdmin(history=sql_store, engine=engine)
    handle = await engine.start(HOLD, input={})
    async with asyncio.timeout(60):
        while (await handle.status()).retry_at is None:  # noqa: ASYNC110  (parking)
            await asyncio.sleep(0.01)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        detail = (await client.get(f"/admin/sagas/{handle.id}", headers=AUTH)).json()
        counts = (await client.get("/admin/counts", headers=AUTH)).json()
        waiting = (await client.get(f"/admin/sagas/{handle.id}/timeline.svg", headers=AUTH)).text
        await engine.send(handle.id, "paid", {"amount": "25.00"}, sender="webhook")
        async with asyncio.timeout(60):
            await handle.result()
        after = (await client.get(f"/admin/sagas/{handle.id}", headers=AUTH)).json()
        waited = (await client.get(f"/admin/sagas/{handle.id}/timeline.svg", headers=AUTH)).text
    await engine.close()

    assert detail["status"] == "running" and detail["step"] == "reserve"
    assert detail["waiting_for"] == "paid" and detail["waiting_until"] is not None
    assert [(w["event"], w["ended_by"]) for w in detail["waits"]] == [("paid", None)]
    assert counts["waiting"] == {"reserve": 1}
    assert 'class="bar status-waiting"' in waiting
    assert after["status"] == "completed" and after["waiting_for"] is None
    assert [(w["event"], w["ended_by"]) for w in after["waits"]] == [("paid", "event")]
    assert 'class="bar status-waited"' in waited


class Unavailable(Exception):
    pass


async def busy(context: StepContext) -> JSON:
    raise Unavailable("no car before a minute")


TRIP = Saga(
    name="trip",
    version=1,
    steps=(
        Parallel(
            Step("hotel", reserve, compensation=release, timeout=STEP_TIMEOUT),
            Step(
                "car",
                busy,
                compensation=release,
                timeout=STEP_TIMEOUT,
                retry=RetryPolicy(
                    initial_interval=timedelta(minutes=1), maximum_interval=timedelta(minutes=1)
                ),
            ),
        ),
    ),
)


async def test_a_saga_at_a_group_names_its_members_and_shows_each_ones_attempts(
    sql_store: SqlSagaStore,
) -> None:
    engine = SagaEngine(store=sql_store, sagas=[TRIP])
    app = FastAPI()
    install_admin(app, route_class=bearer_token(TOKEN))
    app.state.saga_admin = SagaAdmin(history=sql_store, engine=engine)
    handle = await engine.start(TRIP, input={})
    async with asyncio.timeout(60):
        while (await handle.status()).retry_at is None:  # noqa: ASYNC110  (parking)
            await asyncio.sleep(0.01)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        detail = (await client.get(f"/admin/sagas/{handle.id}", headers=AUTH)).json()
        counts = (await client.get("/admin/counts", headers=AUTH)).json()
        picture = await client.get(f"/admin/sagas/{handle.id}/timeline.svg", headers=AUTH)
    await engine.close()

    assert detail["status"] == "running" and detail["step"] == "hotel+car"
    assert detail["steps"] == ["hotel", "car"]
    assert sorted((a["step"], a["status"]) for a in detail["attempts"]) == [
        ("car", "failed"),
        ("hotel", "succeeded"),
    ]
    assert {a["idempotency_key"] for a in detail["attempts"]} == {
        f"{handle.id}:hotel:forward",
        f"{handle.id}:car:forward",
    }
    assert counts["waiting"] == {"hotel+car": 1}
    assert ">hotel<" in picture.text and ">car<" in picture.text

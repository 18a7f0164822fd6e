"""Finding due sagas reads only the due part of the due index: the sagas that wait (for
a retry, an event, a delay), however many, are not read by a claim that finds nothing.

A time bound the planner can only test row by row (a clock that moves while the
statement runs) would make every worker's poll read every waiting saga; the plan shows
whether the bound limits the index scan.
"""

from __future__ import annotations

from sagakit import SqlSagaStore
from sagakit.store.statements import DUE
from tests.conftest import test_database_backend


async def plan_of_a_claim(store: SqlSagaStore, explain: str) -> str:
    """The plan of the claim's choice of due sagas (``CLAIM_DUE`` updates those)."""
    due = DUE.params(limit=10).compile(
        dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with store.engine.connect() as connection:
        if explain == "EXPLAIN":
            # Tables this small are read whole; the question is what bounds the index.
            await connection.exec_driver_sql("SET enable_seqscan = off")
        rows = await connection.exec_driver_sql(f"{explain} {due}")
        return "\n".join(str(row[-1]) for row in rows)


async def test_the_due_bound_limits_the_index_scan(sql_store: SqlSagaStore) -> None:
    if test_database_backend() == "postgresql":
        plan = await plan_of_a_claim(sql_store, "EXPLAIN")
        assert "ix_sagakit_sagas_due" in plan, plan
        bounds = [line for line in plan.splitlines() if "Index Cond" in line]
        assert any("next_attempt_at <=" in line for line in bounds), plan
    else:
        plan = await plan_of_a_claim(sql_store, "EXPLAIN QUERY PLAN")
        assert "USING INDEX ix_sagakit_sagas_due (status=? AND next_attempt_at<?)" in plan, plan

"""An application's own tables, for the rows it stores alongside a saga."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, MetaData, Numeric, String, Table

from sagakit import Rows

app_metadata = MetaData()
app_orders = Table(
    "app_orders",
    app_metadata,
    Column("id", String(64), primary_key=True),
    Column("total", Numeric(12, 2), nullable=False),
    Column("address", JSON, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("key", String(64), unique=True),
)
app_lines = Table(
    "app_lines",
    app_metadata,
    Column("order_id", ForeignKey("app_orders.id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("price", Numeric(12, 2), nullable=False),
)


def order_rows(order_id: str, *, key: str, prices: list[str]) -> list[Rows]:
    order = {
        "id": order_id,
        "total": sum(map(Decimal, prices)),
        "address": {"city": "Zürich", "lines": ["Bahnhofstrasse 1"]},
        "placed_at": datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        "key": key,
    }
    lines = [
        {"order_id": order_id, "line": number, "price": Decimal(price)}
        for number, price in enumerate(prices, start=1)
    ]
    return [Rows(app_orders, [order]), Rows(app_lines, lines)]

"""Rows an application stores with a saga: refused early when they cannot be one insert."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select

from sagakit import Rows
from sagakit.store.alongside import as_function

notes = Table(
    "notes",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("text", String(100)),
)


def test_rows_must_name_the_same_columns():
    with pytest.raises(ValueError, match="row 2 for notes names \\['id'\\]"):
        Rows(notes, [{"id": 1, "text": "a"}, {"id": 2}])


def test_rows_must_name_columns_of_their_table():
    with pytest.raises(ValueError, match="notes has no column 'colour'"):
        Rows(notes, [{"id": 1, "colour": "red"}])


def test_rows_hold_at_least_one_row():
    with pytest.raises(ValueError, match="holds no row"):
        Rows(notes, [])


def test_rows_as_a_function_insert_them_on_the_given_connection():
    engine = create_engine("sqlite://")
    notes.metadata.create_all(engine)
    write = as_function([Rows(notes, [{"id": 1, "text": "a"}, {"text": "b", "id": 2}])])

    with engine.begin() as connection:
        write(connection)
        stored = connection.execute(select(notes).order_by(notes.c.id)).all()

    assert [tuple(row) for row in stored] == [(1, "a"), (2, "b")]

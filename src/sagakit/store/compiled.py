"""Statements compiled once per dialect, and the writes a transport runs with them."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Executable

from sagakit.errors import LeaseLost
from sagakit.state import SagaState


@dataclass(frozen=True)
class Compiled:
    """A statement as one dialect's SQL with positional parameters, and how to turn
    named values into them (JSON serialised, as SQLAlchemy would)."""

    sql: str
    names: tuple[str, ...]
    """The parameter at each position."""
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    """The positions whose values the column's type converts, and how."""
    fixed: Mapping[str, Any]
    """Values the statement fixes itself (a literal, an offset): none in the hot ones."""

    def arguments(self, params: Mapping[str, Any]) -> Sequence[Any]:
        if self.fixed:
            params = {**self.fixed, **params}
        if not self.processors:
            return self._values(params)
        values = list(self._values(params))
        for position, process in self.processors:
            values[position] = process(values[position])
        return values

    @functools.cached_property
    def _values(self) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
        """The values in positional order, gathered in one call: a write's arguments
        are built on the event loop, for every statement of every step."""
        if not self.names:
            return lambda _params: ()
        if len(self.names) == 1:
            name = self.names[0]
            return lambda params: (params[name],)
        return operator.itemgetter(*self.names)


_compiled: dict[tuple[Executable, Dialect], Compiled] = {}


def compiled(statement: Executable, dialect: Dialect) -> Compiled:
    """``statement`` for ``dialect``, compiled on first use and kept: compiling costs
    far more than running a short statement."""
    key = (statement, dialect)
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = compile_for(statement, dialect)
    return found


def compile_for(statement: Executable, dialect: Dialect) -> Compiled:
    """``statement`` for ``dialect``, compiled anew (:func:`compiled` keeps it)."""
    result = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(result.positiontup or ())
    binds = [result.binds[name] for name in names]
    processors = [
        (position, bind.type.dialect_impl(dialect).bind_processor(dialect))
        for position, bind in enumerate(binds)
    ]
    return Compiled(
        result.string,
        names,
        tuple((position, process) for position, process in processors if process is not None),
        {
            name: bind.effective_value
            for name, bind in zip(names, binds, strict=True)
            if not bind.required
        },
    )


def json_text(value: Any) -> str | None:
    """A JSON column's value as the text a cast to JSON reads."""
    return None if value is None else json.dumps(value)


class Write(NamedTuple):
    """One statement of a write transaction, with its values. A ``fenced`` write must
    change exactly one row, the saga at the writer's fencing token; otherwise another
    process holds the saga and the transaction changes nothing."""

    statement: Executable
    params: Mapping[str, Any]
    fenced: SagaState | None = None


def lease_lost(state: SagaState) -> LeaseLost:
    return LeaseLost(
        f"saga {state.id} was claimed by another process "
        f"(fencing token {state.fencing_token} is stale)"
    )

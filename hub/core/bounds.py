"""Bounded integers: every id or count that reaches the database fits what the database holds.

An id past the column's range does not simply "not exist": SQLite's driver raises ``OverflowError``
past 64 bits and asyncpg refuses a parameter past an ``INTEGER`` column's 32 bits, both server
errors. So every integer a client can send (path, query, form, body, tool argument) is one of these
types, and a value out of range is a 422 naming the field before any query runs.
:data:`DB_INT_MAX` is ``2**31 - 1``, the range of the ``INTEGER`` columns ids and counts live in on
PostgreSQL (SQLite holds more); it is also exact for JSON clients that read numbers as doubles.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

DB_INT_MAX = 2**31 - 1

#: A row id (1 .. DB_INT_MAX).
Id = Annotated[int, Ge(1), Le(DB_INT_MAX)]
#: A count or offset (0 .. DB_INT_MAX).
Count = Annotated[int, Ge(0), Le(DB_INT_MAX)]


def bounded_int_schema(minimum: int = 1) -> dict[str, int | str]:
    """The JSON schema of a bounded integer, for tools whose schema is written by hand."""
    return {"type": "integer", "minimum": minimum, "maximum": DB_INT_MAX}


#: Any other integer a client may send (a script parameter): the column range, both signs.
BoundedInt = Annotated[int, Ge(-DB_INT_MAX - 1), Le(DB_INT_MAX)]

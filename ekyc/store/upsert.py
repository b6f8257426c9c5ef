"""``INSERT … ON CONFLICT DO NOTHING`` for whichever backend a session is bound to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_absent(
    s: Session, table: Any, values: dict[str, Any], conflict: Sequence[str]
) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; True when inserted."""
    name = s.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    stmt = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        # RETURNING yields no row on conflict: rowcount is not reliable for ORM-enabled inserts
        .returning(literal_column("1"))
    )
    return s.execute(stmt).first() is not None

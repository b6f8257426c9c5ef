"""Alembic environment: runs on the connection ``Database.migrate()`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ekyc.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through ekyc.store.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

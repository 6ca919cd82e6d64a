"""Alembic environment: migrations run on the connection ``indexing.migrations.upgrade`` passes in."""

from __future__ import annotations

from alembic import context

from indexing.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through indexing.migrations.upgrade
    raise RuntimeError("run migrations through indexing.migrations.upgrade(connection)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment: runs on the connection handed over by ``shellgui.core.catalog.database``."""

from alembic import context

from shellgui.core.catalog.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the app drives migrations
    raise RuntimeError("shellgui migrations run through shellgui.core.catalog.database.upgrade_schema")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

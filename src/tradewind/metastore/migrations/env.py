"""Alembic environment for tradewind's schema.

tradewind runs its migrations from code (``tradewind.metastore.schema``), handing over an open
connection in ``config.attributes["connection"]``; no alembic.ini is involved.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tradewind.metastore.models import VERSION_TABLE, metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit(
        "tradewind migrations need a database connection; offline mode is not supported"
    )
connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise SystemExit("run tradewind migrations with `tradewind db upgrade`, not the alembic CLI")
run_migrations(connection)

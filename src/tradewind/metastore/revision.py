"""The schema revision this tradewind needs, and a quick look at the database's, without Alembic.

Every command and every long-running process checks the metastore's revision before it
starts. Importing Alembic for that costs a third of a second; in the usual case (the database is
at :data:`HEAD`) this module answers with one query instead, and the full check of
:func:`tradewind.metastore.schema.check_db` runs only when something is off.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import DatabaseError
from tradewind.metastore.models.base import VERSION_TABLE

# The newest migration in tradewind/metastore/migrations (a test keeps the two in step).
HEAD = "0012"


def at_head(engine: Engine) -> bool:
    """True when the database answers and its schema is at :data:`HEAD`; False otherwise,
    whatever the reason (the full check then says which)."""
    try:
        engine_module.check_server_version(engine)
        with engine.connect() as connection:
            found = (
                connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
                .scalars()
                .all()
            )
    except (sa.exc.SQLAlchemyError, DatabaseError):
        return False
    return found == [HEAD]

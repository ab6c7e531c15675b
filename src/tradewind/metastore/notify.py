"""Tell running schedulers that the metastore changed in a way they should look at now.

On PostgreSQL a writer calls :func:`notify` inside its transaction and the database delivers
the notification to every listening scheduler when the transaction commits (see
:mod:`tradewind.scheduler.wakeups`). Elsewhere it does nothing: SQLite schedulers notice any
commit by themselves, MySQL schedulers look every ``scheduler.wake_interval``.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = "tradewind_scheduler"


def notify(session: Session) -> None:
    """Ask the schedulers to look at the metastore when this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

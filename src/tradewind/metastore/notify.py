"""Tell running schedulers that the metastore changed in a way they should look at now.

A writer that wants the scheduler to look (a trigger, a clear, a mark, an unpause) calls
:func:`notify` inside its transaction; the schedulers hear of it when the transaction commits
(see :mod:`tradewind.scheduler.wakeups`):

- PostgreSQL: ``pg_notify`` on :data:`CHANNEL`, delivered by the database at commit.
- SQLite: after the commit, a few bytes are written to a file beside the database
  (:func:`request_file`); the scheduler's watcher wakes when it is written.
- MySQL: nothing; schedulers look every ``scheduler.wake_interval``.

The message carries the writer's process id, so a scheduler can tell another process's request
(always looked at) from its own commits.
"""

from __future__ import annotations

import os

from sqlalchemy import event, text
from sqlalchemy.orm import Session

CHANNEL = "tradewind_scheduler"
REQUEST_SUFFIX = "-wake"


def request_file(database: str) -> str:
    """The file whose content changes when a process asks SQLite schedulers to look."""
    return database + REQUEST_SUFFIX


def notify(session: Session) -> None:
    """Ask the schedulers to look at the metastore when this transaction commits."""
    url = session.get_bind().engine.url
    name = url.get_backend_name()
    if name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :sender)"),
            {"channel": CHANNEL, "sender": str(os.getpid())},
        )
    elif name == "sqlite" and url.database not in (None, "", ":memory:"):
        if session.info.get(_PENDING):
            return  # one request per commit, however many writes asked for it
        session.info[_PENDING] = True
        path = request_file(str(url.database))

        def committed(_: Session) -> None:
            session.info.pop(_PENDING, None)
            _write_request(path)

        event.listen(session, "after_commit", committed, once=True)


# Set on a session while a request waits for its commit.
_PENDING = "tradewind.wake_request"


def _write_request(path: str) -> None:
    # Unique content each time (the writer's pid and random bytes): the watcher compares it.
    try:
        with open(path, "wb") as handle:
            handle.write(f"{os.getpid()} ".encode() + os.urandom(8).hex().encode())
    except OSError:
        pass  # the scheduler still finds the change at its next regular look


def sender_of(content: bytes | str) -> int | None:
    """The process id in a request (None when it cannot be read)."""
    text_form = content.decode(errors="replace") if isinstance(content, bytes) else content
    head = text_form.split(" ", 1)[0]
    return int(head) if head.isdigit() else None

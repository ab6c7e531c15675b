"""Errors of the metastore: each carries a one-line message a user can act on."""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of the metastore's expected errors; ``str(exc)`` is a one-line message."""


class BadDatabaseUrl(DatabaseError):
    """The configured database URL cannot be used."""


class DatabaseUnreachable(DatabaseError):
    """The database server (or SQLite file) cannot be reached or opened."""


class AccessDenied(DatabaseError):
    """The server refused the credentials or the database name."""


class UnsupportedServer(DatabaseError):
    """The server is too old for what tradewind needs (row locks with SKIP LOCKED)."""


class UnknownRevision(DatabaseError):
    """The database is at a schema revision this tradewind does not know."""


class ForeignDatabase(DatabaseError):
    """The database holds tables that are not tradewind's, or a broken tradewind schema."""


class MigrationError(DatabaseError):
    """A schema change could not be made (bad target revision, failed statement)."""


def first_line(text: str) -> str:
    """The first non-empty line of a (driver) message, so errors stay on one line."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()

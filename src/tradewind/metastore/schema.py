"""Create, upgrade, check, reset and downgrade the metastore schema (Alembic, run from code).

Each function takes an Engine, does one thing, and reports what it did in a small result
object; it prints nothing. Expected failures raise a :class:`DatabaseError` with a one-line
message, and leave the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import (
    AccessDenied,
    DatabaseError,
    DatabaseUnreachable,
    ForeignDatabase,
    MigrationError,
    UnknownRevision,
    first_line,
)
from tradewind.metastore.models import DEFAULT_POOL, VERSION_TABLE, Pool, metadata
from tradewind.metastore.types import MYSQL_DIALECTS

MIGRATIONS = Path(__file__).with_name("migrations")
BASE = "base"
DEFAULT_POOL_SLOTS = 128
_LOCK_NAME = "tradewind_schema"
_PG_LOCK_KEY = 0x7472_6164_6577  # "tradew": an arbitrary, fixed advisory lock key
_LOCK_WAIT_SECONDS = 60
_NAMED_FOREIGN_TABLES = 5


@dataclass(frozen=True)
class InitResult:
    """What ``init_db`` found or did; ``created`` is False when the schema already existed."""

    created: bool
    revision: str
    head: str


@dataclass(frozen=True)
class UpgradeResult:
    """``from_revision`` is None for an empty database; equal revisions mean nothing to do."""

    from_revision: str | None
    to_revision: str

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


@dataclass(frozen=True)
class ResetResult:
    dropped: tuple[str, ...]
    revision: str


@dataclass(frozen=True)
class DowngradeResult:
    """``to_revision`` is None when the schema was taken down to base (no tables)."""

    from_revision: str
    to_revision: str | None


@dataclass(frozen=True)
class DbStatus:
    """The outcome of ``check_db``: whether the database answers and at which revision."""

    reachable: bool
    current: str | None
    head: str
    problem: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.reachable and self.problem is None and self.current == self.head


@dataclass(frozen=True)
class _Survey:
    versioned: bool
    current: str | None
    ours: tuple[str, ...]
    foreign: tuple[str, ...]


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """The newest revision this tradewind knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revision 0001
        raise MigrationError("no migrations found in the tradewind package")
    return head


def known_revisions() -> list[str]:
    """Every revision this tradewind knows, newest first."""
    return [script.revision for script in _scripts().walk_revisions()]


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None when it holds no tradewind schema."""
    with _connection(engine, read_only=True) as connection:
        return _current(connection)


def init_db(engine: Engine) -> InitResult:
    """Create the schema at head on an empty database and seed ``default_pool``.

    On an initialised database this changes nothing and says so (``created`` is False).
    """
    head = head_revision()
    with _schema_transaction(engine) as connection:
        survey = _survey(connection, engine)
        if survey.current is not None:
            return InitResult(created=False, revision=survey.current, head=head)
        _refuse_unless_empty(survey, engine)
        _upgrade_to_head(connection)
    return InitResult(created=True, revision=head, head=head)


def upgrade_db(engine: Engine) -> UpgradeResult:
    """Apply every pending migration (an empty database is created); idempotent."""
    head = head_revision()
    with _schema_transaction(engine) as connection:
        survey = _survey(connection, engine)
        if survey.current == head:
            return UpgradeResult(from_revision=head, to_revision=head)
        if survey.current is None:
            _refuse_unless_empty(survey, engine)
        _upgrade_to_head(connection)
    return UpgradeResult(from_revision=survey.current, to_revision=head)


def reset_db(engine: Engine) -> ResetResult:
    """Drop tradewind's tables (never anyone else's) and create the schema again at head."""
    head = head_revision()
    with _schema_transaction(engine) as connection:
        survey = _survey(connection, engine)
        if survey.foreign and not survey.versioned:
            raise _foreign(survey, engine, "refusing to reset it")
        doomed = [*survey.ours, *([VERSION_TABLE] if survey.versioned else [])]
        if doomed:
            reflected = sa.MetaData()
            reflected.reflect(connection, only=doomed)
            reflected.drop_all(connection)
        _upgrade_to_head(connection)
    return ResetResult(dropped=survey.ours, revision=head)


def downgrade_db(engine: Engine, to_revision: str) -> DowngradeResult:
    """Take the schema down to ``to_revision`` (``base`` removes every tradewind table)."""
    order = known_revisions()  # newest first
    target = to_revision.strip()
    if target not in (*order, BASE):
        raise MigrationError(
            f"unknown revision {to_revision!r}; known: {', '.join([*order, BASE])}"
        )
    with _schema_transaction(engine) as connection:
        current = _survey(connection, engine).current
        if current is None:
            raise MigrationError(
                f"the database at {_where(engine)} has no tradewind schema; nothing to downgrade"
            )
        if target != BASE and order.index(target) < order.index(current):
            raise MigrationError(
                f"revision {target} is newer than the database's {current}; "
                "use `tradewind db upgrade` to move forward"
            )
        if target != current:
            _migrate(connection, "downgrade", target)
    return DowngradeResult(from_revision=current, to_revision=None if target == BASE else target)


def check_db(engine: Engine) -> DbStatus:
    """Whether the database answers, and its revision against this tradewind's head."""
    head = head_revision()
    try:
        engine_module.check_server_version(engine)
        with _connection(engine, read_only=True) as connection:
            current = _current(connection)
            _ensure_known(current, engine)
    except (DatabaseUnreachable, AccessDenied) as error:
        return DbStatus(reachable=False, current=None, head=head, problem=str(error))
    except DatabaseError as error:
        return DbStatus(reachable=True, current=None, head=head, problem=str(error))
    return DbStatus(reachable=True, current=current, head=head)


# -- helpers ---------------------------------------------------------------------------------


def _where(engine: Engine) -> str:
    return engine_module.mask_url(engine.url)


@contextmanager
def _connection(engine: Engine, *, read_only: bool = False) -> Iterator[Connection]:
    with engine_module.connect(engine) as connection:
        if read_only:
            connection.execution_options(**{engine_module.READ_ONLY: True})
        try:
            with connection.begin():
                yield connection
        except exc.SQLAlchemyError as error:
            raise _statement_error(error, engine) from error


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the schema lock, so two ``db`` commands never interleave."""
    engine_module.check_server_version(engine)
    with _connection(engine) as connection:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        elif dialect in MYSQL_DIALECTS:
            got = connection.execute(
                sa.text("SELECT GET_LOCK(:name, :wait)"),
                {"name": _LOCK_NAME, "wait": _LOCK_WAIT_SECONDS},
            ).scalar()
            if got != 1:
                raise MigrationError(
                    f"another tradewind db command is changing the schema at {_where(engine)}; "
                    "try again when it is done"
                )
        # SQLite: BEGIN IMMEDIATE has already taken the write lock.
        try:
            yield connection
        finally:
            if dialect in MYSQL_DIALECTS:
                _release_mysql_lock(connection)


def _release_mysql_lock(connection: Connection) -> None:
    # GET_LOCK belongs to the session, which outlives this use: the pool keeps it open.
    with suppress(exc.SQLAlchemyError):  # a broken connection has lost the lock anyway
        connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK_NAME})


def _statement_error(error: exc.SQLAlchemyError, engine: Engine) -> DatabaseError:
    detail = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    return MigrationError(f"the database at {_where(engine)} failed: {first_line(str(detail))}")


def _current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _ensure_known(revision: str | None, engine: Engine) -> None:
    if revision is None:
        return
    try:
        known = _scripts().get_revision(revision) is not None
    except (CommandError, RevisionError):
        known = False
    if not known:
        raise UnknownRevision(
            f"the database at {_where(engine)} is at revision {revision} which this tradewind "
            "does not know; upgrade tradewind"
        )


def _survey(connection: Connection, engine: Engine) -> _Survey:
    tables = set(sa.inspect(connection).get_table_names())
    versioned = VERSION_TABLE in tables
    current = _current(connection) if versioned else None
    _ensure_known(current, engine)
    ours = tables & set(metadata.tables)
    foreign = tables - ours - {VERSION_TABLE}
    return _Survey(versioned, current, tuple(sorted(ours)), tuple(sorted(foreign)))


def _refuse_unless_empty(survey: _Survey, engine: Engine) -> None:
    """Before creating the schema: refuse other applications' tables and half-made schemas."""
    if survey.ours:
        raise ForeignDatabase(
            f"the database at {_where(engine)} holds tradewind tables "
            f"({_some(survey.ours)}) but no schema revision; run `tradewind db reset` to start over"
        )
    if survey.foreign and not survey.versioned:
        raise _foreign(survey, engine, "use an empty database")


def _foreign(survey: _Survey, engine: Engine, advice: str) -> ForeignDatabase:
    return ForeignDatabase(
        f"the database at {_where(engine)} is not a tradewind database: it holds other tables "
        f"({_some(survey.foreign)}); {advice}"
    )


def _some(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_NAMED_FOREIGN_TABLES])
    more = len(names) - _NAMED_FOREIGN_TABLES
    return f"{shown} and {more} more" if more > 0 else shown


def alembic_config(connection: Connection) -> Config:
    """An Alembic Config that runs tradewind's migrations on ``connection``.

    Also the way to write a new revision: ``command.revision(alembic_config(conn),
    message=..., autogenerate=True)`` against a database at head.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(connection: Connection, direction: str, target: str) -> None:
    config = alembic_config(connection)
    try:
        if direction == "upgrade":
            command.upgrade(config, target)
        else:
            command.downgrade(config, target)
    except CommandError as error:
        raise MigrationError(f"cannot {direction} to {target}: {first_line(str(error))}") from error


def _upgrade_to_head(connection: Connection) -> None:
    _migrate(connection, "upgrade", "head")
    _seed(connection)


def _seed(connection: Connection) -> None:
    found = connection.execute(sa.select(Pool.id).where(Pool.pool == DEFAULT_POOL)).first()
    if found is None:
        connection.execute(
            sa.insert(Pool).values(
                pool=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description="Default pool"
            )
        )

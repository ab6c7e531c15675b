"""Engines and sessions for the metastore, set up for each supported database.

SQLite runs in WAL mode and takes the write lock when a transaction begins (``BEGIN
IMMEDIATE``), so two writers never deadlock half-way through; PostgreSQL and MySQL/MariaDB get a
connection pool sized from the settings, and connections whose waits on a silent server are
bounded (``database.connect_timeout``, ``database.tcp_timeout``: see :mod:`.tcp`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import tcp
from tradewind.metastore.errors import (
    AccessDenied,
    BadDatabaseUrl,
    DatabaseError,
    DatabaseUnreachable,
    UnsupportedServer,
    first_line,
)
from tradewind.settings import DatabaseSettings

# Short schemes people paste from Airflow or from their cloud console -> the drivers we ship.
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")

# Oldest servers with SELECT ... FOR UPDATE SKIP LOCKED and the JSON type.
MINIMUM_SERVER_VERSIONS = {"postgresql": (12,), "mysql": (8, 0), "mariadb": (10, 6)}

READ_ONLY = "tradewind_read_only"
"""Execution option: on SQLite, begin with a plain (deferred) BEGIN instead of BEGIN IMMEDIATE.

Only for connections that never write; readers then do not queue behind the writer.
"""

# MySQL client error codes that mean the credentials or the database name were refused.
_MYSQL_ACCESS_DENIED = {1044, 1045, 1049, 1698}
_ACCESS_DENIED_TEXT = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "permission denied for database",
    "authentication failed",
)
_PG_MISSING = re.compile(r'(role|database) "[^"]*" does not exist')
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")

T = TypeVar("T")


def mask_url(url: URL | str) -> str:
    """The URL as text with its password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def parse_url(raw: str) -> URL:
    """Parse a database URL, mapping the short schemes to the drivers tradewind installs."""
    try:
        url = sa.make_url(raw)
    except exc.ArgumentError:
        raise BadDatabaseUrl(
            f"cannot parse the database URL {mask_url(raw)!r}; expected for example "
            "sqlite:////path/tradewind.db or postgresql://user:password@host/dbname"
        ) from None
    url = url.set(drivername=_DRIVERS.get(url.drivername, url.drivername))
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise BadDatabaseUrl(
            f"unsupported database {backend!r} in {mask_url(url)}; use sqlite, postgresql or mysql"
        )
    if backend in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def create_engine(settings: DatabaseSettings) -> Engine:
    """An Engine for ``settings.url``; nothing connects until the engine is first used."""
    url = parse_url(settings.url)
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, settings)
        options: dict[str, Any] = {}
        if backend in ("mysql", "mariadb"):
            # PostgreSQL's default isolation; MySQL's REPEATABLE READ adds gap locks that make
            # concurrent schedulers deadlock far more often.
            options["isolation_level"] = "READ COMMITTED"
        engine = sa.create_engine(
            url,
            echo=settings.echo,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_recycle=settings.pool_recycle,
            pool_pre_ping=settings.pool_pre_ping,
            connect_args={"connect_timeout": settings.connect_timeout},
            **options,
        )
    except (ImportError, exc.NoSuchModuleError):
        extra = _EXTRAS.get(backend, backend)
        raise BadDatabaseUrl(
            f"the driver for {url.drivername} is not installed; "
            f"install it with: pip install 'tradewind[{extra}]'"
        ) from None
    except exc.ArgumentError as error:
        raise BadDatabaseUrl(f"cannot use {mask_url(url)}: {first_line(str(error))}") from None
    # Connecting is bounded by connect_timeout, and a server that falls silent (a network cut)
    # breaks the connection after tcp_timeout instead of the kernel's minutes.
    tcp.bound(engine, settings)
    return engine


def _sqlite_engine(url: URL, settings: DatabaseSettings) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        url = url.set(database=str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnreachable(
                f"cannot create the folder {path.parent} for SQLite: {error}"
            ) from None
    engine = sa.create_engine(
        url, echo=settings.echo, connect_args={"timeout": settings.sqlite_busy_timeout}
    )
    if database and database != ":memory:" and not database.startswith("file:"):
        private = Path(url.database or "")
        event.listen(engine, "do_connect", lambda *_: create_private(private))
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def create_private(path: Path) -> None:
    """Create the SQLite file ``path``, if there is none, readable by its owner only.

    SQLite would create it under the process's umask (0644, usually), and gives the -wal and
    -shm files beside it the database file's own mode: so all three hold secrets (password
    hashes, connections) for the owner's eyes only. An existing file keeps its mode.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # there is one already (or none can be made: SQLite then says why)
    os.close(descriptor)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would BEGIN lazily (deferred) before the first write; with its transaction
    # handling off, the "begin" listener below decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL cannot corrupt the database and saves an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Taking the write lock up front means a busy database makes us wait (busy timeout) at
    # BEGIN, instead of failing with "database is locked" in the middle of a transaction.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, with connection failures turned into one-line :class:`DatabaseError`."""
    try:
        connection = engine.connect()
    except exc.DBAPIError as error:
        raise describe_connect_error(error, engine.url) from error
    with connection:
        yield connection


def describe_connect_error(error: exc.DBAPIError, url: URL) -> DatabaseError:
    """Classify a failure to connect: refused credentials or an unreachable server."""
    original = error.orig if error.orig is not None else error
    args = original.args
    code = args[0] if args and isinstance(args[0], int) else None
    # PyMySQL's args are (code, message); psycopg puts where it tried to connect before the
    # server's words ("... failed: FATAL:  role ... does not exist"): keep the words.
    text = args[1] if code is not None and len(args) > 1 else str(original)
    message = first_line(str(text)).split("FATAL:", 1)[-1].strip()
    where = mask_url(url)
    lowered = message.lower()
    if (
        code in _MYSQL_ACCESS_DENIED
        or any(text in lowered for text in _ACCESS_DENIED_TEXT)
        or _PG_MISSING.search(message)
    ):
        return AccessDenied(f"the database at {where} refused the connection: {message}")
    return DatabaseUnreachable(f"cannot reach the database at {where}: {message}")


def check_server_version(engine: Engine) -> None:
    """Raise :class:`UnsupportedServer` if the server lacks what tradewind relies on."""
    with connect(engine) as connection:
        dialect = connection.dialect
        version = tuple(dialect.server_version_info or ())
    name = dialect.name
    if name == "mysql" and getattr(dialect, "is_mariadb", False):
        name = "mariadb"
    problem = server_version_problem(name, version)
    if problem is not None:
        raise UnsupportedServer(f"{problem} (at {mask_url(engine.url)})")


def server_version_problem(name: str, version: tuple[Any, ...]) -> str | None:
    """Why server ``name`` at ``version`` cannot run tradewind, or None if it can."""
    minimum = MINIMUM_SERVER_VERSIONS.get(name)
    if minimum is None or version[: len(minimum)] >= minimum:
        return None
    shown = ".".join(str(part) for part in version)
    wanted = ".".join(str(part) for part in minimum)
    return (
        f"{name} {shown} is too old: tradewind needs {name} {wanted} or newer "
        "(for SELECT ... FOR UPDATE SKIP LOCKED)"
    )


# A transaction the server chose to roll back to break a lock cycle (MySQL/MariaDB 1213, and
# PostgreSQL's deadlock_detected and serialization_failure): running it again succeeds.
_DEADLOCK_CODES = frozenset({1213})
_DEADLOCK_STATES = frozenset({"40P01", "40001"})


def is_deadlock(error: BaseException) -> bool:
    """Whether ``error`` rolled a transaction back to break a deadlock."""
    if not isinstance(error, exc.DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _DEADLOCK_STATES:
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in _DEADLOCK_CODES


def write(sessions: sessionmaker[Session], change: Callable[[Session], T], attempts: int = 3) -> T:
    """Run ``change`` in a transaction of its own and commit it.

    A transaction the server rolled back to break a deadlock (writers racing to insert the same
    row on MySQL, say) runs again, up to ``attempts`` times in all.
    """
    for attempt in range(1, attempts + 1):
        try:
            with sessions.begin() as session:
                return change(session)
        except exc.DBAPIError as error:
            if attempt == attempts or not is_deadlock(error):
                raise
    raise AssertionError("unreachable")

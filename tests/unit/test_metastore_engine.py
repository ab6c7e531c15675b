from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import AccessDenied, BadDatabaseUrl, DatabaseUnreachable
from tradewind.settings import DatabaseSettings


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db/tw", "postgresql+psycopg"),
        ("postgresql://u:p@db/tw", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db/tw", "postgresql+psycopg"),
        ("mysql://u:p@db/tw", "mysql+pymysql"),
        ("mariadb://u:p@db/tw", "mariadb+pymysql"),
        ("sqlite:////tmp/tw.db", "sqlite"),
    ],
)
def test_short_schemes_map_to_the_shipped_drivers(given: str, driver: str) -> None:
    assert engine_module.parse_url(given).drivername == driver


def test_mysql_urls_get_utf8mb4_unless_a_charset_is_given() -> None:
    assert engine_module.parse_url("mysql://u@db/tw").query["charset"] == "utf8mb4"
    assert engine_module.parse_url("mysql://u@db/tw?charset=utf8").query["charset"] == "utf8"


@pytest.mark.parametrize("bad", ["oracle://u:p@db/tw", "::nonsense", ""])
def test_unusable_urls_are_one_line_errors_without_the_password(bad: str) -> None:
    with pytest.raises(BadDatabaseUrl) as caught:
        engine_module.create_engine(DatabaseSettings(url=bad))
    message = str(caught.value)
    assert "\n" not in message
    assert ":p@" not in message


def test_mask_url_hides_the_password() -> None:
    url = "postgresql://alice:s3cret@db:5432/tw"
    assert engine_module.mask_url(url) == "postgresql://alice:***@db:5432/tw"
    assert "s3cret" not in engine_module.mask_url(engine_module.parse_url(url))


def test_sqlite_engine_creates_the_folder_and_sets_the_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "tw.db"
    engine = engine_module.create_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_paths_may_start_at_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    engine = engine_module.create_engine(DatabaseSettings(url="sqlite:///~/tw/tradewind.db"))
    assert engine.url.database == str(tmp_path / "tw" / "tradewind.db")
    assert (tmp_path / "tw").is_dir()


def test_sqlite_writers_take_the_lock_when_the_transaction_begins(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'tw.db'}", sqlite_busy_timeout=0.05)
    engine = engine_module.create_engine(settings)
    try:
        with engine.begin() as setup:
            setup.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as first, engine.connect() as second:
            first.begin()
            # The second writer is turned away at BEGIN, before it has done any work...
            with pytest.raises(exc.OperationalError, match="locked"):
                second.begin()
            second.rollback()
            # ...while a connection marked read-only still reads.
            second.execution_options(**{engine_module.READ_ONLY: True})
            with second.begin():
                assert second.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
            first.rollback()
    finally:
        engine.dispose()


def test_sqlite_that_cannot_be_opened_is_reported_as_unreachable(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    engine = engine_module.create_engine(DatabaseSettings(url=f"sqlite:///{folder}"))
    with pytest.raises(DatabaseUnreachable, match="cannot reach the database at sqlite"):
        engine_module.check_server_version(engine)


def _failure(original: Exception) -> exc.OperationalError:
    return exc.OperationalError("connect", {}, original)


@pytest.mark.parametrize(
    ("original", "kind"),
    [
        (pymysql.err.OperationalError(1045, "Access denied for user 'x'@'h'"), AccessDenied),
        (pymysql.err.OperationalError(2003, "Can't connect to MySQL server"), DatabaseUnreachable),
        (
            Exception("connection to server failed: FATAL:  password authentication failed"),
            AccessDenied,
        ),
        (Exception('failed: FATAL:  role "bob" does not exist'), AccessDenied),
        (
            Exception("connection to server at 127.0.0.1 failed: Connection refused"),
            DatabaseUnreachable,
        ),
    ],
)
def test_connect_failures_are_classified(original: Exception, kind: type[Exception]) -> None:
    url = sa.make_url("postgresql+psycopg://bob:hunter2@db/tw")
    error = engine_module.describe_connect_error(_failure(original), url)
    assert isinstance(error, kind)
    assert "hunter2" not in str(error)
    assert "FATAL" not in str(error)


@pytest.mark.parametrize(
    ("name", "version", "supported"),
    [
        ("postgresql", (11, 22), False),
        ("postgresql", (12, 0), True),
        ("mysql", (5, 7, 44), False),
        ("mysql", (8, 0, 36), True),
        ("mariadb", (10, 5, 24), False),
        ("mariadb", (10, 6, 0), True),
        ("sqlite", (3, 40, 0), True),
    ],
)
def test_servers_without_skip_locked_are_refused(
    name: str, version: tuple[int, ...], supported: bool
) -> None:
    problem = engine_module.server_version_problem(name, version)
    assert (problem is None) is supported
    if problem is not None:
        assert "too old" in problem

"""Which database errors are an outage to ride out, and which are bugs that must surface; one
log line per outage. The errors are real ones, raised by the drivers."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tradewind.metastore import outage


def _refused_url(driver: str) -> str:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{driver}://nobody@127.0.0.1:{port}/tradewind"


def _error(engine: sa.Engine, statement: str) -> sa.exc.DBAPIError:
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as connection:
        connection.execute(sa.text(statement))
    return caught.value


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "mysql+pymysql"])
def test_a_refused_connection_is_an_outage(driver: str) -> None:
    engine = sa.create_engine(_refused_url(driver), poolclass=NullPool)
    error = _error(engine, "SELECT 1")
    assert outage.is_outage(error)
    described = outage.describe(error)
    assert described.startswith("OperationalError: ")
    assert "\n" not in described


def test_bugs_are_not_outages(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    for statement in (
        "SELECT * FROM no_such_table",  # OperationalError on SQLite, still a bug
        "SELEKT 1",
        "INSERT INTO t VALUES (1)",  # IntegrityError
    ):
        assert not outage.is_outage(_error(engine, statement)), statement
    assert not outage.is_outage(ValueError("no database here"))


def test_a_locked_sqlite_database_is_an_outage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    holder = sa.create_engine(url, poolclass=NullPool)
    waiter = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 0})
    with holder.connect() as held:
        held.exec_driver_sql("BEGIN EXCLUSIVE")
        assert outage.is_outage(_error(waiter, "SELECT * FROM sqlite_master"))
        held.exec_driver_sql("ROLLBACK")


def test_no_free_connection_in_the_pool_is_an_outage(tmp_path: Path) -> None:
    engine = sa.create_engine(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        poolclass=sa.pool.QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.1,
    )
    with engine.connect(), pytest.raises(sa.exc.TimeoutError) as caught:
        engine.connect()
    assert outage.is_outage(caught.value)
    engine.dispose()


def test_one_line_per_outage_and_a_capped_backoff(caplog: pytest.LogCaptureFixture) -> None:
    engine = sa.create_engine(_refused_url("postgresql+psycopg"), poolclass=NullPool)
    error = _error(engine, "SELECT 1")
    away = outage.Outage("the tester", meanwhile="it waits")
    caplog.set_level(logging.WARNING, logger="tradewind")
    delays = [away.lost(error) for _ in range(8)]
    assert delays[0] == outage.FIRST_DELAY
    assert delays == sorted(delays)
    assert max(delays) == outage.MAX_DELAY
    away.back()
    away.back()
    assert away.lost(error) == outage.FIRST_DELAY  # a new outage starts over
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == [
        "the tester lost the metastore",
        "the tester reached the metastore again after 0.0 s",
        "the tester lost the metastore",
    ]
    assert lines[0].endswith("; it waits")


def test_ride_out_retries_an_outage_and_raises_a_bug() -> None:
    engine = sa.create_engine(_refused_url("postgresql+psycopg"), poolclass=NullPool)
    error = _error(engine, "SELECT 1")
    away = outage.Outage("the tester")
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise error
        return "done"

    assert outage.ride_out(flaky, away) == "done"
    assert len(calls) == 3
    assert not away.down

    def broken() -> None:
        raise sa.exc.ProgrammingError("SELEKT", {}, Exception("syntax error"))

    with pytest.raises(sa.exc.ProgrammingError):
        outage.ride_out(broken, away)


def test_waiting_for_a_database_ends_when_asked_to_stop() -> None:
    engine = sa.create_engine(_refused_url("postgresql+psycopg"), poolclass=NullPool)
    stop = threading.Event()
    stop.set()
    assert outage.wait_for_database(engine, stop, "the tester") is False
    stop.clear()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    assert outage.wait_for_database(engine, stop, "the tester") is False
    timer.join()

"""The SQLite waker waits for the database's files to change instead of polling them: a write
to a file named after the database wakes it, other files of the folder do not, and while
nothing changes its thread wakes a couple of times a second, not twenty."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa
from threadwakes import voluntary_switches

from tradewind.scheduler import wakeups
from tradewind.scheduler.filechanges import FileChanges


def test_a_write_to_a_file_named_after_the_database_is_seen(tmp_path: Path) -> None:
    database = tmp_path / "tradewind.db"
    database.touch()
    changes = FileChanges.watch(str(database))
    assert changes is not None, "inotify is there on Linux"
    try:
        assert not changes.wait(0.2)
        (tmp_path / "unrelated.log").write_text("x")
        assert not changes.wait(0.2)
        (tmp_path / "tradewind.db-wal").write_bytes(b"frame")
        assert changes.wait(5)
        assert not changes.wait(0.2)  # each change is seen once
        with database.open("ab") as handle:
            handle.write(b"page")
        assert changes.wait(5)
    finally:
        changes.close()


def test_the_waker_hears_a_commit_yet_rests_while_nothing_changes(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tradewind.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    changed = threading.Event()
    stop = threading.Event()
    thread = wakeups.start_waker(engine, changed.set, stop, own_pid=-1)
    assert thread is not None
    try:
        time.sleep(0.3)  # it has read the database's state and gone to sleep
        before = voluntary_switches(thread)
        time.sleep(1.0)
        assert voluntary_switches(thread) - before <= 6
        assert not changed.is_set()
        writer = sa.create_engine(engine.url)  # another connection, as another process's
        with writer.begin() as other:
            other.execute(sa.text("INSERT INTO t VALUES (1)"))
        writer.dispose()
        assert changed.wait(5)
    finally:
        stop.set()
        thread.join(5)
        engine.dispose()
    assert not thread.is_alive()

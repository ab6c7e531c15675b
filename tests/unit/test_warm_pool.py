"""Which warm process the fork server lets go when another DAG file needs room: the least
recently used, unless every one was used within the last moment (the other file's try then
runs the cold way, instead of a warm process being replaced at every try); and only for a file
known to be slow to import."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.executors.processes import warm


@pytest.fixture
def pool() -> Iterator[tuple[warm.WarmPool, list[socket.socket]]]:
    made = warm.WarmPool(
        capacity=2,
        fork_warm=lambda path, sock: None,
        spawn=lambda request: None,
        send=lambda message: None,
        watch=lambda proc: None,
        unwatch=lambda proc: None,
    )
    theirs: list[socket.socket] = []
    yield made, theirs
    for proc in [*made.by_file.values(), *made.retiring]:
        proc.sock.close()
    for sock in theirs:
        sock.close()


def _ready(
    pool: tuple[warm.WarmPool, list[socket.socket]], path: str, used_ago: float
) -> warm.WarmProcess:
    made, theirs = pool
    ours, other = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.append(other)
    now = time.monotonic()
    proc = warm.WarmProcess(path, 0, ours, started=now - 60, last_used=now - used_ago, ready=True)
    made.by_file[path] = proc
    return proc


def test_the_least_recently_used_process_goes_and_is_told_to_retire(
    pool: tuple[warm.WarmPool, list[socket.socket]],
) -> None:
    older = _ready(pool, "/dags/a.py", used_ago=30)
    _ready(pool, "/dags/b.py", used_ago=5)
    made, theirs = pool

    assert made._evict()

    assert older.retiring
    assert "/dags/a.py" not in made.by_file
    assert json.loads(theirs[0].recv(100)) == {"retire": True}
    assert "/dags/b.py" in made.by_file


def test_no_process_used_just_now_goes(pool: tuple[warm.WarmPool, list[socket.socket]]) -> None:
    _ready(pool, "/dags/a.py", used_ago=0.1)
    _ready(pool, "/dags/b.py", used_ago=0.2)
    made, _ = pool

    assert not made._evict()

    assert sorted(made.by_file) == ["/dags/a.py", "/dags/b.py"]
    assert not made.retiring


def test_a_file_is_worth_a_place_while_known_slow_to_import_and_unchanged(
    pool: tuple[warm.WarmPool, list[socket.socket]], tmp_path: Path
) -> None:
    made, _ = pool
    dag_file = tmp_path / "dag.py"
    dag_file.write_text("x = 1\n")
    signature = warm.file_signature(dag_file)
    assert signature is not None
    path = str(dag_file)

    assert not made.worth_a_place(path, signature)  # nothing known yet
    made.learn(path, warm.WORTH_A_PLACE / 2)
    assert not made.worth_a_place(path, signature)
    made.learn(path, warm.WORTH_A_PLACE * 4)
    assert made.worth_a_place(path, signature)

    dag_file.write_text("x = 1\ny = 2\n")
    changed = warm.file_signature(dag_file)
    assert changed is not None
    assert changed != signature
    assert not made.worth_a_place(path, changed)


def test_a_full_pool_lets_nobody_go_for_a_file_not_known_to_be_slow(
    pool: tuple[warm.WarmPool, list[socket.socket]], tmp_path: Path
) -> None:
    _ready(pool, "/dags/a.py", used_ago=30)
    _ready(pool, "/dags/b.py", used_ago=30)
    made, _ = pool
    unknown, quick = tmp_path / "unknown.py", tmp_path / "quick.py"
    for path in (unknown, quick):
        path.write_text("x = 1\n")
    made.learn(str(quick), warm.WORTH_A_PLACE / 2)

    assert made._start(str(unknown)) is None
    assert made._start(str(quick)) is None

    assert sorted(made.by_file) == ["/dags/a.py", "/dags/b.py"]
    assert not made.retiring

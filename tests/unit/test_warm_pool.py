"""Which warm process the fork server lets go when another DAG file needs room: the least
recently used, unless every one was used within the last moment (the other file's try then
runs the cold way, instead of a warm process being replaced at every try)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

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

"""Warm processes: the fork server's children that have imported one DAG file each.

Importing a DAG file is most of what a short try costs (a 200-task file takes tens of
milliseconds to build). The fork server therefore forks, per DAG file, a *warm process* that
imports the file once (through the runner module's ``warm_file(path)`` hook) and then serves
that file's tries exactly as the fork server does: it forks each try, says when it started and
how it ended. A try forked from it finds its DAG already built.

The fork server routes a request to the file's warm process and passes the warm process's
reports on unchanged, so the executor cannot tell the difference. It keeps
``core.warm_dag_files`` of them, least recently used first out, and lets one go when:

- the DAG file, or a module of the user's own that it imported, changed (the import is
  stale): the next try starts a new warm process, the old one finishes what it runs and exits;
- it was not used for :data:`IDLE_LIMIT` seconds;
- room is needed for another file and it is the least recently used, unused for
  :data:`IN_USE` seconds (when every one was used more recently, the other file's try runs
  the cold way). Only a file known to import in :data:`WORTH_A_PLACE` seconds of CPU or more
  takes a place from another: known from its warm process's import, or from a try of it that
  ran the cold way (its whole CPU time, of which the import is a part). The tries of other
  files run the cold way while the pool is full;
- it did not finish importing within :data:`START_LIMIT` seconds, or died while importing: the
  file is then served the cold way (each try imports it) until it changes.

A warm process that dies with tries in flight reports nothing more for them; the fork server
reports each of them failed, so the executor never waits on a try nobody runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradewind.executors.processes.handover import Request

IDLE_LIMIT = 120.0
# A warm process used this recently is not let go to make room for another file.
IN_USE = 1.0
START_LIMIT = 60.0
# A file that imports in less CPU time than this (or is not known to take more) gets a warm
# process only when the pool has room. Pushing another out for it costs a fork, an import and
# an exit; with more such files busy at once than the pool holds, each warm process served a
# try or two before it was let go again, and many small DAG files ran faster with no warm
# processes at all (bench/README.md). A small DAG file imports in about 6 ms of CPU, and a
# no-op try of it started the cold way takes about 10 ms in all.
WORTH_A_PLACE = 0.025
# How many files' import times are remembered.
KNOWN_FILES = 10_000
MAX_MESSAGE = 1 << 20

Signature = tuple[int, int]


def file_signature(path: str | os.PathLike[str]) -> Signature | None:
    """What tells a changed file: its modification time (ns) and size; None when it is gone.

    The task runner keeps a DAG file it imported ahead of its tries by the same mark
    (:mod:`tradewind.runtime.dagfile`), so that both see a change alike.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


@dataclass(eq=False)
class WarmProcess:
    dag_file: str
    pid: int
    sock: socket.socket
    started: float
    last_used: float
    ready: bool = False
    retiring: bool = False
    # The files its import depends on, with their signatures when it imported them.
    files: list[tuple[str, Signature | None]] = field(default_factory=list)
    # Requests that came before it was ready.
    held: list[Request] = field(default_factory=list)
    inflight: set[int] = field(default_factory=set)

    def stale(self) -> bool:
        return any(file_signature(path) != known for path, known in self.files)


class WarmPool:
    """The fork server's warm processes, by DAG file.

    The fork server gives it: ``fork_warm(path, sock)`` (run in the forked child: import the
    file and serve; never returns), ``spawn(request)`` (start a try the cold way),
    ``send(message)`` (to the executor), and ``watch``/``unwatch`` (its selector).
    """

    def __init__(
        self,
        *,
        capacity: int,
        fork_warm: Callable[[str, socket.socket], None],
        spawn: Callable[[Request], None],
        send: Callable[[dict[str, Any]], None],
        watch: Callable[[WarmProcess], None],
        unwatch: Callable[[WarmProcess], None],
    ) -> None:
        self.capacity = capacity
        self._fork_warm = fork_warm
        self._spawn = spawn
        self._send = send
        self._watch = watch
        self._unwatch = unwatch
        self.by_file: dict[str, WarmProcess] = {}
        self.retiring: list[WarmProcess] = []
        # Files whose import kills a warm process, with the signature that did it.
        self.broken: dict[str, Signature | None] = {}
        # What importing each file costs (CPU seconds, see learn), with its signature then.
        self.import_cost: dict[str, tuple[Signature | None, float]] = {}

    # ---- requests ---------------------------------------------------------------------------

    def take(self, request: Request) -> bool:
        """Route a try to its file's warm process; False: start it the cold way instead."""
        path = request.workload.dag_file
        if path in self.broken:
            if self.broken[path] == file_signature(path):
                return False
            del self.broken[path]
        proc = self.by_file.get(path)
        if proc is not None and proc.ready and proc.stale():
            self._retire(proc)
            proc = None
        if proc is None:
            proc = self._start(path)
            if proc is None:
                return False
        proc.last_used = time.monotonic()
        if not proc.ready:
            proc.held.append(request)
            return True
        return self._forward(proc, request)

    def _forward(self, proc: WarmProcess, request: Request) -> bool:
        """Pass the request on as it came (with the workload's memory file, if it has one)."""
        try:
            request.send(proc.sock)
        except OSError:
            return False
        request.close()
        proc.inflight.add(request.ident)
        return True

    # ---- life cycle -------------------------------------------------------------------------

    def _start(self, path: str) -> WarmProcess | None:
        signature = file_signature(path)
        if self.capacity <= 0 or signature is None:
            return None
        if len(self.by_file) >= self.capacity and not (
            self.worth_a_place(path, signature) and self._evict()
        ):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return None
        if pid == 0:
            ours.close()
            self._fork_warm(path, theirs)  # never returns
        theirs.close()
        now = time.monotonic()
        proc = WarmProcess(path, pid, ours, started=now, last_used=now)
        self.by_file[path] = proc
        self._watch(proc)
        return proc

    def worth_a_place(self, path: str, signature: Signature) -> bool:
        """Whether the file, as it is, is known to import in :data:`WORTH_A_PLACE` or more."""
        known = self.import_cost.get(path)
        return known is not None and known[0] == signature and known[1] >= WORTH_A_PLACE

    def learn(self, path: str, cpu_s: float, signature: Signature | None = None) -> None:
        """Remember what importing ``path`` costs: a warm process's import, or the whole CPU
        time of a try that ran the cold way (the import is part of it)."""
        if signature is None:
            signature = file_signature(path)
        self.import_cost.pop(path, None)
        if len(self.import_cost) >= KNOWN_FILES:
            del self.import_cost[next(iter(self.import_cost))]
        self.import_cost[path] = (signature, cpu_s)

    def _evict(self) -> bool:
        """Let the least recently used ready process go, to make room; False if none can.

        One used within :data:`IN_USE` seconds stays: with more DAG files busy at once than
        the pool holds, replacing processes at every try cost each try a warm start (a fork
        and an import) and then an exit, more than a cold try's import alone."""
        now = time.monotonic()
        ready = [
            p
            for p in self.by_file.values()
            if p.ready and not p.held and now - p.last_used >= IN_USE
        ]
        if not ready:
            return False
        self._retire(min(ready, key=lambda p: p.last_used))
        return True

    def _retire(self, proc: WarmProcess) -> None:
        """It takes no more tries; it exits once those it runs have ended."""
        if self.by_file.get(proc.dag_file) is proc:
            del self.by_file[proc.dag_file]
        proc.retiring = True
        self.retiring.append(proc)
        try:
            proc.sock.send(json.dumps({"retire": True}).encode())
        except OSError:
            self.lost(proc)

    def expire(self, now: float) -> None:
        for proc in list(self.by_file.values()):
            if not proc.ready and now - proc.started > START_LIMIT:
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGKILL)
            elif proc.ready and not proc.inflight and now - proc.last_used > IDLE_LIMIT:
                self._retire(proc)

    def next_check(self) -> float | None:
        """How long the server may wait before calling :meth:`expire` (None: no need)."""
        if not self.by_file:
            return None
        return min(IDLE_LIMIT, START_LIMIT) / 2

    # ---- its reports ------------------------------------------------------------------------

    def on_readable(self, proc: WarmProcess) -> None:
        while True:
            try:
                data = proc.sock.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.lost(proc)
                return
            self._on_message(proc, json.loads(data))

    def _on_message(self, proc: WarmProcess, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "ready":
            proc.ready = True
            proc.files = [(str(p), (int(m), int(s))) for p, m, s in message.get("files", [])]
            if isinstance(import_s := message.get("import_s"), int | float):
                self.learn(proc.dag_file, float(import_s), dict(proc.files).get(proc.dag_file))
            held, proc.held = proc.held, []
            for request in held:
                if not self._forward(proc, request):
                    self._spawn(request)
            return
        if event in ("exited", "failed"):
            proc.inflight.discard(int(message.get("id", -1)))
        if event in ("started", "exited", "failed"):
            self._send(message)

    def lost(self, proc: WarmProcess) -> None:
        """Its socket closed: it exited (retired), or it died."""
        self._unwatch(proc)
        proc.sock.close()
        if self.by_file.get(proc.dag_file) is proc:
            del self.by_file[proc.dag_file]
        if proc in self.retiring:
            self.retiring.remove(proc)
        if not proc.ready:
            # Importing this file kills the process: its tries import it themselves, and
            # report what goes wrong as tries do.
            self.broken[proc.dag_file] = file_signature(proc.dag_file)
        held, proc.held = proc.held, []
        for request in held:
            self._spawn(request)
        for ident in sorted(proc.inflight):
            self._send(
                {
                    "event": "failed",
                    "id": ident,
                    "message": f"the warm process of {proc.dag_file} died while it ran the try",
                }
            )
        proc.inflight.clear()

    # ---- for the fork server ----------------------------------------------------------------

    def all(self) -> list[WarmProcess]:
        return [*self.by_file.values(), *self.retiring]

    def inherited_fds(self) -> list[int]:
        """What a forked child must close: every warm socket and every held request's pipe
        and memory file."""
        fds = []
        for proc in self.all():
            fds.append(proc.sock.fileno())
            for request in proc.held:
                fds.extend(request.fds)
        return fds

    def close(self) -> list[int]:
        """Close every warm socket (each then stops its tries and exits); their pids."""
        pids = []
        for proc in self.all():
            self._unwatch(proc)
            for request in proc.held:
                request.close()
            proc.held.clear()
            proc.sock.close()
            pids.append(proc.pid)
        self.by_file.clear()
        self.retiring.clear()
        return pids

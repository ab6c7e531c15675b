"""Parse DAG files in child processes, several at once, each file with a time limit.

Files are imported in children forked from this (warm) process, so a parse costs
milliseconds rather than a fresh interpreter, and whatever a file does at import (loop
forever, call ``os._exit``, fork, signal its parent, crash the interpreter) stays in a child:
see :mod:`tradewind.parsing.sandbox` for the keeper and the importer each child is made of.
A child takes a small batch of files (up to :data:`BATCH`, fewer when there are few), imports
them one after the other and sends one JSON line per file through a pipe.

Forking is then paid once per batch rather than once per file. When a child dies, runs out
of time or sends something that is not the result of the file it was importing, that file
gets the error, and the files after it in its batch are parsed again one per child, so a bad
file never costs another file its result.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tradewind.parsing import loader, sandbox

BATCH = 8
# A child that sends more than this without ending a line is stopped (the file's error): a
# file that writes garbage into the result pipe must not fill the processor's memory.
MAX_RESULT_BYTES = 256 * 1024 * 1024
# How long a child has to end after it was told to stop, before its process group is killed.
STOP_GRACE = 5.0
# ``tick`` is called at least this often (seconds) while children run.
TICK_INTERVAL = 1.0


@dataclass
class _Child:
    paths: list[Path]
    pid: int  # its keeper's; also its process group
    fd: int  # the result pipe
    stop_fd: int  # written or closed: the keeper ends the import
    deadline: float
    started: float
    done: int = 0
    buffer: bytearray = field(default_factory=bytearray)
    # Why its results are no longer believed (it sent something that is no file's result).
    broken: str | None = None

    @property
    def path(self) -> Path:
        """The file it is importing now (or was, when it died)."""
        return self.paths[min(self.done, len(self.paths) - 1)]


def _describe_exit(status: int, path: Path) -> str:
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return f"{path}: the parsing process was killed by {sig} while importing the file"
    return (
        f"{path}: the parsing process exited with code {os.waitstatus_to_exitcode(status)} "
        "while importing the file, before sending its result (os._exit, a crash, or the file "
        "closed the process's file descriptors)"
    )


def _error_result(path: Path, message: str, started: float) -> loader.ParsedFile:
    return loader.ParsedFile(
        str(path),
        errors=[loader.FileError(message, message)],
        duration=time.monotonic() - started,
    )


def parse_files(
    paths: Iterable[Path],
    *,
    processes: int,
    timeout: float,
    sys_path: list[str] | None = None,
    memory_limit_mb: int = 0,
    tick: Callable[[], object] | None = None,
) -> Iterator[loader.ParsedFile]:
    """Parse each file in its own child, at most ``processes`` at a time; yield results as they end.

    A child still running after ``timeout`` seconds is stopped (with whatever it started) and
    its file reported as an import error. ``memory_limit_mb`` (0: none) limits the address
    space of each importer. ``tick`` is called at least every :data:`TICK_INTERVAL` seconds
    (the processor's heartbeat); the time it takes does not count against the children.
    """
    pending = list(paths)
    pending.reverse()
    # Files that followed a failing one in its batch: parsed one per child from now on.
    alone: list[Path] = []
    running: dict[int, _Child] = {}
    selector = selectors.DefaultSelector()
    extra_path = list(sys_path or [])
    next_tick = time.monotonic() + TICK_INTERVAL
    loader.warm_imports()
    # Objects that exist before the fork are never collected in the child, so their pages
    # stay shared with the parent instead of being copied when the collector touches them.
    gc.freeze()
    try:
        while pending or alone or running:
            while (pending or alone) and len(running) < processes:
                batch = _next_batch(pending, alone, processes)
                child = _spawn(batch, timeout, extra_path, memory_limit_mb)
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ)
            wait = _wait(running.values(), next_tick if tick is not None else None)
            for key, _ in selector.select(timeout=wait):
                child = running[key.fd]
                data = os.read(child.fd, 1 << 16)
                if data:
                    yield from _results(child, data, timeout)
                    if child.broken is None:
                        continue
                selector.unregister(child.fd)
                del running[child.fd]
                yield from _end(child, alone)
            yield from _expire(running, selector, timeout, alone)
            if tick is not None and time.monotonic() >= next_tick:
                next_tick = _tick(tick, running.values())
    finally:
        for fd, child in running.items():
            selector.unregister(fd)
            _stop(child)
        selector.close()
        gc.unfreeze()


def _next_batch(pending: list[Path], alone: list[Path], processes: int) -> list[Path]:
    """The files the next child parses: one that must go alone, else a share of the rest."""
    if alone:
        return [alone.pop()]
    size = max(1, min(BATCH, len(pending) // processes))
    return [pending.pop() for _ in range(size)]


def _wait(running: Iterable[_Child], next_tick: float | None) -> float:
    """Seconds until the first child's deadline or the next tick."""
    now = time.monotonic()
    wait = max(0.0, min(c.deadline for c in running) - now)
    if next_tick is not None:
        wait = min(wait, max(0.0, next_tick - now))
    return wait


def _expire(
    running: dict[int, _Child],
    selector: selectors.BaseSelector,
    timeout: float,
    alone: list[Path],
) -> Iterator[loader.ParsedFile]:
    """Stop the children past their deadline; yield their files' results."""
    now = time.monotonic()
    for fd, child in list(running.items()):
        if now >= child.deadline:
            selector.unregister(fd)
            del running[fd]
            yield from _kill(child, timeout, alone)


def _tick(tick: Callable[[], object], running: Iterable[_Child]) -> float:
    """Call ``tick``; returns when the next one is due."""
    before = time.monotonic()
    tick()
    # Time spent in the tick (a slow metastore) is time no result was read: not the files'.
    paused = time.monotonic() - before
    for child in running:
        child.deadline += paused
    return time.monotonic() + TICK_INTERVAL


def _spawn(paths: list[Path], timeout: float, sys_path: list[str], memory_limit_mb: int) -> _Child:
    read_fd, write_fd = os.pipe()
    stop_r, stop_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.close(stop_w)
        sandbox.keep(paths, write_fd, stop_r, sys_path=sys_path, memory_limit_mb=memory_limit_mb)
    os.close(write_fd)
    os.close(stop_r)
    # Set the group from both sides: whichever runs first wins, so a kill never misses the child.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    started = time.monotonic()
    return _Child(paths, pid, read_fd, stop_w, started + timeout, started)


def _results(child: _Child, data: bytes, timeout: float) -> Iterator[loader.ParsedFile]:
    """The files whose lines are complete; each one restarts the time limit for the next.

    A line that is not the result of the file expected next (garbage the file wrote into the
    pipe) marks the child broken: its file gets the error, the child is stopped.
    """
    child.buffer += data
    while (end := child.buffer.find(b"\n")) >= 0 and child.done < len(child.paths):
        line = bytes(child.buffer[:end])
        del child.buffer[: end + 1]
        path = child.paths[child.done]
        try:
            result = loader.ParsedFile.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            result = None
        if result is None or result.fileloc != str(path):
            child.broken = f"{path}: the parsing process sent a broken result (importing the file)"
            return
        child.done += 1
        now = time.monotonic()
        yield result
        child.started = now
        child.deadline = now + timeout
    if child.done < len(child.paths) and len(child.buffer) > MAX_RESULT_BYTES:
        child.broken = (
            f"{child.path}: the parsing process sent over {MAX_RESULT_BYTES >> 20} MB "
            "without ending its result while importing the file"
        )


def _end(child: _Child, alone: list[Path]) -> Iterator[loader.ParsedFile]:
    """The child closed its pipe (its keeper ends), or it sent something that is no result."""
    if child.broken is not None:
        _stop(child)
        _retry_alone(child, alone)
        yield _error_result(child.path, child.broken, child.started)
        return
    yield from _finish(child, alone)


def _finish(child: _Child, alone: list[Path]) -> Iterator[loader.ParsedFile]:
    """Its keeper ended: the child is done, or it died importing ``child.path``."""
    os.close(child.fd)
    os.close(child.stop_fd)
    _, status = os.waitpid(child.pid, 0)
    _reap_group(child.pid)
    if child.done < len(child.paths):
        yield _error_result(child.path, _describe_exit(status, child.path), child.started)
        _retry_alone(child, alone)


# Ends the import error of a file whose import ran out of time.
TIMED_OUT = "(dag_processor.file_parse_timeout)"


def _retry_alone(child: _Child, alone: list[Path]) -> None:
    """The files after the one that failed go back, to be parsed one per child."""
    alone.extend(reversed(child.paths[child.done + 1 :]))


def _kill(child: _Child, timeout: float, alone: list[Path]) -> Iterator[loader.ParsedFile]:
    """Out of time: stop the child; its file gets the error (unless every result came)."""
    ended = _exited(child.pid)
    status = _stop(child)
    if child.done >= len(child.paths):
        return  # every file answered; something the last one started held the pipe open
    if ended:
        # It died (the file killed its keeper) but something it started held the pipe.
        message = _describe_exit(status, child.path)
    else:
        message = (
            f"{child.path}: importing the file took longer than {timeout:g} s and was stopped "
            f"{TIMED_OUT}"
        )
    _retry_alone(child, alone)
    yield _error_result(child.path, message, child.started)


def _exited(pid: int) -> bool:
    """Whether the process has ended (it stays a zombie until reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return False


def _stop(child: _Child) -> int:
    """Tell the keeper to stop (it kills the importer and what that started), reap it, then
    kill anything left in its process group. Returns its wait status."""
    os.close(child.stop_fd)
    end = time.monotonic() + STOP_GRACE
    while True:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() >= end:
            _reap_group(child.pid)
            _, status = os.waitpid(child.pid, 0)
            break
        time.sleep(0.005)
    _reap_group(child.pid)
    os.close(child.fd)
    return status


def _reap_group(pgid: int) -> None:
    """Kill anything left in the child's process group, so nothing leaks."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

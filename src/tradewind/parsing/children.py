"""Parse DAG files in child processes, several at once, each file with a time limit.

Files are imported in children forked from this (warm) process, so a parse costs
milliseconds rather than a fresh interpreter, and whatever a file does at import (loop
forever, call ``os._exit``, crash the interpreter) stays in a child. A child takes a small
batch of files (up to :data:`BATCH`, fewer when there are few), imports them one after the
other and sends one JSON line per file through a pipe; it leaves with ``os._exit`` and never
touches a database connection or any other resource its parent opened.

Forking is then paid once per batch rather than once per file. When a child dies or runs out
of time, the file it was importing gets the error, and the files after it in its batch are
parsed again one per child, so a bad file never costs another file its result.
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tradewind.parsing import loader

BATCH = 8


@dataclass
class _Child:
    paths: list[Path]
    pid: int
    fd: int
    deadline: float
    started: float
    done: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def path(self) -> Path:
        """The file it is importing now (or was, when it died)."""
        return self.paths[min(self.done, len(self.paths) - 1)]


def _run_child(paths: list[Path], write_fd: int, sys_path: list[str]) -> None:
    """The child's whole life: import and serialize each file, one line each, exit."""
    code = 0
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.path[:0] = [p for p in sys_path if p not in sys.path]
        for path in paths:
            payload = json.dumps(loader.load_file(path).to_json()).encode() + b"\n"
            view = memoryview(payload)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _describe_exit(status: int, path: Path) -> str:
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return f"{path}: the parsing process was killed by {sig} while importing the file"
    return (
        f"{path}: the parsing process exited with code {os.waitstatus_to_exitcode(status)} "
        "while importing the file (os._exit or a crash)"
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
) -> Iterator[loader.ParsedFile]:
    """Parse each file in its own child, at most ``processes`` at a time; yield results as they end.

    A child still running after ``timeout`` seconds is killed (its whole process group) and its
    file reported as an import error.
    """
    pending = list(paths)
    pending.reverse()
    # Files that followed a failing one in its batch: parsed one per child from now on.
    alone: list[Path] = []
    running: dict[int, _Child] = {}
    selector = selectors.DefaultSelector()
    extra_path = list(sys_path or [])
    loader.warm_imports()
    # Objects that exist before the fork are never collected in the child, so their pages
    # stay shared with the parent instead of being copied when the collector touches them.
    gc.freeze()
    try:
        while pending or alone or running:
            while (pending or alone) and len(running) < processes:
                if alone:
                    batch = [alone.pop()]
                else:
                    size = max(1, min(BATCH, len(pending) // processes))
                    batch = [pending.pop() for _ in range(size)]
                child = _spawn(batch, timeout, extra_path)
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ)
            wait = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
            for key, _ in selector.select(timeout=wait):
                fd = key.fd
                assert isinstance(fd, int)
                child = running[fd]
                data = os.read(fd, 1 << 16)
                if data:
                    yield from _results(child, data, timeout)
                    continue
                selector.unregister(fd)
                del running[fd]
                yield from _finish(child, alone)
            now = time.monotonic()
            for fd, child in list(running.items()):
                if now >= child.deadline:
                    selector.unregister(fd)
                    del running[fd]
                    yield _kill(child, timeout, alone)
    finally:
        for fd, child in running.items():
            selector.unregister(fd)
            _kill(child, timeout, [])
        selector.close()
        gc.unfreeze()


def _spawn(paths: list[Path], timeout: float, sys_path: list[str]) -> _Child:
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(paths, write_fd, sys_path)
    os.close(write_fd)
    # Set the group from both sides: whichever runs first wins, so a kill never misses the child.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    started = time.monotonic()
    return _Child(paths, pid, read_fd, started + timeout, started)


def _results(child: _Child, data: bytes, timeout: float) -> Iterator[loader.ParsedFile]:
    """The files whose lines are complete; each one restarts the time limit for the next."""
    child.buffer += data
    while (end := child.buffer.find(b"\n")) >= 0 and child.done < len(child.paths):
        line = bytes(child.buffer[:end])
        del child.buffer[: end + 1]
        path = child.paths[child.done]
        child.done += 1
        now = time.monotonic()
        try:
            yield loader.ParsedFile.from_json(json.loads(line))
        except (ValueError, KeyError):
            yield _error_result(path, f"{path}: the parsing process sent a broken result", now)
        child.started = now
        child.deadline = now + timeout


def _finish(child: _Child, alone: list[Path]) -> Iterator[loader.ParsedFile]:
    """The child closed its pipe: it is done, or it died importing ``child.path``."""
    os.close(child.fd)
    _, status = os.waitpid(child.pid, 0)
    _reap_group(child.pid)
    if child.done < len(child.paths):
        yield _error_result(child.path, _describe_exit(status, child.path), child.started)
        _retry_alone(child, alone)


def _retry_alone(child: _Child, alone: list[Path]) -> None:
    """The files after the one that failed go back, to be parsed one per child."""
    alone.extend(reversed(child.paths[child.done + 1 :]))


def _kill(child: _Child, timeout: float, alone: list[Path]) -> loader.ParsedFile:
    _reap_group(child.pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    os.close(child.fd)
    os.waitpid(child.pid, 0)
    message = (
        f"{child.path}: importing the file took longer than {timeout:g} s and was stopped "
        "(dag_processor.file_parse_timeout)"
    )
    _retry_alone(child, alone)
    return _error_result(child.path, message, child.started)


def _reap_group(pgid: int) -> None:
    """Kill anything the file started in the background (its process group), so nothing leaks."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

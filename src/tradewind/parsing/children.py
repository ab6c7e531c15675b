"""Parse DAG files in child processes, several at once, each with a time limit.

Each file is imported in a child forked from this (warm) process, so a parse costs
milliseconds rather than a fresh interpreter, and whatever the file does at import (loop
forever, call ``os._exit``, crash the interpreter) stays in the child. The child sends one JSON
document through a pipe and leaves with ``os._exit``: it never touches a database connection or
any other resource its parent opened.
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


@dataclass
class _Child:
    path: Path
    pid: int
    fd: int
    deadline: float
    started: float
    chunks: list[bytes] = field(default_factory=list)


def _run_child(path: Path, write_fd: int, sys_path: list[str]) -> None:
    """The child's whole life: import, serialize, write the result, exit. Never returns."""
    code = 0
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.path[:0] = [p for p in sys_path if p not in sys.path]
        payload = json.dumps(loader.load_file(path).to_json()).encode()
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
    running: dict[int, _Child] = {}
    selector = selectors.DefaultSelector()
    extra_path = list(sys_path or [])
    loader.warm_imports()
    # Objects that exist before the fork are never collected in the child, so their pages
    # stay shared with the parent instead of being copied when the collector touches them.
    gc.freeze()
    try:
        while pending or running:
            while pending and len(running) < processes:
                path = pending.pop()
                child = _spawn(path, timeout, extra_path)
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ)
            wait = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
            for key, _ in selector.select(timeout=wait):
                fd = key.fd
                assert isinstance(fd, int)
                child = running[fd]
                data = os.read(fd, 1 << 16)
                if data:
                    child.chunks.append(data)
                    continue
                selector.unregister(fd)
                del running[fd]
                yield _finish(child)
            now = time.monotonic()
            for fd, child in list(running.items()):
                if now >= child.deadline:
                    selector.unregister(fd)
                    del running[fd]
                    yield _kill(child, timeout)
    finally:
        for fd, child in running.items():
            selector.unregister(fd)
            _kill(child, timeout)
        selector.close()
        gc.unfreeze()


def _spawn(path: Path, timeout: float, sys_path: list[str]) -> _Child:
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(path, write_fd, sys_path)
    os.close(write_fd)
    # Set the group from both sides: whichever runs first wins, so a kill never misses the child.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    started = time.monotonic()
    return _Child(path, pid, read_fd, started + timeout, started)


def _finish(child: _Child) -> loader.ParsedFile:
    os.close(child.fd)
    _, status = os.waitpid(child.pid, 0)
    _reap_group(child.pid)
    raw = b"".join(child.chunks)
    if status == 0 and raw:
        try:
            return loader.ParsedFile.from_json(json.loads(raw))
        except (ValueError, KeyError):
            pass
    return _error_result(child.path, _describe_exit(status, child.path), child.started)


def _kill(child: _Child, timeout: float) -> loader.ParsedFile:
    _reap_group(child.pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    os.close(child.fd)
    os.waitpid(child.pid, 0)
    message = (
        f"{child.path}: importing the file took longer than {timeout:g} s and was stopped "
        "(dag_processor.file_parse_timeout)"
    )
    return _error_result(child.path, message, child.started)


def _reap_group(pgid: int) -> None:
    """Kill anything the file started in the background (its process group), so nothing leaks."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

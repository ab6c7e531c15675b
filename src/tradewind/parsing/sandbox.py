"""The processes that import DAG files for the DAG processor: a keeper and its importer.

A DAG file may do anything at import: fork, close or replace file descriptors, write garbage,
signal its parent or its process group, exit, loop forever, eat memory. Whatever it does must
end as that file's import error and touch nothing else. So the DAG processor forks a *keeper*
per batch of files, and the keeper forks the *importer* that imports them:

- the file's parent (``os.getppid()``) and process group are the keeper's, never the DAG
  processor's. The keeper blocks every signal it can, so only SIGKILL (or SIGSTOP) harms it;
  the importer asks the keeper before it sends each result, so a file that killed the keeper
  never has its result believed, and becomes the error instead of the file after it;
- the keeper is the subreaper of whatever the importer starts, so when the importer ends it
  kills and reaps everything left behind (copies of a fork included, even ones that left the
  process group), then ends with the importer's own exit status for the processor to read;
- the keeper holds the result pipe open until it ends, so the processor's end of file means
  the keeper is done; it ends the import when the processor writes to or closes the stop
  pipe (a time-out, or the processor died);
- the importer holds no descriptor of the processor's (its database connections, its
  selector) and reads and writes ``/dev/null`` on 0-2; its memory can be limited and the
  kernel's out-of-memory killer picks it first;
- copies a file forks at import leave as soon as the import returns in them (see
  :func:`tradewind.parsing.loader.import_dags`), so only the importer sends results.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import select
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from tradewind.parsing import loader

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
# The exit code of a keeper or importer that could not do its job (EX_SOFTWARE).
FAILED = 70


def _find_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no subreaper, no parent-death signal
        return None
    return prctl


_prctl = _find_prctl()  # looked up once, in the DAG processor, before any fork


def _set(option: int, value: int) -> None:
    if _prctl is not None:
        _prctl(option, value, 0, 0, 0)


def keep(
    paths: list[Path],
    write_fd: int,
    stop_fd: int,
    *,
    sys_path: list[str],
    memory_limit_mb: int,
) -> NoReturn:
    """The keeper's whole life (just forked by the DAG processor); never returns.

    ``write_fd`` is the result pipe (the keeper holds it until it ends); ``stop_fd`` is read
    until the processor writes to it or closes it (it stops the child, or it died).
    """
    code = FAILED
    try:
        # A file that signals its parent changes nothing (SIGKILL and SIGSTOP aside).
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        os.setpgid(0, 0)
        write_fd, stop_fd = _only_stdio_and(write_fd, stop_fd)
        _set(_PR_SET_CHILD_SUBREAPER, 1)
        ask_r, ask_w = os.pipe()
        answer_r, answer_w = os.pipe()
        keeper = os.getpid()
        importer = os.fork()
        if importer == 0:
            for fd in (stop_fd, ask_r, answer_w):
                os.close(fd)
            _import(paths, write_fd, (keeper, ask_w, answer_r), sys_path, memory_limit_mb)
        os.close(ask_w)
        os.close(answer_r)
        # A file that asks without reading the answers must not block the keeper.
        os.set_blocking(answer_w, False)
        status = _serve(importer, ask_r, answer_w, stop_fd)
        _end_descendants()
        code = _relay(status)
    finally:
        os._exit(code)


def _only_stdio_and(*keep: int) -> list[int]:
    """Close every inherited descriptor but ``keep``; 0-2 become /dev/null. Returns the numbers
    of ``keep`` (moved above 2 where they were one of them)."""
    kept = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3) if fd <= 2 else fd for fd in keep]
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        if devnull != std:
            os.dup2(devnull, std)
    if devnull > 2:
        os.close(devnull)
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, os.sysconf("SC_OPEN_MAX")))
    return kept


def _serve(importer: int, ask: int, answer: int, stop: int) -> int:
    """Answer the importer's questions until it ends, and end it when the processor says so.
    Returns its wait status."""
    try:
        ended: int | None = os.pidfd_open(importer)
    except (AttributeError, OSError):
        ended = None  # no pidfd here: look every few milliseconds
    watched = [stop, ask] if ended is None else [stop, ask, ended]
    while True:
        ready, _, _ = select.select(watched, [], [], 0.02 if ended is None else None)
        if stop in ready:
            # Out of time, or the processor died: end the import.
            with contextlib.suppress(ProcessLookupError):
                os.kill(importer, signal.SIGKILL)
            return os.waitpid(importer, 0)[1]
        if ask in ready:
            questions = os.read(ask, 64)
            if questions:
                with contextlib.suppress(OSError):
                    os.write(answer, b"y" * len(questions))
            else:
                watched.remove(ask)
        pid, status = os.waitpid(importer, os.WNOHANG)
        if pid:
            return status


def _import(
    paths: list[Path],
    write_fd: int,
    keeper: tuple[int, int, int],
    sys_path: list[str],
    memory_limit_mb: int,
) -> NoReturn:
    """The importer: import and serialize each file, send one JSON line each, exit."""
    code = 0
    try:
        keeper_pid, ask, answer = keeper
        _set(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != keeper_pid:
            os._exit(FAILED)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        _limit_memory(memory_limit_mb)
        sys.path[:0] = [p for p in sys_path if p not in sys.path]
        for path in paths:
            parsed = _name_the_limit(loader.load_file(path), memory_limit_mb)
            payload = json.dumps(parsed.to_json()).encode() + b"\n"
            # Ask the keeper before sending: a file that killed it (os.kill(os.getppid(), ...))
            # gets no answer, so its result is never taken for a good one, and the processor
            # blames this file, not the next.
            os.write(ask, b"?")
            if os.read(answer, 1) != b"y":
                os._exit(FAILED)
            view = memoryview(payload)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
    except BaseException:
        code = FAILED
    finally:
        os._exit(code)


def _name_the_limit(parsed: loader.ParsedFile, limit_mb: int) -> loader.ParsedFile:
    """A MemoryError says which setting the file ran into."""
    if limit_mb > 0:
        note = f" (a DAG file may use {limit_mb} MB: dag_processor.parsing_memory_limit_mb)"
        parsed.errors = [
            loader.FileError(error.message + note, error.stacktrace.rstrip() + note)
            if "MemoryError" in error.message
            else error
            for error in parsed.errors
        ]
    return parsed


def _limit_memory(limit_mb: int) -> None:
    with contextlib.suppress(OSError):
        # The kernel's out-of-memory killer takes this process before any other.
        Path("/proc/self/oom_score_adj").write_text("1000")
    if limit_mb > 0:
        limit = limit_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _children() -> list[int] | None:
    """This process's children (None where the kernel does not list them)."""
    try:
        text = Path(f"/proc/self/task/{os.getpid()}/children").read_text()
    except OSError:
        return None
    return [int(pid) for pid in text.split()]


def _end_descendants() -> None:
    """Kill and reap what the importer left: as their subreaper, its orphans are ours."""
    while True:
        children = _children()
        if not children:
            # None: not listed here; the processor kills this process group afterwards.
            return
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _relay(status: int) -> int:
    """End as the importer ended: the same signal, or the exit code returned."""
    if not os.WIFSIGNALED(status):
        return os.waitstatus_to_exitcode(status)
    sig = os.WTERMSIG(status)
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of the keeper
    with contextlib.suppress(OSError, ValueError):
        signal.signal(sig, signal.SIG_DFL)
    with contextlib.suppress(OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    return 128 + sig

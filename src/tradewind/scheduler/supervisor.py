"""The scheduler's DAG processor: a child process, started again whenever it dies.

The scheduler never imports DAG files; ``tradewind dag-processor`` does, in a process of its
own. A thread of the scheduler (not its loop) starts it, waits on it, and when it ends
without being asked to, logs how it ended and starts it again after a delay that doubles
with each death in a row (from :data:`FIRST_DELAY` up to :data:`MAX_DELAY`), so a processor
that dies at once does not spin. A processor that ran :data:`STABLE_AFTER` seconds starts
the count afresh.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from tradewind.settings import Settings, child_environ

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 60.0
STOP_TIMEOUT = 10.0

_PR_SET_PDEATHSIG = 1


class ProcessorSupervisor:
    """Keeps one ``tradewind dag-processor`` running beside the scheduler until :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self._env = child_environ(settings)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="dag-processor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the processor (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`) for good."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        # This thread starts every processor and lives as long as each: the kernel sends the
        # processor its parent-death signal when the thread that started it ends.
        delay = FIRST_DELAY
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    proc = self._spawn()
                except OSError as exc:
                    log.error("cannot start the DAG processor: %s", exc)
                    proc = None
                self._proc = proc
            started = time.monotonic()
            if proc is not None:
                code = proc.wait()
                if self._stopping.is_set():
                    return
                if time.monotonic() - started >= STABLE_AFTER:
                    delay = FIRST_DELAY
                log.error(
                    "the DAG processor (pid %d) %s; starting it again in %g s",
                    proc.pid,
                    _describe(code),
                    delay,
                )
            if self._stopping.wait(delay):
                return
            delay = min(MAX_DELAY, delay * 2)

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "dag-processor"],
            env=self._env,
            stdin=subprocess.DEVNULL,
            # Its own session: Ctrl-C in the scheduler's terminal, or a signal a DAG file
            # sends to the processor's process group, does not reach the scheduler.
            start_new_session=True,
            # Only a prctl system call runs between fork and exec (libc is resolved before),
            # which is safe even if another thread holds a lock at the fork.
            preexec_fn=_die_with_parent(),  # noqa: PLW1509
        )
        log.info("DAG processor started (pid %d)", proc.pid)
        return proc


def _describe(code: int) -> str:
    """How a process ended, from its return code (negative: the signal that killed it)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def _die_with_parent() -> Callable[[], None] | None:
    """What a child runs before exec so that it gets SIGTERM when this process dies.

    A scheduler killed with SIGKILL cannot stop its DAG processor, which would otherwise
    run on forever. Linux only (elsewhere None); libc is looked up here, before forking.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            # The parent died before the request was in place.
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child

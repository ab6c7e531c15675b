"""The sequential executor: one try at a time, each in a fresh child process.

Meant for debugging and the smallest setups. The child is ``tradewind tasks run ...
--report-fd FD`` (or, with another runner, :mod:`tradewind.executors.processes.runchild`),
started in a session and process group of its own with the executor's exact Settings in its
environment. It reports on the pipe FD; the executor learns that it ended through a pidfd, so
nothing waits on a fixed sleep.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from typing import ClassVar, Unpack

from tradewind.executors.base import ExecutorError
from tradewind.executors.processes import handover
from tradewind.executors.processes.executor import ProcessExecutor, ProcessOptions, RunningTry
from tradewind.executors.processes.runners import DEFAULT_RUNNER, signal_group
from tradewind.settings import Settings, child_environ
from tradewind.workloads import Workload


class SequentialExecutor(ProcessExecutor):
    """Runs one try at a time in a child process; the others wait in priority order."""

    name: ClassVar[str] = "sequential"

    def __init__(self, settings: Settings, **options: Unpack[ProcessOptions]) -> None:
        super().__init__(settings, **options)
        self._children: dict[int, tuple[subprocess.Popen[bytes], int]] = {}

    @property
    def capacity(self) -> int:
        return 1

    def command(
        self, workload: Workload, report_fd: int, workload_fd: int | None = None
    ) -> list[str]:
        """The child's command line for ``workload``, reporting on ``report_fd``; a runner
        other than the default one reads the workload from ``workload_fd`` (a memory file:
        a command line has a size limit, a workload has none)."""
        if self.runner == DEFAULT_RUNNER:
            args = workload.command()[1:]
            return [sys.executable, "-m", "tradewind", *args, "--report-fd", str(report_fd)]
        if workload_fd is None:
            raise ValueError(f"runner {self.runner!r} reads its workload from a file descriptor")
        module = "tradewind.executors.processes.runchild"
        return [sys.executable, "-m", module, self.runner, str(report_fd), str(workload_fd)]

    def _launch(self, attempt: RunningTry) -> None:
        fds: list[int] = []
        if self.runner != DEFAULT_RUNNER:
            fds.append(handover.memory_file(handover.encode(attempt.workload)))
        read_fd, write_fd = os.pipe()
        command = self.command(attempt.workload, write_fd, *fds)
        try:
            child = subprocess.Popen(
                command,
                pass_fds=(write_fd, *fds),
                env=child_environ(self.settings),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            os.close(read_fd)
            raise ExecutorError(f"cannot run {command[0]}: {exc}") from exc
        finally:
            for fd in (write_fd, *fds):
                os.close(fd)
        self._watch_output(attempt, read_fd)
        self._on_pid(attempt, child.pid)
        # The child is not reaped until we wait for it, so the pidfd cannot refer to another
        # process even if the child has already ended.
        pidfd = os.pidfd_open(child.pid)
        self._children[attempt.ident] = (child, pidfd)
        self._register(pidfd, functools.partial(self._on_child_exit, attempt))

    def _on_child_exit(self, attempt: RunningTry) -> None:
        entry = self._children.pop(attempt.ident, None)
        if entry is None:
            return
        child, pidfd = entry
        self._unregister(pidfd)
        os.close(pidfd)
        # Kill what the try left running in its group while the ended child, not yet reaped,
        # still holds the group id.
        signal_group(child.pid, signal.SIGKILL)
        self._on_exit(attempt, child.wait())

    def _stop_backend(self) -> None:
        for child, pidfd in self._children.values():
            self._unregister(pidfd)
            os.close(pidfd)
            signal_group(child.pid, signal.SIGKILL)
            child.wait()
        self._children.clear()

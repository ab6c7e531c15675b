"""The local executor: up to ``core.parallelism`` tries at once, forked from a warm fork server.

A try starts in milliseconds because the fork server (see
:mod:`tradewind.executors.processes.forkserver`) has already imported the runner. For each try
the executor makes a pipe, hands its write end to the fork server with the workload, and reads
the try's messages from the read end; the fork server says when the child started (its pid,
which is also its process group) and how it ended. Workloads beyond the free slots wait here,
higher ``priority_weight`` first.

A workload of any size reaches its try (a large one through a memory file, see
:mod:`tradewind.executors.processes.handover`); one that cannot be handed over fails its own
try and nothing else. If the fork server dies, the tries in flight are killed and reported
lost, and the next try starts a new fork server.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from typing import Any, ClassVar, Unpack

from tradewind.executors.processes.executor import ProcessExecutor, ProcessOptions, RunningTry
from tradewind.executors.processes.forkserver import ForkServer
from tradewind.executors.processes.runners import signal_group
from tradewind.settings import Settings

log = logging.getLogger(__name__)


class LocalExecutor(ProcessExecutor):
    """Runs tries in parallel on this machine, each in its own process group."""

    name: ClassVar[str] = "local"

    def __init__(self, settings: Settings, **options: Unpack[ProcessOptions]) -> None:
        super().__init__(settings, **options)
        self._server: ForkServer | None = None
        self._by_ident: dict[int, RunningTry] = {}

    @property
    def capacity(self) -> int:
        return self.settings.core.parallelism

    @property
    def server_pid(self) -> int | None:
        """The fork server's pid while one is running."""
        return None if self._server is None else self._server.pid

    def _start_backend(self) -> None:
        self._ensure_server()

    def _ensure_server(self) -> ForkServer:
        if self._server is None:
            server = ForkServer.launch(self.runner, self.settings)
            self._register(server.fileno(), functools.partial(self._on_control, server))
            self._server = server
        return self._server

    def _launch(self, attempt: RunningTry) -> None:
        server = self._ensure_server()
        read_fd, write_fd = os.pipe()
        self._by_ident[attempt.ident] = attempt
        self._watch_output(attempt, read_fd)
        try:
            # A HandoverError (this workload alone) fails this try: see ProcessExecutor._fill.
            server.run(attempt.ident, attempt.workload, write_fd)
        except OSError as exc:
            self._server_lost(server, f"the fork server is gone ({exc})")
        finally:
            os.close(write_fd)

    def _forget(self, attempt: RunningTry) -> None:
        self._by_ident.pop(attempt.ident, None)

    def _on_control(self, server: ForkServer) -> None:
        if server is not self._server:
            return
        messages, alive = server.receive()
        for message in messages:
            self._dispatch(message)
        if not alive:
            self._server_lost(server, "the fork server exited")

    def _dispatch(self, message: dict[str, Any]) -> None:
        attempt = self._by_ident.get(message.get("id", -1))
        if attempt is None:
            return
        event = message.get("event")
        if event == "started":
            self._on_pid(attempt, int(message["pid"]))
        elif event == "exited":
            self._on_exit(attempt, int(message["code"]))
        elif event == "failed":
            self._on_failure(attempt, f"could not start the try: {message.get('message')}")

    def _server_lost(self, server: ForkServer, why: str) -> None:
        if server is not self._server:
            return
        log.error("%s; the tries it was running are lost", why)
        self._server = None
        self._unregister(server.fileno())
        server.process.kill()
        server.stop()
        for attempt in list(self._by_ident.values()):
            if attempt.pid is not None:
                signal_group(attempt.pid, signal.SIGKILL)
            self._on_failure(attempt, why)

    def _stop_backend(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._unregister(server.fileno())
            server.stop()

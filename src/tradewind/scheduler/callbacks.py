"""DAG callbacks (on_success_callback, on_failure_callback of a run): which are due
(:class:`Callback`, a value the pass that finished the run returns) and the processes that run
them. They are user code, so each runs in a process of its own
(``tradewind.runtime.dag_callbacks``), started and never waited on.

So do the alerts of tries that failed outside their own process (:class:`TaskCallback`: their
process was killed, lost or stopped at its timeout, so it could not run them): the tries of a
pass go to ``tradewind.runtime.task_callbacks``, a few per process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tradewind.settings import Settings, child_environ
from tradewind.states import DagRunState
from tradewind.workloads import TaskAlerts

log = logging.getLogger(__name__)

# The longest error text passed on, and the most tries per process: a process's argument has a
# limit (128 KiB on Linux), and the JSON (ASCII) spells a character as up to 12 bytes.
MAX_ERROR = TaskAlerts.MAX_ERROR
TRIES_PER_PROCESS = 4


@dataclass(frozen=True)
class Callback:
    """A DAG callback due: the run that finished with ``outcome``, and the DAG file that has
    the callback."""

    fileloc: str
    dag_id: str
    run_id: str
    outcome: DagRunState


def spawn(settings: Settings, module: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
    """``python -m MODULE ARGS`` with exactly ``settings``, in a session of its own, its output
    discarded (the module writes its own log); OSError when it cannot start."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=child_environ(settings),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class DagCallbacks:
    """The callback processes of one scheduler; those that ended are reaped at each start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._running: list[subprocess.Popen[bytes]] = []

    def start(self, due: Iterable[Callback]) -> None:
        """Start a process for each callback, then reap the ones that ended (no zombies)."""
        for callback in due:
            args = [callback.fileloc, callback.dag_id, callback.run_id, callback.outcome.value]
            try:
                self._running.append(spawn(self.settings, "tradewind.runtime.dag_callbacks", args))
            except OSError as exc:
                log.error(
                    "cannot start the %s callback of %s: %s",
                    callback.outcome.value,
                    callback.dag_id,
                    exc,
                )
        self._running = [proc for proc in self._running if proc.poll() is None]

    def start_for_tries(self, due: Sequence[TaskCallback]) -> None:
        """Start the processes that run the alerts of tries that failed outside their own."""
        for first in range(0, len(due), TRIES_PER_PROCESS):
            chunk = due[first : first + TRIES_PER_PROCESS]
            args = [json.dumps([callback.to_json() for callback in chunk])]
            try:
                self._running.append(spawn(self.settings, "tradewind.runtime.task_callbacks", args))
            except OSError as exc:
                log.error("cannot start the alerts of %d failed tries: %s", len(chunk), exc)
        self.start(())


TaskCallback = TaskAlerts

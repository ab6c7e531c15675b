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
from dataclasses import asdict, dataclass
from typing import Any

from tradewind.settings import Settings, child_environ
from tradewind.states import DagRunState
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)

# The longest error text passed on, and the most tries per process: a process's argument has a
# limit (128 KiB on Linux), and the JSON (ASCII) spells a character as up to 12 bytes.
MAX_ERROR = 2000
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


@dataclass(frozen=True)
class TaskCallback:
    """The alerts due for a try that failed outside its own process (killed, lost, stopped at
    its timeout): its retry alerts when ``retry``, else its failure alerts; ``error`` says why
    it failed. Run by ``tradewind.runtime.task_callbacks``, which reads :meth:`to_json`."""

    dag_file: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    retry: bool
    error: str

    @property
    def key(self) -> TaskKey:
        return TaskKey(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "error": self.error[:MAX_ERROR]}

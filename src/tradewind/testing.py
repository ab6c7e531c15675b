"""In-memory doubles and small factories for tests of tradewind and of code built on it.

- :func:`scripted_runner`: a task runner whose behaviour is chosen by the task id, so a test
  can say what a try does (succeed, fail, crash in one of several ways, sleep, hang, ...).
  Executors take it by name: ``runner=SCRIPTED_RUNNER``.
- :class:`InlineExecutor`: an executor that runs each try inside :meth:`~InlineExecutor.poll`,
  in this process, for scheduler tests that need no child processes.
- :func:`make_workload`: a Workload with defaults for everything but the task id.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from tradewind.executors.base import (
    BaseExecutor,
    Channel,
    TaskEvent,
    cancelled_event,
    event_from_message,
    lost_event,
    now,
)
from tradewind.executors.processes.runners import Runner, describe_exit, load_runner, run_try
from tradewind.executors.workqueue import WorkQueue
from tradewind.reports import Kind
from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

SCRIPTED_RUNNER = "tradewind.testing:scripted_runner"

# How much more address space the "oom" try may take than it had: it fails fast, and the
# machine is never short of memory because of a test.
_OOM_HEADROOM = 256 << 20
_LONG_SLEEP = 1000.0


def make_workload(
    task_id: str,
    *,
    dag_id: str = "test_dag",
    run_id: str = "manual__2026-01-01T00:00:00+00:00",
    try_number: int = 1,
    map_index: int = -1,
    dag_file: str = "test_dag.py",
    priority_weight: int = 1,
    execution_timeout: float | None = None,
) -> Workload:
    """A workload for tests; only the task id (which picks the scripted behaviour) is required."""
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    return Workload(
        key, dag_file, priority_weight=priority_weight, execution_timeout=execution_timeout
    )


def spawned_pid_file(settings: Settings, key: TaskKey) -> Path:
    """Where a ``spawn`` try writes the pid of the grandchild it started."""
    name = f"{key.dag_id}.{key.task_id}.{key.map_index}.{key.try_number}.pid"
    return settings.home / "spawned" / name


def gate_file(settings: Settings) -> Path:
    """``gate`` tries wait until this file exists, then succeed."""
    return settings.home / "gate-open"


def open_gate(settings: Settings) -> None:
    """Let every ``gate`` try (of tries with these settings) finish."""
    path = gate_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def scripted_runner(workload: Workload, channel: Channel, settings: Settings) -> None:
    """Run a pretend task whose behaviour is chosen by the prefix of its task id.

    ``ok``: running, then success with the XCom ``return_value`` = task id. ``fail``: a
    retryable failure. ``raise``: raises (the process exits 1 without reporting). ``exit``:
    ``sys.exit(3)``. ``osexit``: ``os._exit(4)``. ``segv``: a segmentation fault. ``kill``:
    SIGKILLs itself. ``oom``: allocates memory (under an address-space limit) until that fails.
    ``sleep<N>``: sleeps N seconds, then succeeds. ``spawn``: starts a grandchild
    ``sleep 1000`` in its group (pid in :func:`spawned_pid_file`), then sleeps. ``stubborn``:
    ignores SIGTERM and sleeps. ``gate``: waits for :func:`open_gate`, then succeeds.
    ``linger``: succeeds at once, then its process waits for :func:`open_gate` before it ends.
    ``digest``: succeeds with the XCom ``return_value`` = the :func:`digest` of the run and of
    the executor_config its workload carries.
    """
    task_id = workload.key.task_id
    for prefix, behaviour in _BEHAVIOURS.items():
        if task_id.startswith(prefix):
            behaviour(workload, channel, settings)
            return
    raise ValueError(f"scripted_runner: no behaviour for task id {task_id!r}")


def _running(channel: Channel) -> None:
    channel.send(
        {
            "type": "running",
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
            "at": now().isoformat(),
        }
    )


def _finished(channel: Channel, state: str, *, error: str | None = None, xcoms: Any = ()) -> None:
    channel.send(
        {
            "type": "finished",
            "state": state,
            "at": now().isoformat(),
            "error": error,
            "retryable": True,
            "xcoms": [list(item) for item in xcoms],
            "skip": [],
            "reschedule_date": None,
        }
    )


def _succeed(workload: Workload, channel: Channel) -> None:
    _finished(channel, "success", xcoms=[("return_value", workload.key.task_id)])


def _ok(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    _succeed(workload, channel)


def _fail(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    _finished(channel, "failed", error="the scripted task failed")


def _raise(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    raise RuntimeError("the scripted task raised")


def _exit(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    sys.exit(3)


def _osexit(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    os._exit(4)


def _segv(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
    ctypes.string_at(0)


def _kill(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    os.kill(os.getpid(), signal.SIGKILL)


def _oom(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + _OOM_HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def _sleep(workload: Workload, channel: Channel, settings: Settings) -> None:
    match = re.match(r"sleep(\d+(?:\.\d+)?)", workload.key.task_id)
    seconds = float(match.group(1)) if match else 1.0
    _running(channel)
    time.sleep(seconds)
    _succeed(workload, channel)


def _spawn(workload: Workload, channel: Channel, settings: Settings) -> None:
    grandchild = subprocess.Popen(
        ["sleep", str(int(_LONG_SLEEP))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = spawned_pid_file(settings, workload.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(grandchild.pid))
    _running(channel)
    time.sleep(_LONG_SLEEP)


def _stubborn(workload: Workload, channel: Channel, settings: Settings) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _running(channel)
    time.sleep(_LONG_SLEEP)


def _gate(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    gate = gate_file(settings)
    while not gate.exists():
        time.sleep(0.01)
    _succeed(workload, channel)


def _linger(workload: Workload, channel: Channel, settings: Settings) -> None:
    _ok(workload, channel, settings)
    gate = gate_file(settings)
    while not gate.exists():
        time.sleep(0.01)


def digest(value: Mapping[str, Any] | None) -> str | None:
    """A digest of a part of a workload (None for none), to compare without copying."""
    if value is None:
        return None
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _digest(workload: Workload, channel: Channel, settings: Settings) -> None:
    _running(channel)
    digests = [digest(workload.run), digest(workload.executor_config)]
    _finished(channel, "success", xcoms=[("return_value", digests)])


_BEHAVIOURS: dict[str, Callable[[Workload, Channel, Settings], None]] = {
    "ok": _ok,
    "fail": _fail,
    "raise": _raise,
    "exit": _exit,
    "osexit": _osexit,
    "segv": _segv,
    "kill": _kill,
    "oom": _oom,
    "sleep": _sleep,
    "spawn": _spawn,
    "stubborn": _stubborn,
    "gate": _gate,
    "linger": _linger,
    "digest": _digest,
}


class _CollectingChannel:
    """Messages go through JSON, as on a pipe, and become events at once."""

    def __init__(self, key: TaskKey, events: list[TaskEvent]) -> None:
        self._key = key
        self._events = events
        self.finished = False

    def send(self, message: Mapping[str, Any]) -> None:
        if self.finished:
            return
        event = event_from_message(self._key, json.loads(json.dumps(message, default=str)))
        self.finished = event.kind == Kind.FINISHED
        self._events.append(event)


class InlineExecutor(BaseExecutor):
    """Runs each queued try inside :meth:`poll`, in this process, highest priority first.

    For scheduler tests without child processes. A runner that raises or calls ``sys.exit``
    without reporting gives the same lost event as in a real executor; scripted behaviours
    that end or crash the process (osexit, segv, kill, oom) would end the test process too.
    """

    name: ClassVar[str] = "inline"

    def __init__(
        self,
        settings: Settings,
        *,
        runner: str | Runner = scripted_runner,
        parallelism: int = 32,
    ) -> None:
        self.settings = settings
        self.parallelism = parallelism
        self._runner = runner
        self._queue = WorkQueue()
        self._events: list[TaskEvent] = []
        self._wake = threading.Event()
        self.started = False
        self.submitted: list[Workload] = []

    @classmethod
    def from_settings(cls, settings: Settings, *, runner: str | Runner = scripted_runner) -> Self:
        """Runs ``runner`` (the scripted one unless told), ``core.parallelism`` at a time."""
        return cls(settings, runner=runner, parallelism=settings.core.parallelism)

    def start(self) -> None:
        self.started = True
        if isinstance(self._runner, str):
            self._runner = load_runner(self._runner)

    def submit(self, workload: Workload) -> None:
        self.submitted.append(workload)
        self._queue.push(workload)

    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]:
        if not self._queue and not self._events:
            self._wake.wait(timeout)
        self._wake.clear()
        while self._queue:
            self._run(self._queue.pop())
        events, self._events = self._events, []
        return events

    def cancel(self, key: TaskKey) -> None:
        if self._queue.remove(key) is not None:
            self._events.append(cancelled_event(key))

    def close(self) -> None:
        self._queue.clear()
        self.started = False

    def wakeup(self) -> None:
        self._wake.set()

    @property
    def free_slots(self) -> int:
        return max(0, self.parallelism - len(self._queue))

    def _run(self, workload: Workload) -> None:
        runner = self._runner
        assert callable(runner), "start() the executor first"
        channel = _CollectingChannel(workload.key, self._events)
        code = run_try(runner, workload, channel, self.settings)
        if not channel.finished:
            self._events.append(lost_event(workload.key, describe_exit(code)))


class EmptySource:
    """What a task reads from a metastore that holds nothing: no XCom, variable or
    connection (a :class:`tradewind.runtime.context.Source` for tests of the runtime)."""

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        return None

    def xcom_count(self, dag_id: str, run_id: str, task_id: str, key: str) -> int:
        return 0

    def xcom_values(
        self, dag_id: str, run_id: str, task_id: str, key: str, *, offset: int, limit: int
    ) -> list[Any]:
        return []

    def variable(self, key: str) -> None:
        return None

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return []

    def asset_events(self, uri: str, *, limit: int) -> list[dict[str, Any]]:
        return []


class XComSource(EmptySource):
    """A Source holding the XComs given as ``{(task_id, map_index): value}`` (key
    ``return_value``) or ``{(task_id, map_index, key): value}``, of any DAG run; it counts its
    reads in ``reads``, so tests can see that values come lazily."""

    def __init__(self, xcoms: Mapping[tuple[Any, ...], Any]):
        self.xcoms = {
            (k[0], k[1], k[2] if len(k) > 2 else "return_value"): v for k, v in xcoms.items()
        }
        self.reads = 0

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        self.reads += 1
        return self.xcoms.get((task_id, map_index, key))

    def _mapped(self, task_id: str, key: str) -> list[Any]:
        found = sorted(
            ((i, v) for (t, i, k), v in self.xcoms.items() if (t, k) == (task_id, key)),
            key=lambda pair: pair[0],
        )
        return [value for index, value in found if index >= 0]

    def xcom_count(self, dag_id: str, run_id: str, task_id: str, key: str) -> int:
        self.reads += 1
        return len(self._mapped(task_id, key))

    def xcom_values(
        self, dag_id: str, run_id: str, task_id: str, key: str, *, offset: int, limit: int
    ) -> list[Any]:
        self.reads += 1
        return self._mapped(task_id, key)[offset : offset + limit]

    def connection(self, conn_id: str) -> None:
        return None

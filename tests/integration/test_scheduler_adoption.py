"""A scheduler taking over from a dead one follows the tries an adopting executor still holds
(a broker's queue, a worker) instead of running them again; the others are reset."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar, Self

from scheduling import (  # noqa: F401
    System,
    die_silently,
    make_system_fixture,
    start_scheduler,
    system_fixture,
)

from tradewind import reports
from tradewind.executors.base import BaseExecutor, TaskEvent, now
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload

ONE = """
with DAG("held", schedule=None):
    EmptyOperator(task_id="only")
"""


class Holding(BaseExecutor):
    """Keeps what it is given, as a broker would, and finishes a try only when told."""

    name: ClassVar[str] = "holding"
    supports_adoption: ClassVar[bool] = True

    def __init__(self) -> None:
        self.held: set[TaskKey] = set()
        self.adopted: list[TaskKey] = []
        self.events: list[TaskEvent] = []
        self._wake = threading.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls()

    def start(self) -> None:
        pass

    def submit(self, workload: Workload) -> None:
        self.held.add(workload.key)

    def finish(self, key: TaskKey) -> None:
        self.events.append(TaskEvent(key, reports.Finished(now(), TaskState.SUCCESS)))
        self.held.discard(key)
        self._wake.set()

    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]:
        if not self.events:
            self._wake.wait(timeout)
        self._wake.clear()
        out, self.events = self.events, []
        return out

    def cancel(self, key: TaskKey) -> None:
        self.held.discard(key)

    def close(self) -> None:
        pass

    def wakeup(self) -> None:
        self._wake.set()

    def active_keys(self) -> set[TaskKey]:
        return set(self.held)

    @property
    def free_slots(self) -> int:
        return 32

    def external_id(self, key: TaskKey) -> str | None:
        return f"ext-{key.task_id}-{key.try_number}"

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        self.adopted.extend(keys)
        self.held.update(keys)
        return set(keys)


def test_a_dead_schedulers_queued_try_is_adopted_not_run_again(system: System) -> None:
    system.add_dag("held", ONE)
    system.scheduler.stop()  # the fixture's own scheduler steps aside
    first = start_scheduler(system, Holding())
    run_id = system.trigger("held")
    first.run_until(lambda: system.state("held", run_id, "only") == TaskState.QUEUED, timeout=30)
    ti = system.instance("held", run_id, "only")
    assert ti.external_executor_id == "ext-only-1"
    die_silently(system, first)
    taker = Holding()
    second = start_scheduler(system, taker)
    try:
        key = TaskKey("held", run_id, "only", -1, 1)
        assert taker.adopted == [key]
        adopted = system.instance("held", run_id, "only")
        assert (adopted.state, adopted.try_number) == (TaskState.QUEUED, 1)
        assert adopted.queued_by_job_id == second.job_id
        taker.finish(key)
        second.run_until(lambda: system.run_state("held", run_id) == "success", timeout=30)
        assert system.run_state("held", run_id) == "success"
        assert system.instance("held", run_id, "only").try_number == 1
    finally:
        second.stop()

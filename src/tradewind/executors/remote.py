"""What executors whose tries run elsewhere (Celery workers, Kubernetes pods) share: tries
waiting for room (highest priority_weight first, since brokers and clusters keep no order of
ours), tries in flight (at most ``core.parallelism``), and events ready for the scheduler."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from tradewind.executors.base import BaseExecutor, TaskEvent, cancelled_event
from tradewind.executors.workqueue import WorkQueue
from tradewind.settings import Settings
from tradewind.workloads import TaskKey

F = TypeVar("F")  # what the executor keeps of a try in flight


class RemoteExecutor(BaseExecutor, Generic[F]):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._waiting = WorkQueue()
        self._flight: dict[TaskKey, F] = {}
        self._ready: list[TaskEvent] = []
        self._wake = threading.Event()

    @property
    def free_slots(self) -> int:
        used = len(self._flight) + len(self._waiting)
        return max(0, self.settings.core.parallelism - used)

    def active_keys(self) -> set[TaskKey]:
        return set(self._flight) | self._waiting.keys()

    def _report(self, event: TaskEvent) -> None:
        self._ready.append(event)
        self._wake.set()

    def _cancel_waiting(self, key: TaskKey) -> bool:
        """Drop ``key`` if it still waits for room (reported cancelled); False if it does not."""
        if self._waiting.remove(key) is None:
            return False
        self._report(cancelled_event(key))
        return True

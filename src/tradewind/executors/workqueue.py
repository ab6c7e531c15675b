"""The workloads an executor holds until it has room for them, in the order they get it.

Every executor keeps one: the local ones until a process slot is free, the remote ones until
the broker or the cluster may take more (brokers and clusters keep no order of ours).
"""

from __future__ import annotations

import heapq
import itertools

from tradewind.workloads import TaskKey, Workload


class WorkQueue:
    """Workloads waiting for a slot: higher priority_weight first, equal weights in FIFO order."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Workload]] = []
        self._keys: set[TaskKey] = set()
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> set[TaskKey]:
        return set(self._keys)

    def push(self, workload: Workload) -> None:
        heapq.heappush(self._heap, (-workload.priority_weight, next(self._order), workload))
        self._keys.add(workload.key)

    def pop(self) -> Workload:
        workload = heapq.heappop(self._heap)[2]
        self._keys.discard(workload.key)
        return workload

    def remove(self, key: TaskKey) -> Workload | None:
        """Take one waiting workload out of the queue (None when it is not waiting)."""
        if key not in self._keys:
            return None
        index = next(i for i, entry in enumerate(self._heap) if entry[2].key == key)
        workload = self._heap.pop(index)[2]
        heapq.heapify(self._heap)
        self._keys.discard(key)
        return workload

    def clear(self) -> None:
        self._heap.clear()
        self._keys.clear()

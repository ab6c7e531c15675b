"""Graph algorithms over ``task_id -> downstream task ids``, shared by DAG and SerializedDag."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping


def find_cycle(downstream: Mapping[str, Collection[str]]) -> list[str] | None:
    """A cycle as ``[a, b, ..., a]``, or None. Tasks are visited in mapping order."""
    done: set[str] = set()
    for start in downstream:
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        iterators = [iter(sorted(downstream.get(start, ())))]
        while iterators:
            child = next(iterators[-1], None)
            if child is None:
                done.add(path[-1])
                on_path.discard(path.pop())
                iterators.pop()
                continue
            if child in on_path:
                return [*path[path.index(child) :], child]
            if child in done:
                continue
            path.append(child)
            on_path.add(child)
            iterators.append(iter(sorted(downstream.get(child, ()))))
    return None


def topological_order(downstream: Mapping[str, Collection[str]]) -> list[str]:
    """Task ids with every task after all of its upstream tasks; ties keep mapping order.

    Raises ValueError naming the tasks of a cycle.
    """
    indegree = dict.fromkeys(downstream, 0)
    for children in downstream.values():
        for child in children:
            indegree[child] = indegree.get(child, 0) + 1
    position = {task_id: index for index, task_id in enumerate(indegree)}
    ready = [(position[task_id], task_id) for task_id, count in indegree.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, task_id = heapq.heappop(ready)
        order.append(task_id)
        for child in downstream.get(task_id, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (position[child], child))
    if len(order) < len(indegree):
        cycle = find_cycle(downstream) or []
        raise ValueError(f"cycle: {' -> '.join(cycle)}")
    return order


def flat_relatives(neighbours: Mapping[str, Collection[str]], task_id: str) -> set[str]:
    """Every task reachable from ``task_id`` through ``neighbours`` (not the task itself)."""
    found: set[str] = set()
    pending = list(neighbours.get(task_id, ()))
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(neighbours.get(current, ()))
    return found

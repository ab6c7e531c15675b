"""The order of the items in each column of a layered drawing: few edges crossing.

Sweeps right and left, each column sorted by the mean position of its neighbours in the column
just placed (the barycentre heuristic); the order with the fewest crossings seen is kept.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
SWEEPS = 8


def order_columns(
    columns: list[list[K]], up: Mapping[K, Sequence[K]], down: Mapping[K, Sequence[K]]
) -> None:
    """Reorder ``columns`` in place; ``up``/``down``: each item's neighbours in the column
    before and the column after."""
    position = {key: float(i) for members in columns for i, key in enumerate(members)}
    links = [[(a, b) for a in members for b in down.get(a, ())] for members in columns]
    best = [list(members) for members in columns]
    fewest = crossings(links, position)
    worse = 0
    for sweep in range(SWEEPS):
        if not fewest or worse == 2:
            break
        downward = sweep % 2 == 0
        near = up if downward else down
        indexes = range(1, len(columns)) if downward else range(len(columns) - 2, -1, -1)
        for index in indexes:
            members = columns[index]
            bary = {}
            for key in members:
                around = near.get(key)
                bary[key] = (
                    sum(position[n] for n in around) / len(around) if around else position[key]
                )
            members.sort(key=bary.__getitem__)
            for i, key in enumerate(members):
                position[key] = float(i)
        found = crossings(links, position)
        worse = worse + 1 if found >= fewest else 0
        if found < fewest:
            fewest, best = found, [list(members) for members in columns]
    columns[:] = best


def crossings(links: Sequence[Sequence[tuple[K, K]]], position: Mapping[K, float]) -> int:
    """How many pairs of edges cross, ``links``: the edges leaving each column."""
    total = 0
    for edges in links:
        seen: list[float] = []
        for _, target in sorted([(position[a], position[b]) for a, b in edges]):
            total += len(seen) - bisect.bisect_right(seen, target)  # from above, to below
            bisect.insort(seen, target)
    return total

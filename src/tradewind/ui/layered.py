"""One level of a layered drawing, left to right: items of any size in columns, edges between.

Items go in columns by their longest path from a source (an edge against the given order is
turned round for this, and drawn back); an edge spanning columns passes through a dummy point in
each column between; columns are ordered by the neighbours' barycentre (sweeps right and left),
items placed top to bottom in that order as near their neighbours as it allows (an isotonic
regression per column). An edge is runs along columns, at heights no other item of the column
takes, joined by curves in the gaps between columns, where nothing stands: it crosses no item.
A level may have an entry port (``IN``, on its left border) and an exit port (``OUT``, on its
right border): the inside of a task group, whose edges come in and go out there.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tradewind.ui.ordering import order_columns

IN = "\x00in"
OUT = "\x00out"
GAP_X = 60  # between columns
MAX_GAP_X = 150  # ... at most, unless a label needs more
STEEP = 0.12  # a gap's width per height an edge climbs in it
GAP_Y = 22  # between items of a column
DUMMY_H = 8  # the height an edge passing through a column takes
GAPS_Y = (6, 12, GAP_Y)  # between two items of a column, by how many are not edges passing
PORT_GAP = 34  # between a port and the columns
SWEEPS = 6
TWIN_SHIFT = 6  # between an edge and its twin the other way round

Point = tuple[float, float]
Key = str | tuple[str, str, int]  # an item, or a dummy point (edge source, target, column)


@dataclass(frozen=True)
class Size:
    w: float
    h: float
    in_y: float  # where edges come in, from the top
    out_y: float  # where edges go out


DUMMY = Size(0, DUMMY_H, DUMMY_H / 2, DUMMY_H / 2)


@dataclass
class Level:
    width: float
    height: float
    at: dict[str, Point]  # top-left corner of each item
    routes: dict[tuple[str, str], list[Point]]  # per edge: runs' ends, [start, end, start, ...]
    label_at: dict[tuple[str, str], Point]  # the middle of the edge's first gap
    reversed: set[tuple[str, str]]  # edges drawn against the columns' direction


def arrange(
    order: Sequence[str],
    sizes: Mapping[str, Size],
    edges: Sequence[tuple[str, str]],
    *,
    labels: Mapping[tuple[str, str], float],
    lead: float,
    min_width: float = 0,
) -> Level:
    """Lay out ``order`` (items in a preferred order, ports ``IN``/``OUT`` included when
    used) with ``edges``; ``labels``: the width of an edge's label, drawn in its first gap;
    ``lead``: the space before the first column and after the last (when there is no port)."""
    grid = _grid(order, edges)
    order_columns(grid.columns, grid.up, grid.down)

    def size(key: Key) -> Size:
        return sizes[key] if isinstance(key, str) else DUMMY

    top = _heights(grid.columns, size, grid.up, grid.down)
    left, widths, width = _xs(grid, size, top, labels=labels, lead=lead, min_width=min_width)
    at: dict[str, Point] = {}
    for index, members in enumerate(grid.columns):
        for key in members:
            if isinstance(key, str):
                at[key] = (left[index] + (widths[index] - size(key).w) / 2, top[key])
    if OUT in at:
        at[OUT] = (width, at[OUT][1])
    routes: dict[tuple[str, str], list[Point]] = {}
    label_at: dict[tuple[str, str], Point] = {}
    for (a, b), chain in grid.chains.items():
        points: list[Point] = []
        for key in chain:
            index = grid.column[key]
            begin, end = left[index], left[index] + widths[index]
            if key == a:
                begin = at[a][0] + size(a).w
            elif key == b:
                end = at[b][0]
            y = top[key] + (size(key).out_y if key == a else size(key).in_y)
            points += [(begin, y), (end, y)]
        middle = ((points[1][0] + points[2][0]) / 2, (points[1][1] + points[2][1]) / 2)
        if (a, b) in grid.given:
            routes[(a, b)], label_at[(a, b)] = points, middle
        if (b, a) in grid.turned:  # beside the edge the other way round, if there is one
            shift = TWIN_SHIFT if (a, b) in grid.given else 0
            routes[(b, a)], label_at[(b, a)] = [(x, y + shift) for x, y in points[::-1]], middle
    height = max((top[k] + size(k).h for members in grid.columns for k in members), default=0)
    return Level(width, height, at, routes, label_at, grid.turned)


@dataclass
class _Grid:
    given: set[tuple[str, str]]
    turned: set[tuple[str, str]]  # given edges turned round (against the order)
    column: dict[Key, int]
    columns: list[list[Key]]
    chains: dict[tuple[str, str], list[Key]]  # per edge as laid out: its ends and dummies
    up: dict[Key, list[Key]]  # neighbours in the column before
    down: dict[Key, list[Key]]  # neighbours in the column after


def _grid(order: Sequence[str], edges: Sequence[tuple[str, str]]) -> _Grid:
    rank = {key: i for i, key in enumerate(order)}
    grid = _Grid(set(edges), set(), {}, [], {}, defaultdict(list), defaultdict(list))
    succ: dict[Key, list[Key]] = defaultdict(list)
    pred: dict[Key, list[Key]] = defaultdict(list)
    for source, target in dict.fromkeys(e for e in edges if e[0] != e[1]):
        if rank[source] > rank[target]:
            grid.turned.add((source, target))
        a, b = sorted((source, target), key=rank.__getitem__)
        if (a, b) not in grid.chains:
            grid.chains[(a, b)] = []
            succ[a].append(b)
            pred[b].append(a)
    grid.column = _columns(order, succ, pred)
    layers: dict[int, list[Key]] = defaultdict(list)
    for key in order:
        layers[grid.column[key]].append(key)
    for a, b in grid.chains:
        chain: list[Key] = [a]
        for index in range(grid.column[a] + 1, grid.column[b]):
            dummy = (a, b, index)
            grid.column[dummy] = index
            layers[index].append(dummy)
            chain.append(dummy)
        chain.append(b)
        for x, y in itertools.pairwise(chain):
            grid.down[x].append(y)
            grid.up[y].append(x)
        grid.chains[(a, b)] = chain
    count = max(layers) + 1 if layers else 0
    grid.columns = [layers[i] for i in range(count)]
    return grid


def _xs(
    grid: _Grid,
    size: Callable[[Key], Size],
    top: Mapping[Key, float],
    *,
    labels: Mapping[tuple[str, str], float],
    lead: float,
    min_width: float,
) -> tuple[list[float], list[float], float]:
    """Columns left to right (the left of each, its width) and the whole width: a port column
    has no width, a gap is as wide as the labels drawn in it need."""
    count = len(grid.columns)
    widths = [max((size(k).w for k in members), default=0) for members in grid.columns]
    gaps = [float(GAP_X)] * count
    if IN in grid.column:
        gaps[0] = PORT_GAP
    if OUT in grid.column and count > 1:
        gaps[count - 2] = PORT_GAP
    for (a, b), chain in grid.chains.items():
        width = max(labels.get((a, b), 0), labels.get((b, a), 0))
        if width:
            gaps[grid.column[a]] = max(gaps[grid.column[a]], width + 24)
        for p, q in itertools.pairwise(chain):  # a steep curve gets more room
            rise = abs(top[q] + size(q).in_y - top[p] - size(p).out_y)
            gaps[grid.column[p]] = max(gaps[grid.column[p]], min(MAX_GAP_X, rise * STEEP))
    left: list[float] = []
    x = 0.0 if IN in grid.column else lead
    for index in range(count):
        left.append(x)
        x += widths[index] + (gaps[index] if index < count - 1 else 0)
    width = x if OUT in grid.column else x + lead
    if width < min_width:  # a wider label: the last gap (or the margin) takes the rest
        if OUT in grid.column:
            left[-1] += min_width - width
        width = min_width
    return left, widths, width


def _columns(
    order: Sequence[str], succ: Mapping[Key, list[Key]], pred: Mapping[Key, list[Key]]
) -> dict[Key, int]:
    """Longest path from a source; then a source moves up to its nearest successor, and the
    exit port takes a column of its own after every other."""
    first = 1 if IN in order else 0
    column: dict[Key, int] = {}
    for key in order:
        if key == IN:
            column[key] = 0
        elif key != OUT:
            column[key] = max((column[p] + 1 for p in pred.get(key, ())), default=first)
    for key in reversed(order):
        if key not in (IN, OUT) and not pred.get(key) and succ.get(key):
            ahead = [column[s] for s in succ[key] if s != OUT]
            if ahead:
                column[key] = max(column[key], min(ahead) - 1)
    if OUT in order:
        column[OUT] = max(column.values(), default=0) + 1
    return column


def _heights(
    columns: list[list[Key]],
    sized: Callable[[Key], Size],
    up: Mapping[Key, list[Key]],
    down: Mapping[Key, list[Key]],
) -> dict[Key, float]:
    """The top of each item: stacked in its column's order, each as near as it may be to the
    mean height of its neighbours' edge ends."""
    ins = {key: sized(key).in_y for members in columns for key in members}
    outs = {key: sized(key).out_y for members in columns for key in members}
    seps = [
        [
            sized(a).h + GAPS_Y[isinstance(a, str) + isinstance(b, str)]
            for a, b in itertools.pairwise(members)
        ]
        for members in columns
    ]
    spans = [sum(gaps) + sized(m[-1]).h if m else 0 for m, gaps in zip(columns, seps, strict=True)]
    tallest = max(spans, default=0)
    top: dict[Key, float] = {}
    for members, gaps, span in zip(columns, seps, spans, strict=True):
        y = (tallest - span) / 2
        for key, step in zip(members, [*gaps, 0], strict=True):
            top[key] = y
            y += step
    # The sum of a key's neighbours' edge ends, less its own, is the sum of their tops plus:
    rise = {k: sum(outs[n] for n in up.get(k, ())) - len(up.get(k, ())) * ins[k] for k in ins}
    fall = {k: sum(ins[n] for n in down.get(k, ())) - len(down.get(k, ())) * outs[k] for k in ins}
    get = top.__getitem__
    count = len(columns)
    for sweep in range(SWEEPS):
        before = sweep % 2 == 0 or sweep >= SWEEPS - 2  # neighbours in the column before
        after = sweep % 2 == 1 or sweep >= SWEEPS - 2
        indexes = range(1, count) if sweep % 2 == 0 else range(count - 2, -1, -1)
        for index in indexes if not (before and after) else range(count):
            members = columns[index]
            wanted = []
            for key in members:
                total, many = 0.0, 0
                if before and (near := up.get(key)):
                    total, many = sum(map(get, near)) + rise[key], len(near)
                if after and (near := down.get(key)):
                    total, many = total + sum(map(get, near)) + fall[key], many + len(near)
                wanted.append(total / many if many else top[key])
            for key, y in zip(members, _fit(wanted, seps[index]), strict=True):
                top[key] = y
    low = min(top.values(), default=0.0)
    return {key: y - low for key, y in top.items()}


def _fit(wanted: list[float], seps: list[float]) -> list[float]:
    """The positions nearest ``wanted`` (least squares) with ``y[i+1] >= y[i] + seps[i]``:
    pool adjacent violators on the positions less their offsets."""
    offset = [0.0]
    for sep in seps:
        offset.append(offset[-1] + sep)
    blocks: list[list[float]] = []  # [mean, count]
    for want, off in zip(wanted, offset, strict=True):
        blocks.append([want - off, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, n = blocks.pop()
            blocks[-1] = [
                (blocks[-1][0] * blocks[-1][1] + mean * n) / (blocks[-1][1] + n),
                blocks[-1][1] + n,
            ]
    found = []
    for mean, n in blocks:
        found += [mean] * int(n)
    return [z + off for z, off in zip(found, offset, strict=True)]

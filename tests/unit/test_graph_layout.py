"""The graph view's layout on several shapes: expanded task groups are boxes holding exactly
their members (nested ones nested), labels clear of everything, no overlaps, edges routed
around the nodes, and the drawing's size covering it all."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from itertools import combinations, pairwise

import pytest

from tradewind import DAG, TaskGroup
from tradewind.authoring.edges import Label
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import deserialize_dag, serialize_dag
from tradewind.ui import compound, graph, structure

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
START = datetime(2024, 1, 1)


def op(task_id: str) -> EmptyOperator:
    return EmptyOperator(task_id=task_id)


def nested() -> DAG:
    with DAG("nested", schedule=None, start_date=START) as dag:
        with TaskGroup("outer") as outer:
            prep = op("prep")
            with TaskGroup("inner") as inner:
                op("a") >> op("b")
            with TaskGroup("deep") as deep:
                with TaskGroup("deepest") as deepest:
                    op("x") >> op("y")
                deepest >> op("z")
            prep >> [inner, deep]
        op("start") >> outer >> op("end")
    return dag


def sibling() -> DAG:
    """An expanded group beside a collapsed sibling, both fed by one task."""
    with DAG("sibling", schedule=None, start_date=START) as dag:
        start = op("start")
        with TaskGroup("opened") as opened:
            op("one") >> op("two") >> op("three")
        with TaskGroup("closed") as closed:
            op("c1") >> op("c2")
        start >> [opened, closed]
        [opened, closed] >> op("end")
    return dag


def long_edge() -> DAG:
    """An edge that skips four layers, beside the chain it skips, and labels."""
    with DAG("long", schedule=None, start_date=START) as dag:
        first = op("first")
        last = op("last")
        chain = [op(f"step{i}") for i in range(4)]
        first >> Label("the long way") >> chain[0]
        for up, down in pairwise(chain):
            up >> down
        chain[-1] >> last
        first >> Label("straight to the end") >> last
        with TaskGroup("g") as group:
            op("m1") >> op("m2")
        chain[1] >> group >> last
    return dag


def fan_out() -> DAG:
    """One task to forty, then all into one; a group in the fan."""
    with DAG("fan", schedule=None, start_date=START) as dag:
        root = op("root")
        leaves = [op(f"leaf{i:02d}") for i in range(40)]
        with TaskGroup("g") as group:
            op("ga") >> [op("gb"), op("gc")]
        root >> [*leaves, group]
        [*leaves, group] >> op("sink")
    return dag


def crossing() -> DAG:
    """A task both downstream of one member of a group and upstream of another."""
    with DAG("crossing", schedule=None, start_date=START) as dag:
        with TaskGroup("g"):
            a = op("a")
            b = op("b")
        middle = op("middle")
        a >> middle >> b
    return dag


def scattered(seed: int) -> Callable[[], DAG]:
    """Thirty tasks in random nested groups, with random edges (some between groups both ways
    round, some skipping layers)."""

    def build() -> DAG:
        rng = random.Random(seed)
        with DAG(f"scattered{seed}", schedule=None, start_date=START) as dag:
            tasks: list[EmptyOperator] = []
            open_groups: list[TaskGroup] = []
            for i in range(30):
                if rng.random() < 0.15:
                    group = TaskGroup(f"g{i}")
                    group.__enter__()
                    open_groups.append(group)
                elif open_groups and rng.random() < 0.15:
                    open_groups.pop().__exit__(None, None, None)
                tasks.append(op(f"t{i}"))
            while open_groups:
                open_groups.pop().__exit__(None, None, None)
            for i in range(1, 30):
                for j in rng.sample(range(i), min(i, rng.randint(0, 2))):
                    tasks[j] >> tasks[i]
        return dag

    return build


def every_group(build: Callable[[], DAG]) -> set[str]:
    return set(structure.build(deserialize_dag(serialize_dag(build()))).group_tasks)


SHAPES: dict[str, tuple[Callable[[], DAG], set[str]]] = {
    "nested": (nested, {"outer", "outer.inner", "outer.deep", "outer.deep.deepest"}),
    "nested, one inner group closed": (nested, {"outer", "outer.deep"}),
    "sibling": (sibling, {"opened"}),
    "long edge": (long_edge, {"g"}),
    "fan out": (fan_out, {"g"}),
    "fan out, closed": (fan_out, set()),
    "crossing": (crossing, {"g"}),
    **{f"scattered {seed}": (scattered(seed), every_group(scattered(seed))) for seed in range(8)},
}


def rect(x: float, y: float, w: float, h: float) -> Rect:
    return (x, y, x + w, y + h)


def within(inner: Rect, outer: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


def overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def on_side(point: tuple[float, float], r: Rect) -> bool:
    x, y = point
    return (x == pytest.approx(r[0]) or x == pytest.approx(r[2])) and r[1] <= y <= r[3]


def strictly_in(point: tuple[float, float], r: Rect, slack: float = 0.5) -> bool:
    x, y = point
    return r[0] + slack < x < r[2] - slack and r[1] + slack < y < r[3] - slack


@pytest.mark.parametrize("name", list(SHAPES))
def test_layout_geometry(name: str) -> None:
    build, expanded = SHAPES[name]
    shape = structure.build(deserialize_dag(serialize_dag(build())))
    drawn = graph.layout(shape, expanded)
    nodes = {n.key: rect(n.x, n.y, graph.NODE_W, graph.NODE_H) for n in drawn.nodes}
    boxes = {b.group_id: rect(b.x, b.y, b.w, b.h) for b in drawn.boxes}
    members = {
        g: {
            k
            for k in nodes
            if k.startswith(g + ".") or (k.startswith("group:") and k[6:].startswith(g + "."))
        }
        for g in boxes
    }
    # Everything within the drawing.
    view = (0.0, 0.0, drawn.width, drawn.height)
    for r in [*nodes.values(), *boxes.values()]:
        assert within(r, view), (name, r, view)
    # A box holds exactly its members.
    for g, box in boxes.items():
        assert members[g], g
        for key, r in nodes.items():
            if key in members[g]:
                assert within(r, box), (g, key)
            else:
                assert not overlap(r, box), (g, key)
    # Boxes nest or stand apart; nested boxes are nested groups.
    for (g, a), (h, b) in combinations(boxes.items(), 2):
        if overlap(a, b):
            outer, inner = (g, h) if within(b, a) else (h, g)
            assert within(boxes[inner], boxes[outer]), (g, h)
            assert inner.startswith(outer + "."), (g, h)
    # Nodes never overlap.
    for (k, a), (j, b) in combinations(nodes.items(), 2):
        assert not overlap(a, b), (k, j)
    # A box's label band is inside the box, clear of its members and inner boxes.
    for g, box in boxes.items():
        label = (
            box[0],
            box[1],
            box[0] + 8 + 7.5 * len(g.rsplit(".", 1)[-1]),
            box[1] + compound.HEADER,
        )
        assert within(label, box), g
        for key in members[g]:
            assert not overlap(label, nodes[key]), (g, key)
        for h, other in boxes.items():
            if h.startswith(g + "."):
                assert not overlap(label, other), (g, h)
    # Edges: the rest of the drawing is clear of them, and so are the boxes they do not enter.
    keys = [n.key for n in drawn.nodes]
    assert len(drawn.edges) == sum(len(v) for v in _edges(shape, expanded).values())
    ends = _edge_ends(shape, expanded, keys)
    for edge, (source, target) in zip(drawn.edges, ends, strict=True):
        line = compound.trace(edge.points)
        assert within(
            (
                min(x for x, _ in line),
                min(y for _, y in line),
                max(x for x, _ in line),
                max(y for _, y in line),
            ),
            view,
        )
        # It leaves its source's side and ends on its target's (or on the border of a box
        # holding them, for an edge drawn against the flow).
        for end, point in ((source, line[0]), (target, line[-1])):
            holders = [boxes[g] for g in boxes if end in members[g]]
            assert any(on_side(point, r) for r in [nodes[end], *holders]), (name, end)
        for key, r in nodes.items():
            if key in (source, target):
                continue
            for point in _dense(line):
                assert not strictly_in(point, r), (name, source, target, key, point)
        for g, box in boxes.items():
            if source in members[g] or target in members[g]:
                continue
            for point in _dense(line):
                assert not strictly_in(point, box), (name, source, target, g, point)
        for g, box in boxes.items():  # nor through any label band
            band = (box[0], box[1], box[2], box[1] + compound.HEADER)
            for point in _dense(line):
                assert not strictly_in(point, band), (name, source, target, g)
        if edge.label:
            assert edge.label_x > 0
            assert edge.label_y > 0
            half = len(edge.label) * 3.3
            text = (edge.label_x - half, edge.label_y - 11, edge.label_x + half, edge.label_y + 2)
            for key, r in nodes.items():
                assert not overlap(text, r), (edge.label, key)


def _edges(shape: structure.Structure, expanded: set[str]) -> dict[str, set[str]]:
    parents = {(r.id if r.kind == "task" else f"group:{r.id}"): r.parents for r in shape.rows}
    _, succ, _ = graph._visible_graph(shape, expanded, parents)
    return dict(succ)


def _edge_ends(
    shape: structure.Structure, expanded: set[str], keys: list[str]
) -> list[tuple[str, str]]:
    succ = _edges(shape, expanded)
    return [(s, t) for s in keys for t in sorted(succ.get(s, ()))]


def _dense(line: list[tuple[float, float]], step: float = 4.0) -> list[tuple[float, float]]:
    """Points along the polyline no more than ``step`` apart."""
    found = []
    for (x0, y0), (x1, y1) in pairwise(line):
        n = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) / step))
        found += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n)]
    return [*found, line[-1]]


def test_long_edge_passes_beside_the_chain() -> None:
    shape = structure.build(deserialize_dag(serialize_dag(long_edge())))
    drawn = graph.layout(shape, {"g"})
    xs = {n.key: n.x for n in drawn.nodes}
    assert xs["first"] < xs["step0"] < xs["step3"] < xs["last"]
    straight = next(e for e in drawn.edges if e.label == "straight to the end")
    # The long edge runs through a point in each layer it skips: runs at one height each.
    assert len(straight.points) >= 2 * 6
    # ... none of them inside a node of the chain it passes by.
    for x, y in straight.points[2:-2]:
        for node in drawn.nodes:
            inside_x = node.x < x < node.x + graph.NODE_W
            assert not (inside_x and node.y < y < node.y + graph.NODE_H), node.key


def test_expanded_group_beside_a_collapsed_sibling() -> None:
    shape = structure.build(deserialize_dag(serialize_dag(sibling())))
    drawn = graph.layout(shape, {"opened"})
    keys = {n.key for n in drawn.nodes}
    assert "group:closed" in keys
    assert {"opened.one", "opened.two", "opened.three"} <= keys
    (box,) = drawn.boxes
    closed = next(n for n in drawn.nodes if n.key == "group:closed")
    assert not overlap(
        rect(box.x, box.y, box.w, box.h), rect(closed.x, closed.y, graph.NODE_W, graph.NODE_H)
    )
    # The edge from start into the group ends at a member, through the box's left border.
    into = next(
        e
        for e in drawn.edges
        if e.points[-1][0] == pytest.approx(next(n.x for n in drawn.nodes if n.key == "opened.one"))
    )
    assert any(x == pytest.approx(box.x) for x, _ in into.points)

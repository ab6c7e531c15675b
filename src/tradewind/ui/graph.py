"""The graph view's layout, computed here and drawn as SVG by the template.

Tasks flow left to right. Collapsed task groups become one node each. Nodes are put in layers
by their longest path from a root, ordered within a layer by the barycentre of their
neighbours (a few sweeps down and up, members of one group kept together), and edges are
drawn as curves from the right side of a node to the left side of the next, with their
labels (``a >> Label("x") >> b``) at the middle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from tradewind.ui.structure import Structure

NODE_W = 170
NODE_H = 40
GAP_X = 60
GAP_Y = 22
MARGIN = 30
SWEEPS = 4


@dataclass(frozen=True)
class Node:
    key: str  # task id, or "group:<id>" for a collapsed group
    label: str
    sub: str  # operator, or how many tasks a collapsed group holds
    x: float
    y: float
    is_group: bool
    group_id: str


@dataclass(frozen=True)
class Box:
    group_id: str
    label: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Edge:
    path: str  # SVG path data
    label: str  # the edge's Label ("" for none), drawn at (label_x, label_y)
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Layout:
    nodes: list[Node]
    edges: list[Edge]
    boxes: list[Box]
    width: float
    height: float


def short(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


Edges = Mapping[str, set[str]]


def layout(shape: Structure, expanded: Collection[str]) -> Layout:
    # Enclosing groups (outermost first) of each task and of each group ("group:<id>").
    parents = {
        (row.id if row.kind == "task" else f"group:{row.id}"): row.parents for row in shape.rows
    }
    keys, succ, pred = _visible_graph(shape, expanded, parents)
    group_of = {key: _innermost(key, parents, expanded) for key in keys}
    xy, width, height = place(keys, succ, pred, group_of)
    nodes = [_node(shape, key, xy[key], group_of[key]) for key in keys]
    boxes = _boxes(shape, expanded, xy, parents)
    edges = curves(keys, succ, xy, lambda up, down: shape.dag.edge_label(up, down) or "")
    return Layout(nodes, edges, boxes, width, height)


def place(
    keys: list[str], succ: Edges, pred: Edges, group_of: Mapping[str, str]
) -> tuple[dict[str, tuple[float, float]], float, float]:
    """The top-left corner of each node (``keys`` in dependency order), and the size of the
    whole drawing; ``group_of``: a key's innermost group, whose members stay together."""
    layers = _layers(keys, pred)
    _order(layers, succ, pred, group_of)
    tallest = max((len(m) for m in layers.values()), default=0)
    xy: dict[str, tuple[float, float]] = {}
    for index, members in layers.items():
        offset = (tallest - len(members)) * (NODE_H + GAP_Y) / 2
        for i, key in enumerate(members):
            xy[key] = (MARGIN + index * (NODE_W + GAP_X), MARGIN + offset + i * (NODE_H + GAP_Y))
    width = MARGIN * 2 + len(layers) * (NODE_W + GAP_X) - GAP_X
    height = MARGIN * 2 + tallest * (NODE_H + GAP_Y) - GAP_Y
    return xy, max(width, 200), max(height, 80)


def _visible_graph(
    shape: Structure, expanded: Collection[str], parents: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], Edges, Edges]:
    """The nodes shown (tasks, collapsed groups) in dependency order, and their edges."""
    dag = shape.dag
    order = {task_id: index for index, task_id in enumerate(dag.topological_order())}

    def visible(task_id: str) -> str:
        for group_id in parents.get(task_id, ()):
            if group_id not in expanded:
                return f"group:{group_id}"
        return task_id

    rank: dict[str, int] = {}
    for task_id in dag.tasks:
        key = visible(task_id)
        rank[key] = min(rank.get(key, len(order)), order.get(task_id, 0))
    succ: dict[str, set[str]] = defaultdict(set)
    pred: dict[str, set[str]] = defaultdict(set)
    for task_id, task in dag.tasks.items():
        source = visible(task_id)
        for down in task.downstream_task_ids:
            target = visible(down)
            if target != source and target in rank:
                succ[source].add(target)
                pred[target].add(source)
    return sorted(rank, key=lambda k: (rank[k], k)), succ, pred


def _layers(keys: list[str], pred: Edges) -> dict[int, list[str]]:
    """Nodes by their longest path from a root."""
    layer: dict[str, int] = {}
    for key in keys:  # in dependency order: an edge to an earlier key is a back edge, ignored
        layer[key] = max((layer[p] + 1 for p in pred[key] if p in layer), default=0)
    layers: dict[int, list[str]] = defaultdict(list)
    for key in keys:
        layers[layer[key]].append(key)
    return layers


def _order(
    layers: dict[int, list[str]], succ: Edges, pred: Edges, group_of: Mapping[str, str]
) -> None:
    """Order each layer by its neighbours' barycentre, keeping a group's members together."""
    position = {key: float(i) for members in layers.values() for i, key in enumerate(members)}
    count = len(layers)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        near = pred if downward else succ
        for index in range(1, count) if downward else range(count - 2, -1, -1):
            members = layers[index]
            bary = {
                key: (
                    sum(position[n] for n in near[key]) / len(near[key])
                    if near[key]
                    else position[key]
                )
                for key in members
            }
            by_group: dict[str, list[float]] = defaultdict(list)
            for key in members:
                by_group[group_of[key]].append(bary[key])
            members.sort(
                key=lambda k: (
                    sum(by_group[group_of[k]]) / len(by_group[group_of[k]]),
                    group_of[k],
                    bary[k],
                )
            )
            for i, key in enumerate(members):
                position[key] = float(i)


def curves(
    keys: list[str],
    succ: Edges,
    xy: Mapping[str, tuple[float, float]],
    label_of: Callable[[str, str], str],
) -> list[Edge]:
    """A curve from the right side of a node to the left side of the next, with the edge's
    label at its middle (edges from or to a collapsed group have none)."""
    edges = []
    for source in keys:
        x1, y1 = xy[source][0] + NODE_W, xy[source][1] + NODE_H / 2
        for target in sorted(succ[source]):
            x2, y2 = xy[target][0], xy[target][1] + NODE_H / 2
            bend = max(GAP_X / 2, (x2 - x1) / 2)
            path = (
                f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} "
                f"{x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            )
            plain = not source.startswith("group:") and not target.startswith("group:")
            label = short(label_of(source, target), 20) if plain else ""
            edges.append(Edge(path, label, (x1 + x2) / 2, (y1 + y2) / 2 - 4))
    return edges


def _innermost(key: str, parents: Mapping[str, tuple[str, ...]], expanded: Collection[str]) -> str:
    chain = [g for g in parents.get(key, ()) if g in expanded]
    return chain[-1] if chain else ""


def _node(shape: Structure, key: str, at: tuple[float, float], group_id: str) -> Node:
    if key.startswith("group:"):
        gid = key[len("group:") :]
        size = len(shape.group_tasks.get(gid, ()))
        group = shape.dag.task_groups.get(gid)
        label = (group.group_display_name if group else None) or gid.rsplit(".", 1)[-1]
        return Node(key, short(label), f"group · {size} tasks", *at, True, gid)
    task = shape.dag.tasks[key]
    label = key[len(group_id) + 1 :] if group_id and key.startswith(group_id + ".") else key
    label = task.task_display_name or label
    return Node(
        key, short(label), short(task.custom_operator_name or task.operator, 28), *at, False, ""
    )


def _boxes(
    shape: Structure,
    expanded: Collection[str],
    xy: Mapping[str, tuple[float, float]],
    parents: Mapping[str, tuple[str, ...]],
) -> list[Box]:
    boxes = []
    for group_id in expanded:
        if group_id not in shape.group_tasks:
            continue
        inside = [k for k in xy if group_id in parents.get(k, ())]
        if not inside:
            continue
        chain = parents.get(f"group:{group_id}", ())
        depth_below = max(
            (
                len(parents.get(f"group:{g}", ())) - len(chain)
                for g in expanded
                if group_id in parents.get(f"group:{g}", ())
            ),
            default=0,
        )
        pad = 10 + 10 * depth_below
        x0 = min(xy[k][0] for k in inside) - pad
        y0 = min(xy[k][1] for k in inside) - pad - 12
        x1 = max(xy[k][0] for k in inside) + NODE_W + pad
        y1 = max(xy[k][1] for k in inside) + NODE_H + pad
        boxes.append(Box(group_id, group_id.rsplit(".", 1)[-1], x0, y0, x1 - x0, y1 - y0))
    return sorted(boxes, key=lambda box: -box.w * box.h)

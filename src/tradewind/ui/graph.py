"""The graph view's layout, computed here and drawn as SVG by the template.

Tasks flow left to right. Collapsed task groups become one node each; an expanded group is a
box holding exactly its members, nested groups nested (``compound``, over the layered layout of
``layered``). Edges are routed around the nodes: through a point in each layer they skip, and
into or out of a group through its box's border; their labels (``a >> Label("x") >> b``) sit in
a gap between layers. ``place`` and ``curves`` are the plainer layout of the asset graph.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from tradewind.ui import compound, layered
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
    points: tuple[tuple[float, float], ...] = ()  # runs' ends (see compound.svg_path)


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
    """Tasks and collapsed groups as nodes; each expanded group (whose enclosing groups are
    expanded too) as a box holding its members, laid out by ``compound``."""
    # Enclosing groups (outermost first) of each task and of each group ("group:<id>").
    parents = {
        (row.id if row.kind == "task" else f"group:{row.id}"): row.parents for row in shape.rows
    }
    keys, succ, _ = _visible_graph(shape, expanded, parents)
    group_of = {key: _innermost(key, parents, expanded) for key in keys}
    clusters: dict[str, str] = {}
    for key in keys:
        for group_id in parents.get(key, ()):
            if group_id in expanded:
                chain = [g for g in parents.get(f"group:{group_id}", ()) if g in expanded]
                clusters[group_id] = chain[-1] if chain else compound.ROOT
    names = {g: _group_label(shape, g) for g in clusters}
    pairs = [(source, target) for source in keys for target in sorted(succ[source])]
    labels = {}
    for source, target in pairs:
        plain = not source.startswith("group:") and not target.startswith("group:")
        text = short(shape.dag.edge_label(source, target) or "", 20) if plain else ""
        if text:
            labels[(source, target)] = text
    drawing = compound.draw(
        group_of,
        clusters,
        pairs,
        leaf_size=layered.Size(NODE_W, NODE_H, NODE_H / 2, NODE_H / 2),
        cluster_label={g: len(name) * 7.5 + 56 for g, name in names.items()},
        labels={edge: len(text) * 6.5 for edge, text in labels.items()},
        margin=MARGIN,
    )
    nodes = [_node(shape, key, drawing.leaves[key], group_of[key]) for key in keys]
    boxes = [Box(g, names[g], r.x, r.y, r.w, r.h) for g, r in drawing.boxes.items()]
    edges = []
    for edge, points in drawing.paths.items():
        x, y = drawing.label_at[edge]  # the label just above the line's middle
        edges.append(Edge(compound.svg_path(points), labels.get(edge, ""), x, y - 5, tuple(points)))
    width, height = max(drawing.width, 200), max(drawing.height, 80)
    return Layout(nodes, edges, sorted(boxes, key=lambda b: -b.w * b.h), width, height)


def _group_label(shape: Structure, group_id: str) -> str:
    group = shape.dag.task_groups.get(group_id)
    return short((group.group_display_name if group else None) or group_id.rsplit(".", 1)[-1])


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
        return Node(key, _group_label(shape, gid), f"group · {size} tasks", *at, True, gid)
    task = shape.dag.tasks[key]
    label = key[len(group_id) + 1 :] if group_id and key.startswith(group_id + ".") else key
    label = task.task_display_name or label
    return Node(
        key, short(label), short(task.custom_operator_name or task.operator, 28), *at, False, ""
    )

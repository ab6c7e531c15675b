"""A layered drawing of nested clusters (expanded task groups): each cluster is a box holding
exactly its members, laid out inside as a level of its own (see ``layered``), then placed in
its parent's level as one item of its size. So boxes nest and never overlap, and a box's
header, where its label goes, holds nothing else.

An edge between two leaves is laid out in the level of the innermost cluster holding both, from
the item holding one to the item holding the other; where it leaves a cluster it runs inside
that cluster to the exit port on the box's right border, where it enters one, from the entry
port on the left border: its path is these routes end to end. An edge that the level of its
clusters draws backwards (a cycle between the items of a level) ends at the boxes' borders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tradewind.ui.layered import IN, OUT, Level, Point, Size, arrange

ROOT = ""
HEADER = 26  # a box's label band
PAD = 14  # a box's inner margin (sides without a port, bottom)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float


@dataclass
class Drawing:
    leaves: dict[str, Point]  # top-left corners
    boxes: dict[str, Rect]  # by cluster
    paths: dict[tuple[str, str], list[Point]]  # by edge: runs' ends (see layered.Level.routes)
    label_at: dict[tuple[str, str], Point]
    width: float
    height: float


def draw(
    leaf_parent: Mapping[str, str],
    cluster_parent: Mapping[str, str],
    edges: Sequence[tuple[str, str]],
    *,
    leaf_size: Size,
    cluster_label: Mapping[str, float],
    labels: Mapping[tuple[str, str], float],
    margin: float,
) -> Drawing:
    """``leaf_parent``: each leaf's cluster (``ROOT`` for none), leaves in their preferred
    order; ``cluster_parent``: each cluster's parent; ``cluster_label``: the width its label
    needs; ``labels``: the width of each labelled edge's label."""
    plan = _Plan(leaf_parent, cluster_parent)
    for u, v in edges:
        plan.add(u, v, labels.get((u, v), 0))
    levels, sizes = _levels(plan, leaf_size, cluster_label, margin)
    drawing = Drawing({}, {}, {}, {}, levels[ROOT].width, levels[ROOT].height + 2 * margin)
    origin: dict[str, Point] = {ROOT: (0.0, margin)}
    for cluster in [ROOT, *sorted(cluster_parent, key=lambda c: plan.depth[c])]:
        ox, oy = origin[cluster]
        for child in plan.children[cluster]:
            x, y = levels[cluster].at[child]
            if child in leaf_parent:
                drawing.leaves[child] = (ox + x, oy + y)
            else:
                drawing.boxes[child] = Rect(ox + x, oy + y, sizes[child].w, sizes[child].h)
                origin[child] = (ox + x, oy + y + HEADER)

    moved: dict[tuple[str, str, str], list[Point]] = {}

    def route(cluster: str, edge: tuple[str, str]) -> list[Point]:
        """The edge's route in the level of ``cluster``, on the page (shared by many)."""
        key = (cluster, *edge)
        if key not in moved:
            ox, oy = origin[cluster]
            moved[key] = [(x + ox, y + oy) for x, y in levels[cluster].routes[edge]]
        return moved[key]

    for (u, v), (cu, cv, i) in plan.spans.items():
        lca, a, b = cu[i - 1], cu[i], cv[i]
        points = route(lca, (a, b))
        if (a, b) not in levels[lca].reversed:
            for j in range(i, len(cu) - 1):
                points = route(cu[j], (cu[j + 1], OUT))[:-2] + points
            for j in range(i, len(cv) - 1):
                points = points + route(cv[j], (IN, cv[j + 1]))[2:]
        drawing.paths[(u, v)] = points
        lx, ly = levels[lca].label_at[(a, b)]
        drawing.label_at[(u, v)] = (lx + origin[lca][0], ly + origin[lca][1])
    return drawing


def _levels(
    plan: _Plan, leaf_size: Size, cluster_label: Mapping[str, float], margin: float
) -> tuple[dict[str, Level], dict[str, Size]]:
    """Each cluster's level, innermost first, and the size of each item it holds."""
    leaf_parent, cluster_parent = plan.leaf_parent, plan.cluster_parent
    sizes: dict[str, Size] = dict.fromkeys(leaf_parent, leaf_size)
    sizes[IN] = sizes[OUT] = Size(0, 0, 0, 0)  # ports: points
    levels: dict[str, Level] = {}
    for cluster in [*sorted(cluster_parent, key=lambda c: -plan.depth[c]), ROOT]:
        inner = plan.edges[cluster]
        order = sorted(plan.children[cluster], key=lambda c: plan.rank[c])
        if any(a == IN for a, _ in inner):
            order.insert(0, IN)
        if any(b == OUT for _, b in inner):
            order.append(OUT)
        level = arrange(
            order,
            sizes,
            inner,
            labels=plan.labels[cluster],
            lead=margin if cluster == ROOT else PAD,
            min_width=cluster_label.get(cluster, 0),
        )
        levels[cluster] = level
        middle = HEADER + level.height / 2
        entry = HEADER + level.at[IN][1] if IN in level.at else middle
        leave = HEADER + level.at[OUT][1] if OUT in level.at else middle
        sizes[cluster] = Size(level.width, HEADER + level.height + PAD, entry, leave)
    return levels, sizes


class _Plan:
    """The clusters' tree, and the edges each level lays out."""

    def __init__(self, leaf_parent: Mapping[str, str], cluster_parent: Mapping[str, str]):
        self.leaf_parent = leaf_parent
        self.cluster_parent = cluster_parent
        self.rank = {leaf: i for i, leaf in enumerate(leaf_parent)}
        self.children: dict[str, list[str]] = defaultdict(list)
        for leaf, parent in leaf_parent.items():
            self.children[parent].append(leaf)
        for cluster, parent in cluster_parent.items():
            self.children[parent].append(cluster)
        self.depth = {c: len(self.chain(c)) for c in cluster_parent}
        for cluster in sorted(cluster_parent, key=lambda c: -self.depth[c]):
            self.rank[cluster] = min(self.rank[c] for c in self.children[cluster])
        self.edges: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.labels: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
        self.spans: dict[tuple[str, str], tuple[list[str], list[str], int]] = {}

    def chain(self, node: str) -> list[str]:
        """``ROOT``, the clusters holding ``node`` (outermost first), and ``node``."""
        up = self.leaf_parent[node] if node in self.leaf_parent else self.cluster_parent[node]
        found = [node]
        while up != ROOT:
            found.append(up)
            up = self.cluster_parent[up]
        return [ROOT, *found[::-1]]

    def add(self, u: str, v: str, label: float) -> None:
        cu, cv = self.chain(u), self.chain(v)
        i = 1
        while cu[i] == cv[i]:
            i += 1
        lca, a, b = cu[i - 1], cu[i], cv[i]
        self.edges[lca].append((a, b))
        if label:
            self.labels[lca][(a, b)] = max(self.labels[lca].get((a, b), 0), label)
        self.spans[(u, v)] = (cu, cv, i)
        if self.rank[a] < self.rank[b]:  # drawn forwards: out of and into the boxes
            for j in range(i, len(cu) - 1):
                self.edges[cu[j]].append((cu[j + 1], OUT))
            for j in range(i, len(cv) - 1):
                self.edges[cv[j]].append((IN, cv[j + 1]))


def svg_path(points: Sequence[Point]) -> str:
    """Runs as straight lines, the gaps between as curves level at both ends (a gap at one
    height and the runs on either side: one line)."""
    parts = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    level = ""  # the end of the line so far, not yet written
    for k in range(1, len(points)):
        (px, py), (qx, qy) = points[k - 1], points[k]
        if abs(py - qy) < 0.05:
            level = f"H{qx:.1f}" if qx != px or level else level
            continue
        mid = (px + qx) / 2
        parts += [level, f"C{mid:.1f},{py:.1f} {mid:.1f},{qy:.1f} {qx:.1f},{qy:.1f}"]
        level = ""
    parts.append(level)
    return " ".join(part for part in parts if part)


def trace(points: Sequence[Point], steps: int = 16) -> list[Point]:
    """The path as a polyline (its curves cut in ``steps``), for checking what it crosses."""
    found = [points[0], points[1]]
    for k in range(2, len(points), 2):
        (px, py), (qx, qy) = points[k - 1], points[k]
        mid = (px + qx) / 2
        for s in range(1, steps + 1):
            t = s / steps
            x = (
                (1 - t) ** 3 * px
                + 3 * (1 - t) ** 2 * t * mid
                + 3 * (1 - t) * t * t * mid
                + t**3 * qx
            )
            y = (1 - t) ** 3 * py + 3 * (1 - t) ** 2 * t * py + 3 * (1 - t) * t * t * qy + t**3 * qy
            found.append((x, y))
        found.append(points[k + 1])
    return found

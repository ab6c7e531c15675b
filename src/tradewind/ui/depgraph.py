"""The graph of which DAGs feed which through assets: producer DAG -> asset -> consumer DAG
(and asset -> alias -> DAG for DAGs scheduled on an alias), laid out as the DAG graph view's
(:mod:`tradewind.ui.graph`) and drawn by the same SVG styles.

Node keys are ``dag:<dag_id>``, ``asset:<id>`` and ``alias:<name>``. The dependencies may
hold cycles (two DAGs that feed each other); the layout breaks them where it must.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from tradewind.metastore.store import assetviews
from tradewind.ui import graph

Pairs = set[tuple[str, str]]  # edges as (source key, target key)

# More nodes than this make a drawing no one can read: the page asks for a narrower search.
MOST_NODES = 300


@dataclass(frozen=True)
class Node:
    key: str
    kind: str  # "dag", "asset" or "alias"
    label: str
    sub: str
    title: str
    href: str
    x: float
    y: float


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    path: str  # SVG path data


@dataclass(frozen=True)
class Drawing:
    nodes: list[Node]
    edges: list[Arrow]
    width: float
    height: float


def edges_of(deps: assetviews.Dependencies) -> Pairs:
    """Every edge of the graph, as (source key, target key)."""
    found = {(f"dag:{dag}", f"asset:{asset}") for dag, asset in deps.produces}
    found |= {(f"asset:{asset}", f"dag:{dag}") for asset, dag in deps.feeds}
    found |= {(f"asset:{asset}", f"alias:{alias}") for asset, alias in deps.resolves}
    found |= {(f"alias:{alias}", f"dag:{dag}") for alias, dag in deps.alias_feeds}
    return found


def matching(deps: assetviews.Dependencies, edges: Pairs, text: str) -> Pairs:
    """The edges with an end whose DAG id, asset URI or name, or alias name holds ``text``."""
    wanted = text.lower()

    def hit(key: str) -> bool:
        kind, _, value = key.partition(":")
        if kind == "asset":
            uri, name = deps.assets.get(int(value), ("", ""))
            return wanted in uri.lower() or wanted in name.lower()
        return wanted in value.lower()

    return {(a, b) for a, b in edges if hit(a) or hit(b)}


def around_asset(
    asset_id: int,
    uri: str,
    name: str,
    producers: Sequence[assetviews.Producer],
    consumers: Sequence[assetviews.Consumer],
) -> assetviews.Dependencies:
    """One asset's part of the graph: the DAGs that produce it and those scheduled on it."""
    through = [c for c in consumers if c.alias]
    return assetviews.Dependencies(
        assets={asset_id: (uri, name)},
        produces={(p.dag_id, asset_id) for p in producers},
        feeds={(asset_id, c.dag_id) for c in consumers if not c.alias},
        resolves={(asset_id, c.alias) for c in through if c.alias},
        alias_feeds={(c.alias, c.dag_id) for c in through if c.alias},
    )


def dependency_order(keys: set[str], succ: graph.Edges) -> list[str]:
    """The keys with each before those it feeds, where cycles allow (else by name)."""
    incoming: dict[str, int] = dict.fromkeys(keys, 0)
    for key in keys:
        for target in succ[key]:
            incoming[target] += 1
    ordered: list[str] = []
    left = set(keys)
    while left:
        ready = sorted(k for k in left if incoming[k] == 0) or [min(left)]
        for key in ready:
            left.discard(key)
            ordered.append(key)
            for target in succ[key]:
                incoming[target] -= 1
    return ordered


def draw(deps: assetviews.Dependencies, edges: Pairs) -> Drawing:
    succ: dict[str, set[str]] = defaultdict(set)
    pred: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        succ[source].add(target)
        pred[target].add(source)
    keys = dependency_order({k for edge in edges for k in edge}, succ)
    xy, width, height = graph.place(keys, succ, pred, dict.fromkeys(keys, ""))
    nodes = [_node(deps, key, xy[key]) for key in keys]
    # curves() draws the edges of each key in this order.
    pairs = [(source, target) for source in keys for target in sorted(succ[source])]
    paths = graph.curves(keys, succ, xy, lambda a, b: "")
    arrows = [Arrow(a, b, edge.path) for (a, b), edge in zip(pairs, paths, strict=True)]
    return Drawing(nodes, arrows, width, height)


def _node(deps: assetviews.Dependencies, key: str, at: tuple[float, float]) -> Node:
    kind, _, value = key.partition(":")
    if kind == "dag":
        href = f"/dags/{quote(value, safe='')}"
        return Node(key, kind, graph.short(value), "DAG", value, href, *at)
    if kind == "alias":
        href = "/assets/dependencies?q=" + quote(value, safe="")
        return Node(key, kind, graph.short(value), "asset alias", f"alias {value}", href, *at)
    uri, name = deps.assets.get(int(value), (value, value))
    sub = graph.short(uri, 26) if name != uri else "asset"
    return Node(key, kind, graph.short(name), sub, uri, f"/assets/{value}", *at)

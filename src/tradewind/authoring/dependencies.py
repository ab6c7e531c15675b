"""``>>`` and ``<<`` between tasks, task groups, XComArgs and lists of them; chain and friends."""

from __future__ import annotations

import abc
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

_T = TypeVar("_T", bound="DependencyMixin | Sequence[DependencyMixin]")
_Self = TypeVar("_Self", bound="DependencyMixin")


class DependencyMixin(abc.ABC):
    """Something a dependency can point at: a task, a task group or an XComArg.

    ``roots`` are the tasks an edge coming from upstream lands on; ``leaves`` the tasks an edge
    going downstream starts from. For a single task both are the task itself.
    """

    @property
    @abc.abstractmethod
    def roots(self) -> list[BaseOperator]: ...

    @property
    @abc.abstractmethod
    def leaves(self) -> list[BaseOperator]: ...

    def set_upstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        """Make ``other`` (one node or a list) run before this one; ``edge_modifier`` (a
        Label) annotates the new edges."""
        for node in as_nodes(other):
            connect(node, self, edge_modifier)

    def set_downstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        """Make ``other`` (one node or a list) run after this one; ``edge_modifier`` (a
        Label) annotates the new edges."""
        for node in as_nodes(other):
            connect(self, node, edge_modifier)

    def __rshift__(self, other: _T) -> _T:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: _T) -> _T:
        self.set_upstream(other)
        return other

    def __rrshift__(self: _Self, other: Sequence[DependencyMixin]) -> _Self:
        # [a, b] >> self
        self.set_upstream(other)
        return self

    def __rlshift__(self: _Self, other: Sequence[DependencyMixin]) -> _Self:
        # [a, b] << self
        self.set_downstream(other)
        return self


def as_nodes(value: Any) -> list[DependencyMixin]:
    """One node or a list/tuple/set of nodes as a list; TypeError for anything else."""
    if isinstance(value, DependencyMixin):
        return [value]
    if isinstance(value, list | tuple | set | frozenset):
        nodes = list(value)
        for node in nodes:
            if not isinstance(node, DependencyMixin):
                raise TypeError(f"cannot set a dependency on {node!r}: not a task or task group")
        return nodes
    raise TypeError(f"cannot set a dependency on {value!r}: not a task or task group")


class EdgeModifier(DependencyMixin):
    """Something placed on the edges between nodes (``a >> Label("x") >> b``): the nodes on
    each side are linked to each other, and the modifier annotates those edges."""

    def __init__(self) -> None:
        self._upstream: list[DependencyMixin] = []
        self._downstream: list[DependencyMixin] = []

    @property
    def roots(self) -> list[BaseOperator]:
        return []

    @property
    def leaves(self) -> list[BaseOperator]:
        return []

    @abc.abstractmethod
    def annotate(self, upstream: BaseOperator, downstream: BaseOperator) -> None:
        """Record this modifier on the edge ``upstream >> downstream``."""

    def add_upstream(self, node: DependencyMixin) -> None:
        self._upstream.append(node)
        for downstream in self._downstream:
            connect(node, downstream, self)

    def add_downstream(self, node: DependencyMixin) -> None:
        self._downstream.append(node)
        for upstream in self._upstream:
            connect(upstream, node, self)


def connect(
    upstream: DependencyMixin, downstream: DependencyMixin, modifier: EdgeModifier | None = None
) -> None:
    """Add an edge from every leaf of ``upstream`` to every root of ``downstream`` (annotated by
    ``modifier``); an edge modifier on either side keeps the node for its other side."""
    if isinstance(downstream, EdgeModifier):
        downstream.add_upstream(upstream)
        return
    if isinstance(upstream, EdgeModifier):
        upstream.add_downstream(downstream)
        return
    for leaf in upstream.leaves:
        for root in downstream.roots:
            leaf.add_downstream_task(root)
            if modifier is not None:
                modifier.annotate(leaf, root)


def chain(*elements: DependencyMixin | Sequence[DependencyMixin]) -> None:
    """Set dependencies in a line: ``chain(a, [b, c], [d, e], f)``.

    Between two single nodes or a node and a list, every pair is linked. Two adjacent lists
    must have the same length and are linked pairwise by position (b >> d, c >> e).
    """
    for left, right in itertools.pairwise(elements):
        left_is_list = not isinstance(left, DependencyMixin)
        right_is_list = not isinstance(right, DependencyMixin)
        if left_is_list and right_is_list:
            left_nodes, right_nodes = as_nodes(left), as_nodes(right)
            if len(left_nodes) != len(right_nodes):
                raise ValueError(
                    "chain() links two adjacent lists pairwise, so they must have the same "
                    f"length; got {len(left_nodes)} and {len(right_nodes)}"
                )
            for up, down in zip(left_nodes, right_nodes, strict=True):
                connect(up, down)
        else:
            for up in as_nodes(left):
                for down in as_nodes(right):
                    connect(up, down)


def chain_linear(*elements: DependencyMixin | Sequence[DependencyMixin]) -> None:
    """Set dependencies in a line where each element runs after all of the one before:
    ``chain_linear(a, [b, c], [d, e])`` links a to b and c, and each of b and c to d and e."""
    if len(elements) < 2:
        raise ValueError("chain_linear() needs two elements or more (did you forget a `*`?)")
    for left, right in itertools.pairwise(elements):
        for up in as_nodes(left):
            for down in as_nodes(right):
                connect(up, down)


def cross_downstream(
    from_tasks: Sequence[DependencyMixin], to_tasks: DependencyMixin | Sequence[DependencyMixin]
) -> None:
    """Make every task of ``to_tasks`` run after every task of ``from_tasks``."""
    for node in as_nodes(from_tasks):
        node.set_downstream(to_tasks)

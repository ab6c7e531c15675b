"""Edge labels: ``a >> Label("when ready") >> b`` names the edge from a to b in the graph view.

``a.set_downstream(b, edge_modifier=Label("..."))`` does the same. The label is kept in the
DAG's ``edge_info`` and in the serialized DAG; it changes nothing about scheduling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewind.authoring.dependencies import EdgeModifier

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator


class Label(EdgeModifier):
    """A text shown on the edges it sits on."""

    def __init__(self, label: str) -> None:
        super().__init__()
        if not isinstance(label, str):
            raise TypeError(f"an edge label is text, not {label!r}")
        self.label = label

    def annotate(self, upstream: BaseOperator, downstream: BaseOperator) -> None:
        dag = upstream.dag or downstream.dag
        if dag is not None:
            dag.set_edge_info(upstream.task_id, downstream.task_id, {"label": self.label})

    def __repr__(self) -> str:
        return f"Label({self.label!r})"

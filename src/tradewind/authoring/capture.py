"""Record every DAG and operator created while a DAG file is imported.

The DAG loader wraps the import of one file in :func:`capture`::

    with capture() as captured:
        import_the_file()
    for task in captured.orphans(): ...

DAGs count as soon as they are constructed, so ``with DAG(...)`` blocks and ``@dag`` functions
that are called but not assigned to a module global are found too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tradewind.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG


@dataclass
class Captured:
    """The DAGs and operators created inside one :func:`capture` block, in creation order."""

    dags: list[DAG] = field(default_factory=list)
    operators: list[BaseOperator] = field(default_factory=list)

    def orphans(self) -> list[BaseOperator]:
        """Operators that were created but belong to no DAG."""
        return [op for op in self.operators if op.dag is None]

    def check_orphans(self) -> None:
        """Raise DagDefinitionError for the first orphan, naming its file and line."""
        for op in self.orphans():
            raise DagDefinitionError(
                f"task {op.task_id!r} is not in any DAG",
                fileloc=op.fileloc,
                lineno=op.lineno,
            )


_current: contextvars.ContextVar[Captured | None] = contextvars.ContextVar(
    "tradewind_capture", default=None
)


@contextmanager
def capture() -> Iterator[Captured]:
    """Record the DAGs and operators created while the block runs (nested blocks see their own)."""
    captured = Captured()
    token = _current.set(captured)
    try:
        yield captured
    finally:
        _current.reset(token)


def record_dag(dag: DAG) -> None:
    captured = _current.get()
    if captured is not None:
        captured.dags.append(dag)


def record_operator(op: BaseOperator) -> None:
    captured = _current.get()
    if captured is not None:
        captured.operators.append(op)

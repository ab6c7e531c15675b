"""What a DAG file may ask about why it is being imported (Airflow's ``get_parsing_context``).

Airflow tells a file which DAG and task a task try imports it for, so that a file generating
many DAGs may build only that one. tradewind always builds every DAG of a file (a warm
process serves many tries from one import), so both are None: the file builds all its DAGs,
which is what such files do when the answer is None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParsingContext:
    """The DAG and task a file is imported for; None: all of them."""

    dag_id: str | None = None
    task_id: str | None = None


def get_parsing_context() -> ParsingContext:
    """Why the file is being imported: always for all its DAGs in tradewind."""
    return ParsingContext()

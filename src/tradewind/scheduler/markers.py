"""ExternalTaskMarker targets: which task of which DAG, at which logical date, a marker points
at in a given run. Its fields are templates, rendered here in a sandbox with the run's dates
(the scheduler does not import DAG files, so user macros are not available)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
import jinja2.sandbox

from tradewind.authoring.templating import FILTERS
from tradewind.exceptions import TradewindError
from tradewind.metastore.models import DagRun
from tradewind.parsing.serialize import SerializedDag


class MarkerError(TradewindError):
    """A marker's target cannot be worked out (its template does not render to a date)."""


@dataclass(frozen=True)
class MarkedTask:
    dag_id: str
    task_id: str
    logical_date: datetime
    recursion_depth: int


def _environment() -> jinja2.Environment:
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    return env


def _run_context(run: DagRun) -> dict[str, Any]:
    logical = run.logical_date
    return {
        "logical_date": logical,
        "execution_date": logical,
        "data_interval_start": run.data_interval_start or logical,
        "data_interval_end": run.data_interval_end or logical,
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "run_id": run.run_id,
        "dag_run": run,
    }


def marked_tasks(dag: SerializedDag, run: DagRun, task_ids: Collection[str]) -> list[MarkedTask]:
    """The targets of the markers among ``task_ids`` in ``run``."""
    env = _environment()
    context = _run_context(run)
    found = []
    for task_id in sorted(task_ids):
        task = dag.tasks.get(task_id)
        marker = task.external_marker if task is not None else None
        if not marker:
            continue
        try:
            rendered = {
                name: env.from_string(str(marker[name])).render(context)
                for name in ("external_dag_id", "external_task_id", "logical_date")
            }
            when = datetime.fromisoformat(rendered["logical_date"].strip())
        except (jinja2.TemplateError, ValueError) as exc:
            raise MarkerError(
                f"ExternalTaskMarker {task_id!r} of DAG {dag.dag_id!r}: cannot work out its "
                f"target: {exc}"
            ) from None
        found.append(
            MarkedTask(
                rendered["external_dag_id"],
                rendered["external_task_id"],
                when if when.tzinfo is not None else when.replace(tzinfo=UTC),
                int(marker["recursion_depth"]),
            )
        )
    return found

"""ExternalTaskSensor waits for tasks (or a whole run) of another DAG at a related logical date;
ExternalTaskMarker makes clearing a task here clear the matching task of another DAG.

Both follow Airflow's documented behaviour. The sensor reads the metastore through
``context[RUNS_KEY]``, which the task runner provides (:class:`DagRunsView`). Clearing with
downstream tasks follows markers in the scheduler (:mod:`tradewind.scheduler.operations`).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import SkipTask, TaskError
from tradewind.sensors.deferral import DeferrableSensor
from tradewind.triggers.base import BaseTrigger
from tradewind.triggers.external_task import WorkflowTrigger

log = logging.getLogger(__name__)

RUNS_KEY = "tradewind_dag_runs"
"""The context entry holding a :class:`DagRunsView` on the metastore."""

DEFAULT_MARKER_DATE = "{{ logical_date.isoformat() }}"


class DagRunsView(Protocol):
    """What the sensor reads about other DAGs."""

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        """The DAG's task ids, each with its task group's id (None: no such DAG)."""

    def run_states(self, dag_id: str, logical_dates: Collection[dt.datetime]) -> list[str]:
        """The states of the DAG's runs at these logical dates."""

    def task_states(
        self, dag_id: str, logical_dates: Collection[dt.datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        """The states of these tasks in the DAG's runs at these logical dates."""


def _states(name: str, value: Iterable[str] | None, default: Sequence[str]) -> frozenset[str]:
    if value is None:
        return frozenset(default)
    if isinstance(value, str):
        raise ValueError(f"{name} is a list of states, not the string {value!r}")
    return frozenset(str(getattr(state, "value", state)) for state in value)


class ExternalTaskSensor(DeferrableSensor):
    """Waits until tasks of another DAG (or its whole run) reach ``allowed_states``.

    The run looked at is the other DAG's run at this run's logical date, moved back by
    ``execution_delta``, or at the date(s) ``execution_date_fn(logical_date, ...)`` returns.
    Any state in ``failed_states`` fails the sensor (skips it with ``soft_fail``); any in
    ``skipped_states`` skips it. ``check_existence`` fails at once when the DAG or task is
    missing. With ``deferrable=True`` it waits in the triggerer (a WorkflowTrigger).
    """

    template_fields: ClassVar[Sequence[str]] = (
        "external_dag_id",
        "external_task_id",
        "external_task_ids",
        "external_task_group_id",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Collection[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        execution_delta: dt.timedelta | None = None,
        execution_date_fn: Callable[..., Any] | None = None,
        check_existence: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        chosen = [external_task_id, external_task_ids, external_task_group_id]
        if sum(value is not None for value in chosen) > 1:
            raise self._error(
                f"task {self.task_id!r}: pass only one of external_task_id, external_task_ids "
                "and external_task_group_id"
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise self._error(
                f"task {self.task_id!r}: pass execution_delta or execution_date_fn, not both"
            )
        try:
            self.allowed_states = _states("allowed_states", allowed_states, ["success"])
            self.skipped_states = _states("skipped_states", skipped_states, [])
            self.failed_states = _states("failed_states", failed_states, [])
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        sets = (self.allowed_states, self.skipped_states, self.failed_states)
        if sum(len(s) for s in sets) != len(frozenset().union(*sets)):
            raise self._error(
                f"task {self.task_id!r}: a state appears in more than one of allowed_states, "
                "skipped_states and failed_states"
            )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = (
            [external_task_id] if external_task_id is not None else external_task_ids
        )
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = bool(check_existence)

    def logical_dates(self, context: Mapping[str, Any]) -> list[dt.datetime]:
        """The other DAG's logical dates to look at for this run."""
        logical = context["logical_date"]
        if self.execution_delta is not None:
            return [logical - self.execution_delta]
        if self.execution_date_fn is None:
            return [logical]
        found = _call_date_fn(self.execution_date_fn, logical, context)
        return list(found) if isinstance(found, list | tuple) else [found]

    def poke(self, context: Mapping[str, Any]) -> bool:
        view: DagRunsView = context[RUNS_KEY]
        dates = self.logical_dates(context)
        task_ids = self._task_ids(view)
        if task_ids is None:
            states: list[str | None] = list(view.run_states(self.external_dag_id, dates))
            what = f"run of DAG {self.external_dag_id!r}"
        else:
            states = view.task_states(self.external_dag_id, dates, task_ids)
            what = f"task {sorted(task_ids)} of DAG {self.external_dag_id!r}"
        shown = ", ".join(d.isoformat() for d in dates)
        if any(state in self.failed_states for state in states):
            message = f"the external {what} at {shown} is in a failed state"
            if self.soft_fail:
                raise SkipTask(message)
            raise TaskError(message)
        if any(state in self.skipped_states for state in states):
            raise SkipTask(f"the external {what} at {shown} is in a skipped state")
        expected = len(dates) * (1 if task_ids is None else len(task_ids))
        done = sum(state in self.allowed_states for state in states)
        log.info(
            "Poking %s at %s: %d of %d in %s", what, shown, done, expected, self.allowed_states
        )
        return done >= expected

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        return WorkflowTrigger(
            self.external_dag_id,
            logical_dates=self.logical_dates(context),
            external_task_ids=self._task_ids(context[RUNS_KEY]),
            allowed_states=self.allowed_states,
            failed_states=self.failed_states,
            skipped_states=self.skipped_states,
            poke_interval=self.poke_interval,
            soft_fail=self.soft_fail,
        )

    def execute_complete(self, context: Mapping[str, Any], event: Any = None) -> None:
        """The trigger's verdict: ``{"status": "success" | "failed" | "skipped"}``."""
        status = event.get("status") if isinstance(event, Mapping) else None
        what = f"the external DAG {self.external_dag_id!r}"
        if status == "success":
            return
        if status == "skipped":
            raise SkipTask(f"{what} reached a skipped state")
        message = (
            f"{what} reached a failed state"
            if status == "failed"
            else (f"unexpected event from the trigger: {event!r}")
        )
        if self.soft_fail:
            raise SkipTask(message)
        raise TaskError(message)

    def _task_ids(self, view: DagRunsView) -> list[str] | None:
        """The other DAG's tasks to wait for (None: its whole run)."""
        group = self.external_task_group_id
        if self.external_task_ids is None and group is None:
            if self.check_existence and view.dag_tasks(self.external_dag_id) is None:
                raise TaskError(f"the external DAG {self.external_dag_id!r} does not exist")
            return None
        tasks = view.dag_tasks(self.external_dag_id) if self.check_existence or group else None
        if self.check_existence and tasks is None:
            raise TaskError(f"the external DAG {self.external_dag_id!r} does not exist")
        if group is not None:
            members = [
                task_id
                for task_id, owner in (tasks or {}).items()
                if owner is not None and (owner == group or owner.startswith(group + "."))
            ]
            if not members and self.check_existence:
                raise TaskError(
                    f"the external task group {group!r} of DAG {self.external_dag_id!r} "
                    "does not exist"
                )
            return members
        wanted = list(self.external_task_ids or [])
        missing = [task_id for task_id in wanted if tasks is not None and task_id not in tasks]
        if self.check_existence and missing:
            raise TaskError(
                f"the external task {missing[0]!r} of DAG {self.external_dag_id!r} does not exist"
            )
        return wanted


def _call_date_fn(
    function: Callable[..., Any], logical: dt.datetime, context: Mapping[str, Any]
) -> Any:
    """Call ``function`` with the logical date, plus the context entries it names."""
    parameters = list(inspect.signature(function).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        first = parameters[0].name if parameters else ""
        return function(logical, **{k: v for k, v in context.items() if k != first})
    named = {p.name for p in parameters[1:] if p.kind is not p.VAR_POSITIONAL}
    if len(parameters) > 1 and parameters[1].name == "context":
        return function(logical, context)
    return function(logical, **{k: context[k] for k in named if k in context})


class ExternalTaskMarker(BaseOperator):
    """Marks a task of another DAG as depending on this one: clearing this task with its
    downstream tasks also clears ``external_task_id`` of ``external_dag_id`` (and its downstream
    tasks) in the run at ``logical_date`` (rendered; by default this run's), following markers
    there too, at most ``recursion_depth`` DAGs deep. Running it does nothing."""

    template_fields: ClassVar[Sequence[str]] = (
        "external_dag_id",
        "external_task_id",
        "logical_date",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | dt.datetime | None = None,
        execution_date: str | dt.datetime | None = None,
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(recursion_depth, int) or recursion_depth <= 0:
            raise self._error(f"task {self.task_id!r}: recursion_depth must be a positive integer")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        date = logical_date if logical_date is not None else execution_date
        self.logical_date: str = (
            date.isoformat() if isinstance(date, dt.datetime) else date or DEFAULT_MARKER_DATE
        )
        self.recursion_depth = recursion_depth

    def execute(self, context: Mapping[str, Any]) -> None:
        return None

"""Triggers that wait for another DAG's run or tasks: :class:`WorkflowTrigger` and
:class:`DagStateTrigger` (Airflow's ``airflow.triggers.external_task``).

Both read states through :mod:`tradewind.triggers.runstates`, which the triggerer fills, in a
worker thread every ``poke_interval`` (``poll_interval``) seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from tradewind.triggers import runstates
from tradewind.triggers.base import BaseTrigger, TriggerEvent


def _states(value: Iterable[Any] | None, default: Sequence[str] = ()) -> list[str]:
    if value is None:
        return list(default)
    if isinstance(value, str):
        raise TypeError(f"states are a list, not the string {value!r}")
    return sorted({str(getattr(state, "value", state)) for state in value})


def _dates(value: Iterable[dt.datetime] | None) -> list[dt.datetime] | None:
    if value is None:
        return None
    dates = list(value)
    for date in dates:
        if not isinstance(date, dt.datetime) or date.tzinfo is None:
            raise ValueError(f"logical dates must be aware datetimes, not {date!r}")
    return dates


class WorkflowTrigger(BaseTrigger):
    """Fires when the other DAG's tasks (``external_task_ids``, or the tasks of
    ``external_task_group_id``; neither: its whole runs) at ``logical_dates`` are all in
    ``allowed_states`` (payload ``{"status": "success"}``), or as soon as one is in
    ``failed_states`` (``{"status": "failed"}``) or ``skipped_states`` (``{"status":
    "skipped"}``). ``run_ids`` pick whole runs by id instead of logical dates.
    ``execution_dates`` is Airflow 2's name of ``logical_dates``.
    """

    def __init__(
        self,
        external_dag_id: str,
        *,
        run_ids: list[str] | None = None,
        execution_dates: list[dt.datetime] | None = None,
        external_task_ids: Sequence[str] | None = None,
        external_task_group_id: str | None = None,
        failed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        allowed_states: Iterable[str] | None = None,
        poke_interval: float = 2.0,
        soft_fail: bool = False,
        logical_dates: list[dt.datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.logical_dates = _dates(logical_dates if logical_dates is not None else execution_dates)
        self.run_ids = list(run_ids) if run_ids is not None else None
        if (self.logical_dates is None) == (self.run_ids is None):
            raise ValueError("WorkflowTrigger needs logical_dates (or execution_dates) or run_ids")
        if self.run_ids is not None and (external_task_ids or external_task_group_id):
            raise ValueError("WorkflowTrigger waits for tasks at logical_dates, not run_ids")
        self.external_task_ids = list(external_task_ids) if external_task_ids else None
        self.external_task_group_id = external_task_group_id
        self.failed_states = _states(failed_states)
        self.skipped_states = _states(skipped_states)
        self.allowed_states = _states(allowed_states, ["success"])
        self.poke_interval = float(poke_interval)
        self.soft_fail = bool(soft_fail)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "tradewind.triggers.external_task.WorkflowTrigger",
            {
                "external_dag_id": self.external_dag_id,
                "run_ids": self.run_ids,
                "logical_dates": self.logical_dates,
                "external_task_ids": self.external_task_ids,
                "external_task_group_id": self.external_task_group_id,
                "failed_states": self.failed_states,
                "skipped_states": self.skipped_states,
                "allowed_states": self.allowed_states,
                "poke_interval": self.poke_interval,
                "soft_fail": self.soft_fail,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            states, expected = await asyncio.to_thread(self._look)
            if any(state in self.failed_states for state in states):
                yield TriggerEvent({"status": "failed"})
                return
            if any(state in self.skipped_states for state in states):
                yield TriggerEvent({"status": "skipped"})
                return
            done = sum(state in self.allowed_states for state in states)
            if expected and done >= expected:
                yield TriggerEvent({"status": "success"})
                return
            self.log.debug("%s: %d of %d in %s", self.external_dag_id, done, expected, states)
            await asyncio.sleep(self.poke_interval)

    def _look(self) -> tuple[list[str | None], int]:
        """The states seen now, and how many must be allowed (blocking: runs in a thread)."""
        lookup = runstates.current()
        dag_id = self.external_dag_id
        if self.run_ids is not None:
            return [lookup.run_state(dag_id, run_id) for run_id in self.run_ids], len(self.run_ids)
        dates = self.logical_dates or []
        task_ids = self._task_ids(lookup)
        if task_ids is None:
            return list(lookup.run_states(dag_id, dates)), len(dates)
        return list(lookup.task_states(dag_id, dates, task_ids)), len(dates) * len(task_ids)

    def _task_ids(self, lookup: runstates.RunStates) -> list[str] | None:
        group = self.external_task_group_id
        if group is None:
            return self.external_task_ids
        tasks = lookup.dag_tasks(self.external_dag_id) or {}
        return [
            task_id
            for task_id, owner in tasks.items()
            if owner is not None and (owner == group or owner.startswith(group + "."))
        ]


class DagStateTrigger(BaseTrigger):
    """Fires when the other DAG's runs (by ``run_ids``, or at ``logical_dates``; Airflow 2's
    ``execution_dates``) are all in one of ``states``. Its payload is its own serialized form
    (class path and arguments), as Airflow's is."""

    def __init__(
        self,
        dag_id: str,
        states: Iterable[str],
        *,
        execution_dates: list[dt.datetime] | None = None,
        run_ids: list[str] | None = None,
        poll_interval: float = 5.0,
        logical_dates: list[dt.datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dag_id = dag_id
        self.states = _states(states)
        self.logical_dates = _dates(logical_dates if logical_dates is not None else execution_dates)
        self.run_ids = list(run_ids) if run_ids is not None else None
        if (self.logical_dates is None) == (self.run_ids is None):
            raise ValueError("DagStateTrigger needs logical_dates (or execution_dates) or run_ids")
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "tradewind.triggers.external_task.DagStateTrigger",
            {
                "dag_id": self.dag_id,
                "states": self.states,
                "logical_dates": self.logical_dates,
                "run_ids": self.run_ids,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            states, expected = await asyncio.to_thread(self._look)
            if expected and sum(state in self.states for state in states) >= expected:
                yield TriggerEvent(self.serialize())
                return
            await asyncio.sleep(self.poll_interval)

    def _look(self) -> tuple[list[str | None], int]:
        lookup = runstates.current()
        if self.run_ids is not None:
            found = [lookup.run_state(self.dag_id, run_id) for run_id in self.run_ids]
            return found, len(self.run_ids)
        dates = self.logical_dates or []
        return list(lookup.run_states(self.dag_id, dates)), len(dates)

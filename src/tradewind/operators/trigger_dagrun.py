"""TriggerDagRunOperator: start a run of another DAG (and, if asked, wait for its end).

As in Airflow: the run is a manual run with ``conf``, at ``logical_date`` (default: now), with
``trigger_run_id`` (default ``manual__<logical date>``); the run id is pushed as the XCom
``trigger_run_id``. When the run exists, ``reset_dag_run`` clears it so that it runs again,
``skip_when_already_exists`` skips this task, and otherwise this task fails.
``wait_for_completion`` checks the run's state every ``poke_interval`` seconds until it is in
``allowed_states`` (success) or ``failed_states`` (failure).

The task runner provides the metastore access through ``context[TRIGGER_KEY]``
(:class:`DagRunTrigger`). ``deferrable=True`` is accepted; until tradewind has a triggerer the
task waits by checking, holding its slot.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from tradewind.authoring import values
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import SkipTask, TaskError

log = logging.getLogger(__name__)

TRIGGER_KEY = "tradewind_dag_run_trigger"
"""The context entry holding a :class:`DagRunTrigger` on the metastore."""
XCOM_RUN_ID = "trigger_run_id"
XCOM_LOGICAL_DATE = "trigger_logical_date"


class TriggerFailed(TaskError):
    """The run could not be created (no such DAG, a conf its params refuse, ...)."""


class DagRunTrigger(Protocol):
    """What the operator does to other DAGs' runs."""

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str | None,
        conf: dict[str, Any] | None,
        logical_date: dt.datetime | None,
    ) -> tuple[str, dt.datetime]:
        """Create a queued manual run; returns its run id and logical date.

        Raises :class:`TriggerFailed` when the run cannot be created."""

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """The run's state (None: no such run)."""

    def reset_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task of the run so that it runs again."""


def _as_states(value: Iterable[str] | None, default: str) -> list[str]:
    return [default] if value is None else [str(getattr(s, "value", s)) for s in value]


class TriggerDagRunOperator(BaseOperator):
    """Triggers a run of ``trigger_dag_id`` (see the module's docstring)."""

    template_fields: ClassVar[Sequence[str]] = (
        "trigger_dag_id",
        "trigger_run_id",
        "logical_date",
        "conf",
    )
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | dt.datetime | None = None,
        execution_date: str | dt.datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float = 60,
        allowed_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.logical_date = logical_date if logical_date is not None else execution_date
        self.reset_dag_run = bool(reset_dag_run)
        self.wait_for_completion = bool(wait_for_completion)
        try:
            self.poke_interval = values.as_timedelta("poke_interval", poke_interval).total_seconds()
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.allowed_states = _as_states(allowed_states, "success")
        self.failed_states = _as_states(failed_states, "failed")
        self.skip_when_already_exists = bool(skip_when_already_exists)
        # Waiting without a worker slot needs the triggerer (a later issue): this polls.
        self.deferrable = bool(deferrable)

    def execute(self, context: Mapping[str, Any]) -> None:
        runs: DagRunTrigger = context[TRIGGER_KEY]
        if self.conf is not None and not isinstance(self.conf, dict):
            raise TaskError(f"conf must be a dict, not {type(self.conf).__name__}")
        when = self._logical_date()
        run_id = self.trigger_run_id or None
        if run_id is not None and runs.run_state(self.trigger_dag_id, run_id) is not None:
            if self.skip_when_already_exists:
                raise SkipTask(f"DAG {self.trigger_dag_id!r} already has a run {run_id!r}")
            if not self.reset_dag_run:
                raise TaskError(f"DAG {self.trigger_dag_id!r} already has a run {run_id!r}")
            log.info("Clearing run %s of DAG %s", run_id, self.trigger_dag_id)
            runs.reset_run(self.trigger_dag_id, run_id)
        else:
            run_id, when = runs.trigger(
                self.trigger_dag_id, run_id=run_id, conf=self.conf, logical_date=when
            )
            log.info("Triggered run %s of DAG %s", run_id, self.trigger_dag_id)
        ti = context["ti"]
        ti.xcom_push(XCOM_RUN_ID, run_id)
        if when is not None:
            ti.xcom_push(XCOM_LOGICAL_DATE, when.isoformat())
        if self.wait_for_completion:
            self._wait(runs, run_id)

    def _logical_date(self) -> dt.datetime | None:
        value = self.logical_date
        if value is None or value == "":
            return None
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)

    def _wait(self, runs: DagRunTrigger, run_id: str) -> None:
        while True:
            time.sleep(self.poke_interval)
            state = runs.run_state(self.trigger_dag_id, run_id)
            log.info("Run %s of DAG %s is %s", run_id, self.trigger_dag_id, state)
            if state in self.failed_states:
                raise TaskError(
                    f"run {run_id!r} of DAG {self.trigger_dag_id!r} ended in state {state!r}"
                )
            if state in self.allowed_states:
                return

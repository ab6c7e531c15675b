"""The context's dates: pendulum DateTimes, and the ``ds``/``ts`` strings derived from them.

As in Airflow, the dates a task sees are pendulum DateTimes in UTC: the DAG's time zone
decides when runs happen, and the task converts with ``.in_timezone(...)`` where it wants
local time. Airflow 2's keys that Airflow 3 dropped (``execution_date``, ``next_ds``,
``prev_ds``, ``yesterday_ds``...) are computed here too; the context warns when a task reads
one of them (see :data:`DEPRECATED`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pendulum

from tradewind import timetables

if TYPE_CHECKING:
    from tradewind.authoring.dag import DAG
    from tradewind.runtime.context import DagRunView

# Airflow 2's context keys that Airflow 3 removed, with what to use instead.
DEPRECATED: dict[str, str] = {
    "execution_date": "use 'logical_date'",
    "next_execution_date": "use 'data_interval_end'",
    "next_ds": "use '{{ data_interval_end | ds }}'",
    "next_ds_nodash": "use '{{ data_interval_end | ds_nodash }}'",
    "prev_execution_date": "use 'prev_data_interval_start_success'",
    "prev_ds": "use '{{ prev_data_interval_start_success | ds }}'",
    "prev_ds_nodash": "use '{{ prev_data_interval_start_success | ds_nodash }}'",
    "prev_execution_date_success": "use 'prev_data_interval_start_success'",
    "yesterday_ds": "use '{{ macros.ds_add(ds, -1) }}'",
    "yesterday_ds_nodash": "use '{{ macros.ds_format(macros.ds_add(ds, -1), ...) }}'",
    "tomorrow_ds": "use '{{ macros.ds_add(ds, 1) }}'",
    "tomorrow_ds_nodash": "use '{{ macros.ds_format(macros.ds_add(ds, 1), ...) }}'",
    "conf": "use 'dag_run.conf' for the run's conf",
}


def to_pendulum(value: datetime) -> pendulum.DateTime:
    """An aware datetime as a pendulum DateTime in UTC (a naive one is taken as UTC)."""
    if isinstance(value, pendulum.DateTime) and value.tzinfo is pendulum.UTC:
        return value  # already one: the context converts each date once
    if value.tzinfo is None:
        value = value.replace(tzinfo=pendulum.UTC)
    return pendulum.instance(value).in_timezone(pendulum.UTC)


def optional_pendulum(value: datetime | None) -> pendulum.DateTime | None:
    return None if value is None else to_pendulum(value)


def _previous(run: DagRunView, name: str) -> pendulum.DateTime | None:
    """A date of the run's previous successful run (None if there is none)."""
    previous = run.previous_success
    return None if previous is None else optional_pendulum(getattr(previous, name))


def ds(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def ds_nodash(value: date) -> str:
    return value.strftime("%Y%m%d")


def ts(value: datetime) -> str:
    return value.isoformat()


def ts_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def ts_nodash_with_tz(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S%z")


def date_entries(run: DagRunView) -> dict[str, Any]:
    """The run's dates in the context, with the strings Airflow derives from them."""
    logical = to_pendulum(run.logical_date)
    return {
        "logical_date": logical,
        "data_interval_start": to_pendulum(run.data_interval_start),
        "data_interval_end": to_pendulum(run.data_interval_end),
        "ds": ds(logical),
        "ds_nodash": ds_nodash(logical),
        "ts": ts(logical),
        "ts_nodash": ts_nodash(logical),
        "ts_nodash_with_tz": ts_nodash_with_tz(logical),
        "prev_data_interval_start_success": _previous(run, "data_interval_start"),
        "prev_data_interval_end_success": _previous(run, "data_interval_end"),
        "prev_start_date_success": _previous(run, "start_date"),
        "prev_end_date_success": _previous(run, "end_date"),
    }


def deprecated_date_entries(dag: DAG, run: DagRunView) -> dict[str, Any]:
    """Airflow 2's date keys that Airflow 3 dropped.

    For a scheduled (or backfill) run, the next and previous execution dates are the schedule points
    around its logical date; for a manual run they are its logical date (as in Airflow).
    """
    logical = to_pendulum(run.logical_date)
    if run.run_type in ("scheduled", "backfill") and not run.external_trigger:
        after = optional_pendulum(timetables.schedule_after(dag.timetable, logical))
        before = optional_pendulum(timetables.schedule_before(dag.timetable, logical))
    else:
        after = before = logical
    # Plain dates: only their strings are shown (pendulum's arithmetic costs ~0.3 ms a try).
    day = logical.date()
    yesterday, tomorrow = day - timedelta(days=1), day + timedelta(days=1)
    return {
        "execution_date": logical,
        "next_execution_date": after,
        "next_ds": None if after is None else ds(after),
        "next_ds_nodash": None if after is None else ds_nodash(after),
        "prev_execution_date": before,
        "prev_ds": None if before is None else ds(before),
        "prev_ds_nodash": None if before is None else ds_nodash(before),
        "prev_execution_date_success": _previous(run, "logical_date"),
        "yesterday_ds": ds(yesterday),
        "yesterday_ds_nodash": ds_nodash(yesterday),
        "tomorrow_ds": ds(tomorrow),
        "tomorrow_ds_nodash": ds_nodash(tomorrow),
    }

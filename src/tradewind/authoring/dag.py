"""The DAG: a named set of tasks with dependencies, a schedule and run-level settings."""

from __future__ import annotations

import datetime as dt
import warnings
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import pendulum

from tradewind import timetables
from tradewind.authoring import airflow_args, assets, capture, graph, location, scope, values
from tradewind.authoring.deadline import DeadlineAlert, as_deadlines
from tradewind.authoring.params import Param, resolve_params, to_params
from tradewind.authoring.rules import parse_trigger_rule
from tradewind.authoring.task_group import TaskGroup
from tradewind.exceptions import DagDefinitionError, TaskNotFound
from tradewind.timetables.assets import AssetOrTimeSchedule, AssetTriggeredTimetable

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

Schedule = (
    str | dt.timedelta | timetables.Timetable | assets.BaseAsset | Sequence[assets.BaseAsset] | None
)
MAX_TAG_LENGTH = 100


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()

# DAG.__init__'s locals that are not arguments to check or keep.
_NOT_ARGUMENTS = frozenset({"self", "kwargs", "__class__"})


class DAG:
    """A workflow: tasks, their dependencies, a schedule and run-level settings.

    Use as ``with DAG("etl", schedule="@daily", start_date=datetime(2024, 1, 1)) as dag:``;
    operators created in the block join it. ``schedule`` is a cron expression, a preset
    (``@daily``...), a timedelta, a Timetable or None for manual runs only. A naive
    ``start_date`` is read in the DAG's time zone: ``timezone=`` (an IANA name), else the
    start date's own tzinfo, else UTC. ``schedule_interval`` is the old name of ``schedule``
    and ``concurrency`` the old name of ``max_active_tasks`` (both warn, as in Airflow 2).
    """

    on_success_callback: list[Callable[..., Any]]
    on_failure_callback: list[Callable[..., Any]]

    def __init__(
        self,
        dag_id: str | None = None,
        *,
        schedule: Schedule = None,
        start_date: dt.datetime | None = None,
        end_date: dt.datetime | None = None,
        catchup: bool = False,
        default_args: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        doc_md: str | None = None,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        dagrun_timeout: dt.timedelta | None = None,
        on_success_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_failure_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        is_paused_upon_creation: bool | None = None,
        timezone: str | dt.tzinfo | None = None,
        render_template_as_native_obj: bool = False,
        template_searchpath: str | Sequence[str] | None = None,
        user_defined_macros: Mapping[str, Any] | None = None,
        user_defined_filters: Mapping[str, Callable[..., Any]] | None = None,
        dag_display_name: str | None = None,
        schedule_interval: Schedule = NOT_GIVEN,
        **kwargs: Any,
    ) -> None:
        given = {name: value for name, value in locals().items() if name not in _NOT_ARGUMENTS}
        where = location.caller_location()
        self.fileloc = where.fileloc
        self.lineno = where.lineno
        try:
            self.dag_id = values.check_id("dag_id", dag_id)
            given.update(self._take_airflow_arguments(kwargs, where))
        except ValueError as exc:
            raise self._error(f"DAG {dag_id!r}: {exc}") from None
        if kwargs:
            names = ", ".join(repr(name) for name in sorted(kwargs))
            raise self._error(f"DAG({dag_id!r}) got unknown argument(s) {names}")
        self.default_args: dict[str, Any] = dict(default_args or {})
        try:
            self._check_arguments(given)
        except ValueError as exc:
            raise self._error(f"DAG {self.dag_id!r}: {exc}") from None
        self._set_schedule(given["schedule"], schedule_interval)
        self._keep_arguments(given)
        self._set_graph()
        capture.record_dag(self)

    def _take_airflow_arguments(
        self, kwargs: dict[str, Any], where: location.Location
    ) -> dict[str, Any]:
        """Airflow's arguments beyond the signature (see :mod:`airflow_args`): Airflow 2's
        names and the honoured ones are returned; the ignored ones are kept as attributes."""
        renamed = {}
        for old, new in (("concurrency", "max_active_tasks"), ("timetable", "schedule")):
            if old in kwargs:
                renamed[new] = _renamed(old, new, kwargs)
        honoured = airflow_args.take(
            self,
            kwargs,
            extras=airflow_args.DAG_EXTRAS,
            ignored=airflow_args.DAG_IGNORED,
            refused=airflow_args.DAG_REFUSED,
            owner=f"DAG {self.dag_id!r}",
            where=where,
        )
        return {**renamed, **honoured}

    def _check_arguments(self, given: Mapping[str, Any]) -> None:
        """Set the arguments that need checking; a bad one is a ValueError naming it."""
        self._set_dates(given["start_date"], given["end_date"], given["timezone"])
        self.params: dict[str, Param] = {
            **to_params(self.default_args.get("params")),
            **to_params(given["params"]),
        }
        self.tags = _check_tags(given["tags"])
        self.max_active_runs = values.check_int(
            "max_active_runs", given["max_active_runs"], minimum=1
        )
        self.max_active_tasks = values.check_int(
            "max_active_tasks", given["max_active_tasks"], minimum=1
        )
        self.dagrun_timeout = values.as_optional_timedelta(
            "dagrun_timeout", given["dagrun_timeout"]
        )
        for name in ("on_success_callback", "on_failure_callback"):
            setattr(self, name, values.as_callbacks(name, given[name]))
        self.deadline: list[DeadlineAlert] = as_deadlines(given["deadline"])

    def _set_schedule(self, schedule: Schedule, schedule_interval: Schedule) -> None:
        if schedule_interval is not NOT_GIVEN:
            _warn_removed("DAG(schedule_interval=...)", "use schedule=", stacklevel=4)
            if schedule is not None:
                raise self._error(
                    f"DAG {self.dag_id!r}: pass schedule or schedule_interval, not both"
                )
            schedule = schedule_interval
        # What asset updates make it run (None: none), beside its timetable.
        self.asset_condition: assets.BaseAsset | None = None
        if assets.is_asset_schedule(schedule):
            self.asset_condition = assets.condition_of(schedule)
            schedule = AssetTriggeredTimetable()
        elif isinstance(schedule, AssetOrTimeSchedule):
            if schedule.assets is None:
                raise self._error(f"DAG {self.dag_id!r}: AssetOrTimeSchedule needs assets")
            self.asset_condition = assets.condition_of(schedule.assets)
        try:
            # Not assets any more: what is left is for create_timetable to accept or refuse.
            timed = cast(timetables.Schedule, schedule)
            self.timetable = timetables.create_timetable(timed, self.timezone)
        except timetables.InvalidSchedule as exc:
            raise self._error(f"DAG {self.dag_id!r}: {exc}") from None
        self.schedule = schedule

    def _keep_arguments(self, given: Mapping[str, Any]) -> None:
        """Set the arguments that are taken as they are."""
        self.catchup = bool(given["catchup"])
        self.description: str | None = given["description"]
        self.doc_md: str | None = given["doc_md"]
        self.dag_display_name: str = given["dag_display_name"] or self.dag_id
        self.is_paused_upon_creation: bool | None = given["is_paused_upon_creation"]
        self.render_template_as_native_obj = bool(given["render_template_as_native_obj"])
        searchpath = given["template_searchpath"]
        if isinstance(searchpath, str):
            searchpath = [searchpath]
        self.template_searchpath: list[str] = list(searchpath or [])
        self.user_defined_macros: dict[str, Any] = dict(given["user_defined_macros"] or {})
        self.user_defined_filters: dict[str, Callable[..., Any]] = dict(
            given["user_defined_filters"] or {}
        )
        self.jinja_environment_kwargs: dict[str, Any] = dict(
            given["jinja_environment_kwargs"] or {}
        )
        self.template_undefined: type[Any] | None = given["template_undefined"]

    def _set_dates(
        self, start_date: object, end_date: object, timezone: str | dt.tzinfo | None
    ) -> None:
        # As in Airflow, default_args may carry the DAG's start and end dates.
        if start_date is None:
            start_date = self.default_args.get("start_date")
        if end_date is None:
            end_date = self.default_args.get("end_date")
        self.timezone = _resolve_zone(timezone, start_date)
        self.start_date = _localize("start_date", start_date, self.timezone)
        self.end_date = _localize("end_date", end_date, self.timezone)
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")

    def _set_graph(self) -> None:
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_group = TaskGroup.create_root(self)
        self.task_group_dict: dict[str, TaskGroup] = {}
        # Edge labels and other edge data: {upstream_id: {downstream_id: {"label": ...}}}.
        self.edge_info: dict[str, dict[str, dict[str, Any]]] = {}

    def _error(self, message: str) -> DagDefinitionError:
        return DagDefinitionError(message, fileloc=self.fileloc, lineno=self.lineno)

    # -- tasks ------------------------------------------------------------------------------

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> BaseOperator:
        """The task with this id; TaskNotFound otherwise."""
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFound(f"DAG {self.dag_id!r} has no task {task_id!r}") from None

    def add_task(self, task: BaseOperator) -> None:
        """Add a task; a second task with the same id is a DagDefinitionError naming both."""
        existing = self.task_dict.get(task.task_id)
        if existing is task:
            return
        if existing is not None:
            raise DagDefinitionError(
                f"task id {task.task_id!r} is already used in DAG {self.dag_id!r} by the task "
                f"defined at {existing.fileloc}:{existing.lineno}",
                fileloc=task.fileloc,
                lineno=task.lineno,
            )
        if task.task_id in self.task_group_dict:
            raise DagDefinitionError(
                f"task id {task.task_id!r} is already a task group id in DAG {self.dag_id!r}",
                fileloc=task.fileloc,
                lineno=task.lineno,
            )
        if task.task_group is None:
            task.task_group = self.task_group
        task._dag = self
        self.task_dict[task.task_id] = task
        task.task_group.add_task(task)

    def register_group(self, group: TaskGroup) -> None:
        """Called by TaskGroup; a group id may appear once and not clash with a task id."""
        group_id = group.group_id
        assert group_id is not None
        if group_id in self.task_group_dict or group_id in self.task_dict:
            what = "task group" if group_id in self.task_group_dict else "task"
            raise DagDefinitionError(
                f"task group id {group_id!r} is already a {what} id in DAG {self.dag_id!r}",
                fileloc=group.fileloc,
                lineno=group.lineno,
            )
        self.task_group_dict[group_id] = group

    @property
    def roots(self) -> list[BaseOperator]:
        """Tasks without upstream tasks."""
        return [task for task in self.task_dict.values() if not task.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        """Tasks without downstream tasks."""
        return [task for task in self.task_dict.values() if not task.downstream_task_ids]

    def set_edge_info(self, upstream_task_id: str, downstream_task_id: str, info: Any) -> None:
        """Keep data (``{"label": ...}``) about the edge ``upstream >> downstream``."""
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = dict(info)

    def get_edge_info(self, upstream_task_id: str, downstream_task_id: str) -> dict[str, Any]:
        """The data kept about an edge (empty if none)."""
        return dict(self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {}))

    def downstream_map(self) -> dict[str, set[str]]:
        return {task_id: task.downstream_task_ids for task_id, task in self.task_dict.items()}

    def topological_sort(self) -> list[BaseOperator]:
        """Tasks ordered so that each comes after its upstream tasks; creation order otherwise."""
        try:
            order = graph.topological_order(self.downstream_map())
        except ValueError as exc:
            raise self._error(f"DAG {self.dag_id!r} has a {exc}") from None
        return [self.task_dict[task_id] for task_id in order]

    @property
    def owner(self) -> str:
        """The owners of the tasks, comma separated."""
        return ", ".join(sorted({task.owner for task in self.task_dict.values()}))

    # -- checks and scheduling --------------------------------------------------------------

    def validate(self) -> None:
        """Raise DagDefinitionError for a cycle, a bad trigger rule or a missing start date."""
        cycle = graph.find_cycle(self.downstream_map())
        if cycle:
            raise self._error(f"DAG {self.dag_id!r} has a cycle: {' -> '.join(cycle)}")
        for task in self.task_dict.values():
            try:
                parse_trigger_rule(task.trigger_rule)
            except ValueError as exc:
                raise DagDefinitionError(
                    f"task {task.task_id!r}: {exc}", fileloc=task.fileloc, lineno=task.lineno
                ) from None
            missing = (task.upstream_task_ids | task.downstream_task_ids) - self.task_dict.keys()
            if missing:
                raise DagDefinitionError(
                    f"task {task.task_id!r} depends on unknown task(s) {sorted(missing)}",
                    fileloc=task.fileloc,
                    lineno=task.lineno,
                )
        if self.timetable.can_be_scheduled and self.start_date is None:
            raise self._error(
                f"DAG {self.dag_id!r} has schedule {self.timetable.summary!r} but no start_date"
            )

    def next_dagrun_info(
        self,
        last_automated_data_interval: timetables.DataInterval | None,
        now: dt.datetime | None = None,
    ) -> timetables.DagRunInfo | None:
        """The next scheduled run after the last one, within start_date/end_date/catchup."""
        return timetables.next_run_within(
            self.timetable,
            start_date=self.start_date,
            end_date=self.end_date,
            catchup=self.catchup,
            last_automated_data_interval=last_automated_data_interval,
            now=now,
        )

    def resolve_params(self, conf: Mapping[str, Any] | None) -> dict[str, Any]:
        """The params of a run given its conf; ParamValidationError names a bad param."""
        return resolve_params(self.params, conf)

    @property
    def timezone_name(self) -> str:
        return zone_name(self.timezone)

    def following_schedule(self, dttm: dt.datetime) -> pendulum.DateTime | None:
        """The schedule point after ``dttm``, in UTC (Airflow 2; None without a schedule)."""
        _warn_removed("DAG.following_schedule()", "use DAG.next_dagrun_info()")
        after = timetables.schedule_after(self.timetable, _aware(dttm))
        return None if after is None else pendulum.instance(after)

    def previous_schedule(self, dttm: dt.datetime) -> pendulum.DateTime | None:
        """The schedule point before ``dttm``, in UTC (Airflow 2; None without a schedule)."""
        _warn_removed("DAG.previous_schedule()", "use the previous run's data interval")
        before = timetables.schedule_before(self.timetable, _aware(dttm))
        return None if before is None else pendulum.instance(before)

    @property
    def concurrency(self) -> int:
        """Airflow 2's name of :attr:`max_active_tasks`."""
        return self.max_active_tasks

    # -- context manager --------------------------------------------------------------------

    def __enter__(self) -> DAG:
        scope.push_dag(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        scope.pop_dag(self)

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"


def _warn_removed(what: str, instead: str, *, stacklevel: int = 3) -> None:
    """Warn that an Airflow 2 name is used (by the caller's caller, by default)."""
    warnings.warn(
        f"{what} is deprecated (Airflow 3 removed it): {instead}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _renamed(old: str, new: str, kwargs: dict[str, Any]) -> Any:
    """Pop Airflow 2's argument ``old`` from ``kwargs``, warning that ``new`` replaces it."""
    _warn_removed(f"DAG({old}=...)", f"use {new}=", stacklevel=5)
    return kwargs.pop(old)


def _aware(value: dt.datetime) -> dt.datetime:
    """A naive datetime is read as UTC, as Airflow 2 did for these methods."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _resolve_zone(timezone: str | dt.tzinfo | None, start_date: object) -> dt.tzinfo:
    if timezone is None:
        if isinstance(start_date, dt.datetime) and start_date.tzinfo is not None:
            return start_date.tzinfo
        return zoneinfo.ZoneInfo("UTC")
    if isinstance(timezone, dt.tzinfo):
        return timezone
    if isinstance(timezone, str):
        try:
            return zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/Paris'")


def zone_name(zone: dt.tzinfo) -> str:
    """An IANA name for ``zone`` where it has one, else its fixed offset as ``+HH:MM``."""
    for attribute in ("key", "zone", "name"):
        name = getattr(zone, attribute, None)
        if isinstance(name, str):
            return name
    offset = zone.utcoffset(None) or dt.timedelta(0)
    if not offset:
        return "UTC"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _localize(name: str, value: object, zone: dt.tzinfo) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{name} must be a datetime, not {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _check_tags(tags: Sequence[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        raise ValueError(f"tags must be a list of strings, not the string {tags!r}")
    result: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"tags must be non-empty strings, not {tag!r}")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag {tag[:30]!r}... is longer than {MAX_TAG_LENGTH} characters")
        if tag not in result:
            result.append(tag)
    return result

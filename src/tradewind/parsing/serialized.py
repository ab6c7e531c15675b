"""The frozen objects that the scheduler, web server and CLI use in place of a DAG file's DAG.

:mod:`serialize` builds them from a DAG's JSON; the JSON keys of a task are the field names
of :class:`SerializedTask`, those of a DAG the field names of :class:`SerializedDag`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from tradewind import timetables
from tradewind.authoring import graph
from tradewind.authoring.params import Param, resolve_params
from tradewind.authoring.rules import TriggerRule, WeightRule
from tradewind.exceptions import TaskNotFound

ROOT_GROUP_ID = ""
"""The key of a DAG's top-level task group in ``task_groups``."""


@dataclasses.dataclass(frozen=True)
class SerializedTask:
    """One task of a serialized DAG; ``template_values`` hold the unrendered field values."""

    task_id: str
    operator: str
    operator_module: str
    custom_operator_name: str | None
    upstream_task_ids: frozenset[str]
    downstream_task_ids: frozenset[str]
    trigger_rule: TriggerRule
    retries: int
    retry_delay: float
    retry_exponential_backoff: bool
    max_retry_delay: float | None
    execution_timeout: float | None
    depends_on_past: bool
    wait_for_downstream: bool
    pool: str
    pool_slots: int
    priority_weight: int
    weight_rule: WeightRule
    priority_weight_total: int
    queue: str
    executor_config: Mapping[str, Any] | None
    owner: str
    do_xcom_push: bool
    multiple_outputs: bool
    template_fields: tuple[str, ...]
    template_values: Mapping[str, Any]
    is_sensor: bool
    sensor_mode: str | None
    poke_interval: float | None
    sensor_timeout: float | None
    soft_fail: bool
    has_on_execute_callback: bool
    has_on_success_callback: bool
    has_on_failure_callback: bool
    has_on_retry_callback: bool
    has_on_skipped_callback: bool
    ignore_downstream_trigger_rules: bool
    is_empty: bool
    doc_md: str | None
    task_group_id: str | None
    callable_name: str | None
    params: Mapping[str, Mapping[str, Any]]
    # Added after format version 1 first shipped: a DAG stored before has none of them.
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False
    max_active_tis_per_dag: int | None = None
    max_active_tis_per_dagrun: int | None = None
    ignore_first_depends_on_past: bool = True
    wait_for_past_depends_before_skipping: bool = False
    # The label shown instead of the task id (None: the id).
    task_display_name: str | None = None
    # An ExternalTaskMarker's target: external_dag_id, external_task_id and logical_date (all
    # unrendered templates) and recursion_depth.
    external_marker: Mapping[str, Any] | None = None
    # A mapped task, or a task of a mapped task group: ``{"length": <expression>, "group_id":
    # <the mapped group's id, or None for the task's own expand>}`` where the expression says
    # how many instances it expands to (see :mod:`tradewind.parsing.mapspec`). None: not mapped.
    mapping: Mapping[str, Any] | None = None
    # Airflow's ``map_index_template`` (unrendered): a readable name for each mapped instance.
    map_index_template: str | None = None
    # ``start_from_trigger``: the deferral a try of this task begins with, in the triggerer and
    # without a process (``reports.Deferral`` as JSON). None: its tries begin with execute.
    start_trigger: Mapping[str, Any] | None = None
    # The assets and aliases among the task's outlets and inlets, as JSON (see
    # :mod:`tradewind.authoring.assets`): a successful try records an event for each outlet.
    outlets: tuple[Mapping[str, Any], ...] = ()
    inlets: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_mapped(self) -> bool:
        return self.mapping is not None

    @property
    def mapped_group_id(self) -> str | None:
        """The mapped task group whose instances this task's instances are (None: none)."""
        return None if self.mapping is None else self.mapping.get("group_id")


@dataclasses.dataclass(frozen=True)
class SerializedTaskGroup:
    """A task group for the graph view: its direct child tasks and groups."""

    group_id: str
    parent_id: str | None
    tooltip: str
    prefix_group_id: bool
    task_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    group_display_name: str | None = None
    # Expanded with ``.expand(...)``: each of its tasks has one instance per input item.
    is_mapped: bool = False


@dataclasses.dataclass(frozen=True)
class SerializedDag:
    """A DAG as the scheduler, web server and CLI see it, without the DAG file's code."""

    dag_id: str
    fileloc: str
    lineno: int
    description: str | None
    doc_md: str | None
    owners: tuple[str, ...]
    tags: tuple[str, ...]
    schedule: str
    timetable: timetables.Timetable
    timezone: str
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    dagrun_timeout: float | None
    params: Mapping[str, Mapping[str, Any]]
    is_paused_upon_creation: bool | None
    has_on_success_callback: bool
    has_on_failure_callback: bool
    render_template_as_native_obj: bool
    task_groups: Mapping[str, SerializedTaskGroup]
    tasks: Mapping[str, SerializedTask]
    # Edge labels ``{upstream_id: {downstream_id: {"label": text}}}`` (none in older DAGs).
    edge_info: Mapping[str, Mapping[str, Mapping[str, Any]]] = dataclasses.field(
        default_factory=dict
    )
    # The label shown instead of the DAG id (None: the id).
    dag_display_name: str | None = None
    # The asset condition asset-triggered runs are created on (JSON, see
    # :mod:`tradewind.parsing.assetcond`); None: the DAG is not scheduled on assets.
    asset_condition: Mapping[str, Any] | None = None
    # The params' names in the order the DAG declares them (empty: that is their sorted order).
    params_order: tuple[str, ...] = ()
    # Deadline alerts: {"reference", "moment", "interval" (s), "callback"}, in the DAG's order.
    deadlines: tuple[Mapping[str, Any], ...] = ()

    @property
    def ordered_params(self) -> dict[str, Mapping[str, Any]]:
        """The params in the order the DAG declares them (what forms show)."""
        names = [n for n in self.params_order if n in self.params] or sorted(self.params)
        return {name: self.params[name] for name in names}

    @property
    def display_name(self) -> str:
        return self.dag_display_name or self.dag_id

    # Worked out once per DAG object (the scheduler asks in every pass).
    @functools.cached_property
    def setup_upstreams(self) -> Mapping[str, tuple[str, ...]]:
        """Each task's direct upstream tasks that are setup tasks (only tasks that have any)."""
        found = {}
        for task in self.tasks.values():
            setups = tuple(
                u for u in task.upstream_task_ids if u in self.tasks and self.tasks[u].is_setup
            )
            if setups:
                found[task.task_id] = setups
        return found

    @functools.cached_property
    def past_waiters(self) -> tuple[str, ...]:
        """The tasks that wait for their previous run before being skipped too
        (depends_on_past with wait_for_past_depends_before_skipping)."""
        return tuple(
            t.task_id
            for t in self.tasks.values()
            if t.depends_on_past and t.wait_for_past_depends_before_skipping
        )

    def edge_label(self, upstream_id: str, downstream_id: str) -> str | None:
        """The label of the edge ``upstream_id >> downstream_id`` (None if it has none)."""
        label = self.edge_info.get(upstream_id, {}).get(downstream_id, {}).get("label")
        return label if isinstance(label, str) else None

    @property
    def task_ids(self) -> list[str]:
        return list(self.tasks)

    def get_task(self, task_id: str) -> SerializedTask:
        """The task with this id; TaskNotFound otherwise."""
        try:
            return self.tasks[task_id]
        except KeyError:
            raise TaskNotFound(f"DAG {self.dag_id!r} has no task {task_id!r}") from None

    @property
    def roots(self) -> list[SerializedTask]:
        return [task for task in self.tasks.values() if not task.upstream_task_ids]

    @property
    def leaves(self) -> list[SerializedTask]:
        return [task for task in self.tasks.values() if not task.downstream_task_ids]

    def topological_order(self) -> list[str]:
        """Task ids, each after its upstream tasks (ties by task id)."""
        return graph.topological_order(
            {task_id: sorted(task.downstream_task_ids) for task_id, task in self.tasks.items()}
        )

    def relatives(self, task_id: str, *, upstream: bool = False) -> set[str]:
        """Ids of every task downstream (or upstream) of ``task_id``, however far."""
        self.get_task(task_id)
        side = "upstream_task_ids" if upstream else "downstream_task_ids"
        return graph.flat_relatives(
            {tid: getattr(task, side) for tid, task in self.tasks.items()}, task_id
        )

    def next_dagrun_info(
        self,
        last_automated_data_interval: timetables.DataInterval | None,
        now: dt.datetime | None = None,
    ) -> timetables.DagRunInfo | None:
        """The next scheduled run after the last one, as ``DAG.next_dagrun_info`` computes it."""
        return timetables.next_run_within(
            self.timetable,
            start_date=self.start_date,
            end_date=self.end_date,
            catchup=self.catchup,
            last_automated_data_interval=last_automated_data_interval,
            now=now,
        )

    def infer_manual_data_interval(self, run_after: dt.datetime) -> timetables.DataInterval:
        """The data interval of a run triggered by hand at ``run_after``."""
        return self.timetable.infer_manual_data_interval(run_after=run_after)

    def resolve_params(self, conf: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated params for a run with this conf; ParamValidationError names a bad one."""
        specs = {name: Param.deserialize(spec) for name, spec in self.params.items()}
        return resolve_params(specs, conf)

"""BaseOperator: the parent of every task class, with Airflow's arguments and defaults."""

from __future__ import annotations

import abc
import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from tradewind import reports
from tradewind.authoring import (
    airflow_args,
    assets,
    capture,
    location,
    scope,
    setup_teardown,
    values,
)
from tradewind.authoring.dependencies import DependencyMixin
from tradewind.authoring.params import Param, to_params
from tradewind.authoring.rules import TriggerRule, WeightRule, parse_trigger_rule, parse_weight_rule
from tradewind.authoring.xcom_arg import XComArg, find_resolvables
from tradewind.exceptions import (
    DagDefinitionError,
    TaskDeferralError,
    TaskDeferralTimeout,
    TaskDeferred,
)
from tradewind.tasklogs import LoggingMixin

if TYPE_CHECKING:
    from tradewind.authoring.dag import DAG
    from tradewind.authoring.mapped import OperatorPartial
    from tradewind.authoring.task_group import TaskGroup

DEFAULT_OWNER = "tradewind"
DEFAULT_POOL = "default_pool"
DEFAULT_QUEUE = "default"
DEFAULT_RETRY_DELAY = timedelta(minutes=5)


# Identity and membership are per task; DAG-level params already include default_args["params"].
_NOT_DEFAULTABLE = frozenset({"task_id", "dag", "task_group", "params"})
# BaseOperator.__init__'s locals that are not arguments to check or keep.
_NOT_ARGUMENTS = frozenset({"self", "kwargs", "__class__"})
_CALLBACKS = (
    "on_execute_callback",
    "on_success_callback",
    "on_failure_callback",
    "on_retry_callback",
    "on_skipped_callback",
)


class _OperatorMeta(abc.ABCMeta):
    """Applies the DAG's and task group's default_args before ``__init__`` runs.

    A default fills an argument only if some ``__init__`` in the class's hierarchy accepts it
    (or it is one of :data:`airflow_args.TASK_EXTRAS`) and the call did not pass it, so
    explicit arguments always win (as in Airflow). The operator's own ``default_args=``
    come over the DAG's and the group's.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        group = kwargs.get("task_group")
        dag = kwargs.get("dag") or (group.dag if group is not None else scope.current_dag())
        if group is None and dag is not None:
            group = scope.current_group(dag)
        defaults: dict[str, Any] = dict(dag.default_args) if dag is not None else {}
        if group is not None:
            defaults.update(group.default_args)
        # Airflow's operators take default_args too: they go over the DAG's and group's.
        defaults.update(kwargs.pop("default_args", None) or {})
        accepted = _accepted_arguments(cls) - _NOT_DEFAULTABLE
        for key, value in defaults.items():
            if key in accepted and key not in kwargs:
                # A shallow copy, so tasks do not share one mutable default (executor_config...).
                kwargs[key] = copy.copy(value) if isinstance(value, dict | list | set) else value
        operator = super().__call__(*args, **kwargs)
        operator._finish_init()
        return operator


def _accepted_arguments(cls: type) -> frozenset[str]:
    # Kept on the class itself rather than in a module-level cache, so classes defined in DAG
    # files are not kept alive after every re-parse.
    cached = cls.__dict__.get("_accepted_arguments")
    if isinstance(cached, frozenset):
        return cached
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not issubclass(klass, BaseOperator):
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.add(parameter.name)
    names.discard("self")
    # Honoured Airflow arguments that BaseOperator reads from **kwargs (airflow_args).
    names.update(airflow_args.TASK_EXTRAS, ("task_concurrency",))
    accepted = frozenset(names)
    type.__setattr__(cls, "_accepted_arguments", accepted)
    return accepted


class BaseOperator(DependencyMixin, LoggingMixin, metaclass=_OperatorMeta):
    """A task: subclasses set ``template_fields`` and implement ``execute(context)``.

    All arguments are keyword arguments. Those not passed come from the DAG's (and task
    group's) ``default_args``, then from the defaults below. An unknown argument is a
    DagDefinitionError naming it and the operator.
    """

    template_fields: ClassVar[Sequence[str]] = ()
    template_ext: ClassVar[Sequence[str]] = ()
    ui_color: ClassVar[str] = "#fff"
    is_sensor: ClassVar[bool] = False
    # Shown instead of the class name for TaskFlow tasks ("@task", "@task.bash", ...).
    custom_operator_name: ClassVar[str | None] = None
    # Airflow's "start from the triggerer": with start_from_trigger, the task defers at once
    # with this tradewind.triggers.base.StartTriggerArgs instead of running execute().
    start_trigger_args: Any = None
    start_from_trigger: bool = False

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """The arguments all instances of a mapped task share; ``.expand(...)`` (or
        ``.expand_kwargs(...)``) on the result gives the mapped task (dynamic task mapping)."""
        # Imported here: the mapped task is a subclass of this class, in a module that needs
        # this one first.
        from tradewind.authoring.mapped import OperatorPartial

        return OperatorPartial(cls, kwargs)

    _init_done = False
    on_execute_callback: list[Callable[..., Any]]
    on_success_callback: list[Callable[..., Any]]
    on_failure_callback: list[Callable[..., Any]]
    on_retry_callback: list[Callable[..., Any]]
    on_skipped_callback: list[Callable[..., Any]]
    max_active_tis_per_dag: int | None
    max_active_tis_per_dagrun: int | None

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = DEFAULT_OWNER,
        retries: int | None = 0,
        retry_delay: timedelta | float = DEFAULT_RETRY_DELAY,
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: str = TriggerRule.ALL_SUCCESS,
        depends_on_past: bool = False,
        wait_for_downstream: bool = False,
        pool: str = DEFAULT_POOL,
        pool_slots: int = 1,
        priority_weight: int = 1,
        weight_rule: str = WeightRule.DOWNSTREAM,
        queue: str = DEFAULT_QUEUE,
        executor_config: dict[str, Any] | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        on_execute_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_success_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_failure_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_retry_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_skipped_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        params: Mapping[str, Any] | None = None,
        doc_md: str | None = None,
        dag: DAG | None = None,
        task_group: TaskGroup | None = None,
        email: str | Sequence[str] | None = None,
        email_on_failure: bool | None = None,
        email_on_retry: bool | None = None,
        task_display_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {name: value for name, value in locals().items() if name not in _NOT_ARGUMENTS}
        where = location.caller_location()
        self.fileloc, self.lineno = where.fileloc, where.lineno
        try:
            given.update(self._take_airflow_arguments(task_id, kwargs, where))
            self._refuse_unknown(task_id, kwargs)
            label = values.check_id("task_id", task_id)
            self._check_arguments(given)
        except ValueError as exc:
            raise self._error(f"task {task_id!r}: {exc}") from None
        self._keep_arguments(given)
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False
        self._join(label, dag, task_group)

    def _take_airflow_arguments(
        self, task_id: str, kwargs: dict[str, Any], where: location.Location
    ) -> dict[str, Any]:
        """Airflow's arguments beyond the signature (see :mod:`airflow_args`): the honoured
        ones are returned; the ignored ones are kept as attributes, as given."""
        return airflow_args.take(
            self,
            kwargs,
            extras=airflow_args.TASK_EXTRAS,
            ignored=airflow_args.TASK_IGNORED,
            refused=airflow_args.TASK_REFUSED,
            owner=f"task {task_id!r}",
            where=where,
        )

    def _refuse_unknown(self, task_id: str, unknown: Mapping[str, Any]) -> None:
        if unknown:
            names = ", ".join(repr(name) for name in sorted(unknown))
            plural = "s" if len(unknown) > 1 else ""
            raise self._error(
                f"{type(self).__name__}(task_id={task_id!r}) got unknown argument{plural} {names}"
            )

    def _check_arguments(self, given: Mapping[str, Any]) -> None:
        """Set the arguments that need checking; a bad one is a ValueError naming it."""
        retries = given["retries"]
        self.owner = values.check_text("owner", given["owner"])
        self.retries = values.check_int("retries", 0 if retries is None else retries, minimum=0)
        self.retry_delay = values.as_timedelta("retry_delay", given["retry_delay"])
        self.max_retry_delay = values.as_optional_timedelta(
            "max_retry_delay", given["max_retry_delay"]
        )
        self.execution_timeout = values.as_optional_timedelta(
            "execution_timeout", given["execution_timeout"]
        )
        self.trigger_rule = parse_trigger_rule(given["trigger_rule"])
        self.weight_rule = parse_weight_rule(given["weight_rule"])
        self.pool = values.check_text("pool", given["pool"])
        self.pool_slots = values.check_int("pool_slots", given["pool_slots"], minimum=1)
        self.priority_weight = values.check_int("priority_weight", given["priority_weight"])
        self.queue = values.check_text("queue", given["queue"])
        self.params: dict[str, Param] = to_params(given["params"])
        executor_config = given["executor_config"]
        if executor_config is not None and not isinstance(executor_config, dict):
            raise ValueError(f"executor_config must be a dict, not {executor_config!r}")
        self.executor_config: dict[str, Any] | None = executor_config
        for name in _CALLBACKS:
            setattr(self, name, values.as_callbacks(name, given[name]))
        template = given["map_index_template"]
        if template is not None and not isinstance(template, str):
            raise ValueError(f"map_index_template must be a string, not {template!r}")
        self.map_index_template: str | None = template
        self.inlets: list[Any] = assets.as_references("inlets", given["inlets"])
        self.outlets: list[Any] = assets.as_references("outlets", given["outlets"])
        for name in ("max_active_tis_per_dag", "max_active_tis_per_dagrun"):
            limit = given[name]
            setattr(self, name, None if limit is None else values.check_int(name, limit, minimum=1))

    def _keep_arguments(self, given: Mapping[str, Any]) -> None:
        """Set the arguments that are taken as they are."""
        self.retry_exponential_backoff = bool(given["retry_exponential_backoff"])
        self.wait_for_downstream = bool(given["wait_for_downstream"])
        # Waiting for the previous run's downstream tasks implies waiting for this task there.
        self.depends_on_past = bool(given["depends_on_past"]) or self.wait_for_downstream
        self.do_xcom_push = bool(given["do_xcom_push"])
        self.multiple_outputs = bool(given["multiple_outputs"])
        self.start_date: datetime | None = given["start_date"]
        self.end_date: datetime | None = given["end_date"]
        self.doc_md: str | None = given["doc_md"]
        self.doc: str | None = given["doc"]
        self.doc_rst: str | None = given["doc_rst"]
        self.doc_json: str | None = given["doc_json"]
        self.doc_yaml: str | None = given["doc_yaml"]
        self.ignore_first_depends_on_past = bool(given["ignore_first_depends_on_past"])
        self.wait_for_past_depends_before_skipping = bool(
            given["wait_for_past_depends_before_skipping"]
        )
        self.email: str | Sequence[str] | None = given["email"]
        # None: as [email] default_email_on_failure / default_email_on_retry say (True).
        self.email_on_failure: bool | None = given["email_on_failure"]
        self.email_on_retry: bool | None = given["email_on_retry"]
        self._task_display_name: str | None = given["task_display_name"]

    def _join(self, label: str, dag: DAG | None, task_group: TaskGroup | None) -> None:
        """Set the full task id from the task group, then join the DAG (if there is one)."""
        if dag is None:
            dag = task_group.dag if task_group is not None else scope.current_dag()
        if dag is not None and task_group is None:
            task_group = scope.current_group(dag) or dag.task_group
        if task_group is not None and task_group.dag is not dag:
            raise self._error(f"task {label!r}: its task group belongs to another DAG")
        self.task_group: TaskGroup | None = task_group
        self.task_id = task_group.child_id(label) if task_group is not None else label
        if len(self.task_id) > values.MAX_ID_LENGTH:
            raise self._error(f"task id {self.task_id!r} is longer than {values.MAX_ID_LENGTH}")
        self._dag: DAG | None = None
        capture.record_operator(self)
        if dag is not None:
            dag.add_task(self)

    def _finish_init(self) -> None:
        for name in self.template_fields:
            if not hasattr(self, name):
                raise self._error(
                    f"{type(self).__name__} lists template field {name!r} but has no such attribute"
                )
            self._depend_on_references(getattr(self, name))
        self._init_done = True

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # An XComArg assigned to a template field after creation still creates the dependency.
        if self._init_done and name in self.template_fields:
            self._depend_on_references(value)

    def _depend_on_references(self, value: Any) -> None:
        for resolvable in find_resolvables(value):
            for upstream in resolvable.upstream_operators():
                if upstream is not self:
                    upstream.add_downstream_task(self)

    def _error(self, message: str) -> DagDefinitionError:
        return DagDefinitionError(message, fileloc=self.fileloc, lineno=self.lineno)

    # -- DAG membership ---------------------------------------------------------------------

    @property
    def dag(self) -> DAG | None:
        """The DAG this task belongs to (None for a task created outside any DAG)."""
        return self._dag

    @dag.setter
    def dag(self, dag: DAG) -> None:
        if self._dag is dag:
            return
        if self._dag is not None:
            raise self._error(
                f"task {self.task_id!r} already belongs to DAG {self._dag.dag_id!r}; "
                f"it cannot move to DAG {dag.dag_id!r}"
            )
        dag.add_task(self)

    @property
    def dag_id(self) -> str | None:
        return self._dag.dag_id if self._dag is not None else None

    @property
    def task_display_name(self) -> str:
        """The name shown for the task: ``task_display_name=`` if given, else the task id."""
        return self._task_display_name or self.task_id

    def _require_dag(self) -> DAG:
        if self._dag is None:
            raise self._error(f"task {self.task_id!r} is not in any DAG")
        return self._dag

    # -- dependencies -----------------------------------------------------------------------

    @property
    def roots(self) -> list[BaseOperator]:
        return [self]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self]

    def add_downstream_task(self, other: BaseOperator) -> None:
        """Record the edge ``self >> other``, putting a DAG-less task in the other's DAG."""
        if other is self:
            raise self._error(f"task {self.task_id!r} cannot depend on itself")
        if self._dag is not None and other._dag is not None and self._dag is not other._dag:
            raise self._error(
                f"cannot set a dependency between task {self.task_id!r} (DAG "
                f"{self._dag.dag_id!r}) and task {other.task_id!r} (DAG {other._dag.dag_id!r})"
            )
        dag = self._dag or other._dag
        if dag is None:
            raise self._error(
                f"cannot set a dependency between tasks {self.task_id!r} and {other.task_id!r}: "
                "neither is in a DAG yet (create them in a DAG or pass dag=)"
            )
        for task in (self, other):
            if task._dag is None:
                dag.add_task(task)
        self.downstream_task_ids.add(other.task_id)
        other.upstream_task_ids.add(self.task_id)

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def get_flat_relative_ids(self, upstream: bool = False) -> set[str]:
        """Ids of every task upstream (or downstream) of this one, however far."""
        dag = self._require_dag()
        found: set[str] = set()
        pending = list(self.get_direct_relative_ids(upstream))
        while pending:
            task_id = pending.pop()
            if task_id in found:
                continue
            found.add(task_id)
            pending.extend(dag.get_task(task_id).get_direct_relative_ids(upstream))
        return found

    @property
    def upstream_list(self) -> list[BaseOperator]:
        dag = self._require_dag()
        return [dag.get_task(task_id) for task_id in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        dag = self._require_dag()
        return [dag.get_task(task_id) for task_id in sorted(self.downstream_task_ids)]

    @property
    def priority_weight_total(self) -> int:
        """The effective priority: own weight plus the relatives' that the weight rule names."""
        if self.weight_rule is WeightRule.ABSOLUTE or self._dag is None:
            return self.priority_weight
        dag = self._dag
        relatives = self.get_flat_relative_ids(upstream=self.weight_rule is WeightRule.UPSTREAM)
        return self.priority_weight + sum(dag.get_task(t).priority_weight for t in relatives)

    # -- setup and teardown -----------------------------------------------------------------

    def as_setup(self) -> BaseOperator:
        """Make this a setup task (see :mod:`tradewind.authoring.setup_teardown`)."""
        setup_teardown.mark_setup(self)
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyMixin | Sequence[DependencyMixin] | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> BaseOperator:
        """Make this a teardown task, downstream of ``setups`` (which become setup tasks)."""
        setup_teardown.mark_teardown(self, setups, on_failure_fail_dagrun)
        return self

    @property
    def output(self) -> XComArg:
        """This task's return value, as an argument for other tasks."""
        return XComArg(self)

    # -- running ----------------------------------------------------------------------------

    def execute(self, context: Mapping[str, Any]) -> Any:
        """Do the task's work; the return value is pushed as its XCom (if do_xcom_push)."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context)")

    def defer(
        self,
        *,
        trigger: Any,
        method_name: str = TaskDeferred.TRIGGER_EXIT,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> NoReturn:
        """Suspend the task until ``trigger`` (a BaseTrigger) fires, then resume it in a new
        process by calling ``method_name(context, event=<the payload>, **kwargs)``.

        The worker slot is freed meanwhile. ``timeout`` (a timedelta or seconds) fails the
        task with TaskDeferralTimeout when the trigger has not fired by then.
        """
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Mapping[str, Any]
    ) -> Any:
        """Go on after a deferral: call ``next_method`` with the context and ``next_kwargs``
        (the trigger's ``event`` among them); ``"__fail__"`` raises the trigger's error."""
        kwargs = dict(next_kwargs or {})
        if next_method == reports.FAIL_METHOD:
            error = str(kwargs.get("error") or "the trigger failed")
            if kwargs.get("timeout"):
                raise TaskDeferralTimeout(error)
            raise TaskDeferralError(error)
        if next_method == TaskDeferred.TRIGGER_EXIT:
            raise TaskDeferralError(
                f"task {self.task_id!r} deferred for its trigger to end it, but the trigger "
                f"fired an ordinary event ({kwargs.get('event')!r})"
            )
        method = getattr(self, next_method, None)
        if not callable(method):
            raise TaskDeferralError(
                f"task {self.task_id!r} cannot resume: {type(self).__name__} has no method "
                f"{next_method!r}"
            )
        return method(context, **kwargs)

    def on_kill(self) -> None:
        """Called when the task is stopped (timeout, user request): clean up subprocesses."""

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

"""Task groups: a named box of tasks in the graph, prefixing its tasks' ids (``group.task``)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Container, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

from tradewind.authoring import location, scope, values
from tradewind.authoring.dependencies import DependencyMixin
from tradewind.authoring.expandinput import (
    DictOfListsExpandInput,
    ExpandInput,
    FunctionPartial,
    ListOfDictsExpandInput,
    MappedArgument,
    check_kwargs_input,
)
from tradewind.authoring.xcom_arg import NOTSET
from tradewind.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG

_SUFFIX = re.compile(r"__\d+$")


class TaskGroup(DependencyMixin):
    """A group of tasks, used as ``with TaskGroup("extract") as group:`` inside a DAG.

    Task ids inside get the group id as a prefix (unless ``prefix_group_id=False``); a
    dependency on the group means its first tasks (upstream side) or last tasks (downstream).
    ``default_args`` extend the DAG's and any enclosing group's for the tasks inside.
    ``group_display_name`` (Airflow 3) is the label shown for it instead of its id.
    """

    # A group made by ``@task_group``'s ``.expand()`` is a MappedTaskGroup.
    is_mapped = False

    def __init__(
        self,
        group_id: str,
        *,
        prefix_group_id: bool = True,
        tooltip: str = "",
        default_args: Mapping[str, Any] | None = None,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
        group_display_name: str = "",
    ) -> None:
        where = location.caller_location()
        self.fileloc, self.lineno = where.fileloc, where.lineno
        if dag is None:
            dag = parent_group.dag if parent_group is not None else scope.current_dag()
        if dag is None:
            raise self._error(
                f"task group {group_id!r} must be created inside a DAG (a 'with DAG(...)' "
                "block, an @dag function or dag=...)"
            )
        parent = parent_group or scope.current_group(dag) or dag.task_group
        try:
            label = values.check_id("group_id", group_id, allow_dots=False)
        except ValueError as exc:
            raise self._error(str(exc)) from None
        if add_suffix_on_collision:
            label = unique_label(label, parent, dag.task_group_dict)
        self.dag: DAG = dag
        self.parent_group: TaskGroup | None = parent
        self._label: str | None = label
        self.group_id: str | None = parent.child_id(label)
        self.prefix_group_id = prefix_group_id
        self.tooltip = tooltip
        self.group_display_name = group_display_name or label
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.default_args: dict[str, Any] = {**parent.default_args, **(default_args or {})}
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        dag.register_group(self)
        parent.children[self.group_id] = self

    @classmethod
    def create_root(cls, dag: DAG) -> TaskGroup:
        """The unnamed group at the top of every DAG."""
        root = cls.__new__(cls)
        root.fileloc, root.lineno = dag.fileloc, dag.lineno
        root.dag = dag
        root.parent_group = None
        root._label = None
        root.group_id = None
        root.prefix_group_id = True
        root.tooltip = ""
        root.group_display_name = ""
        root.ui_color = "CornflowerBlue"
        root.ui_fgcolor = "#000"
        root.default_args = {}
        root.children = {}
        return root

    @property
    def is_root(self) -> bool:
        return self.group_id is None

    @property
    def label(self) -> str | None:
        """The group's own id, without its parents' prefixes."""
        return self._label

    def child_id(self, label: str) -> str:
        """The full id a child called ``label`` gets inside this group."""
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def add_task(self, task: BaseOperator) -> None:
        self.children[task.task_id] = task

    def iter_tasks(self) -> Iterator[BaseOperator]:
        """Every task in this group and its subgroups, in creation order."""
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.iter_tasks()
            else:
                yield child

    def iter_groups(self) -> Iterator[TaskGroup]:
        """This group and every group below it."""
        yield self
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.iter_groups()

    @property
    def roots(self) -> list[BaseOperator]:
        """Tasks of the group with no upstream task inside the group."""
        tasks = list(self.iter_tasks())
        ids = {task.task_id for task in tasks}
        return [task for task in tasks if not task.upstream_task_ids & ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        """Tasks of the group with no downstream task inside the group.

        Teardowns do not count, as in Airflow: the tasks before a group's teardowns are its
        leaves (unless the group holds nothing but teardowns)."""
        tasks = list(self.iter_tasks())
        ids = {task.task_id for task in tasks}
        plain = [task for task in tasks if not task.downstream_task_ids & ids]
        work = {task.task_id for task in tasks if not task.is_teardown}
        leaves = [
            task for task in tasks if task.task_id in work and not task.downstream_task_ids & work
        ]
        return leaves or plain

    def _error(self, message: str) -> DagDefinitionError:
        return DagDefinitionError(message, fileloc=self.fileloc, lineno=self.lineno)

    def __enter__(self) -> TaskGroup:
        scope.push_group(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        scope.pop_group(self)

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"


class MappedTaskGroup(TaskGroup):
    """A task group expanded over ``expand_input``: each of its tasks has one instance per
    item, instance i of every task belonging to item i (``@task_group`` ... ``.expand()``)."""

    is_mapped = True

    def __init__(self, group_id: str, *, expand_input: ExpandInput, **kwargs: Any) -> None:
        super().__init__(group_id, **kwargs)
        self.expand_input = expand_input
        if mapped_group_of(self.parent_group) is not None:
            raise self._error(
                f"task group {self.group_id!r}: a mapped task group inside a mapped task group "
                "is not supported"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        if exc_type is not None:
            return
        # The tasks the input comes from run before the whole group, as in Airflow.
        inside = {task.task_id for task in self.iter_tasks()}
        for reference in self.expand_input.references():
            for upstream in reference.upstream_operators():
                if upstream.task_id not in inside:
                    self.set_upstream(upstream)


def mapped_group_of(group: TaskGroup | None) -> MappedTaskGroup | None:
    """The mapped task group ``group`` is or lies in (None: none)."""
    while group is not None:
        if isinstance(group, MappedTaskGroup):
            return group
        group = group.parent_group
    return None


def unique_label(label: str, parent: TaskGroup, taken: Container[str]) -> str:
    """``label``, or ``label__1``, ``label__2``... if its full id is taken (as Airflow does)."""
    if parent.child_id(label) not in taken:
        return label
    core = _SUFFIX.sub("", label)
    number = 1
    while parent.child_id(f"{core}__{number}") in taken:
        number += 1
    return f"{core}__{number}"


class TaskGroupFactory:
    """What ``@task_group`` returns: calling it creates a TaskGroup and runs the function inside.

    The call returns the function's return value when it has one (so ``a >> group_fn() >> b``
    binds to the task it returns), otherwise the TaskGroup.
    """

    def __init__(self, function: Callable[..., Any], group_kwargs: Mapping[str, Any]):
        self.function = function
        self.group_kwargs = dict(group_kwargs)
        functools.update_wrapper(self, function)

    def override(self, **group_kwargs: Any) -> TaskGroupFactory:
        """A copy with other TaskGroup arguments (``group_id``, ``tooltip``, ...)."""
        return TaskGroupFactory(self.function, {**self.group_kwargs, **group_kwargs})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._create(TaskGroup(**self._options()), args, kwargs)

    def _options(self) -> dict[str, Any]:
        options = dict(self.group_kwargs)
        options.setdefault("group_id", self.function.__name__)
        options.setdefault("tooltip", (self.function.__doc__ or "").strip())
        options.setdefault("add_suffix_on_collision", True)
        return options

    def _create(self, group: TaskGroup, args: Any, kwargs: Mapping[str, Any]) -> Any:
        with group:
            result = self.function(*args, **kwargs)
        return group if result is None else result

    def partial(self, **kwargs: Any) -> TaskGroupPartial:
        """Arguments every instance of the mapped group shares; then ``.expand(...)``."""
        return TaskGroupPartial(self, kwargs)

    def expand(self, **kwargs: Any) -> Any:
        """A mapped task group: one instance of its tasks per item of the cross product."""
        return TaskGroupPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs: Any) -> Any:
        """A mapped task group: one instance of its tasks per dict of ``kwargs``."""
        return TaskGroupPartial(self, {}).expand_kwargs(kwargs)


class TaskGroupPartial(FunctionPartial):
    """``@task_group`` function ``.partial(...)``: expand it to get the mapped group."""

    def __init__(self, factory: TaskGroupFactory, kwargs: Mapping[str, Any]):
        self.factory = factory
        super().__init__(factory.function, kwargs)

    def _create(self, expand_input: ExpandInput, mapped: list[str]) -> Any:
        self._check_complete(mapped)
        group = MappedTaskGroup(expand_input=expand_input, **self.factory._options())
        arguments = dict(self.kwargs)
        for name in mapped:
            default = self._parameters[name].default if name in self._parameters else NOTSET
            arguments[name] = MappedArgument(
                expand_input, name, NOTSET if default is inspect.Parameter.empty else default
            )
        return self.factory._create(group, (), arguments)

    def expand(self, **mapped: Any) -> Any:
        self._check_expand(mapped)
        return self._create(DictOfListsExpandInput(dict(mapped)), list(mapped))

    def expand_kwargs(self, kwargs: Any) -> Any:
        check_kwargs_input(self._name, kwargs)
        names = [
            name
            for name, p in self._parameters.items()
            if name not in self.kwargs and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
        value = kwargs if not isinstance(kwargs, list | tuple) else list(kwargs)
        return self._create(ListOfDictsExpandInput(value, frozenset(names)), names)


@overload
def task_group(python_callable: Callable[..., Any]) -> TaskGroupFactory: ...


@overload
def task_group(
    python_callable: None = None, **group_kwargs: Any
) -> Callable[[Callable[..., Any]], TaskGroupFactory]: ...


def task_group(
    python_callable: Callable[..., Any] | None = None, **group_kwargs: Any
) -> TaskGroupFactory | Callable[[Callable[..., Any]], TaskGroupFactory]:
    """Decorate a function that creates tasks; each call makes a new TaskGroup around them.

    Use as ``@task_group`` or ``@task_group(group_id=..., tooltip=..., default_args=...)``.
    Calling the function twice gives groups ``name`` and ``name__1``.
    """
    if python_callable is not None:
        return TaskGroupFactory(python_callable, group_kwargs)

    def decorate(function: Callable[..., Any]) -> TaskGroupFactory:
        return TaskGroupFactory(function, group_kwargs)

    return decorate

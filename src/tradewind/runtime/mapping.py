"""A try of a mapped task: its instance's operator, its name, and checks of what feeds mapping.

:func:`instance_of` turns a mapped task into the concrete operator of the try's
``ti.map_index`` before its templates render (values of upstream tasks come through the try's
Source); :func:`render_map_index` names the instance with its ``map_index_template`` at the end
of the try; :func:`check_pushed_for_mapping` fails a task whose return value a mapped task
expands over when that value cannot be expanded over, as Airflow does when it is pushed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradewind.authoring import templating
from tradewind.authoring.mapped import MappedOperator, expanded_values, is_mapped
from tradewind.authoring.task_group import mapped_group_of
from tradewind.exceptions import TaskError

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

log = logging.getLogger(__name__)

# The longest instance name the metastore keeps (task_instance.rendered_map_index).
MAX_NAME_LENGTH = 250


def instance_of(task: BaseOperator, context: Mapping[str, Any]) -> BaseOperator:
    """The operator this try runs: for a mapped task, the one of the try's map index, which
    then replaces the mapped task as the context's ``task`` (and ``ti.task``).

    A task of a mapped group runs as a copy, so that rendering its templates (which resolves
    the group's arguments for this instance) leaves the DAG's task as it was.
    """
    if isinstance(task, MappedOperator):
        resolved = task.expand_input.resolve(context)
        operator = task.unmap(resolved)
        if isinstance(context, dict):
            context["expanded_ti_count"] = resolved.count
    elif mapped_group_of(task.task_group) is not None:
        operator = copy.copy(task)
    else:
        return task
    if isinstance(context, dict):
        context["task"] = operator
    ti = context.get("ti")
    if ti is not None:
        ti.task = operator
    return operator


def render_map_index(task: BaseOperator, context: Mapping[str, Any]) -> str | None:
    """The instance's ``map_index_template`` rendered with the try's context (None when it has
    none or it does not render; a failed render is logged, never a failed try)."""
    template = task.map_index_template
    if not template:
        return None
    try:
        env = templating.template_environment(task.dag)
        text = str(templating.render_value(template, context, env))
    except Exception as exc:
        log.warning("map_index_template %r did not render: %s", template, exc)
        return None
    return text[:MAX_NAME_LENGTH]


def check_pushed_for_mapping(
    task: BaseOperator, pushed: Mapping[str, Any], max_map_length: int | None
) -> None:
    """Raise TaskError when a value a mapped task expands over is missing (None), is not a
    list or a dict, or holds more than ``max_map_length`` items.

    A mapped task's own instances push one item each, so they are not checked.
    """
    dag = task.dag
    if dag is None or is_mapped(task):
        return
    for task_id, key in sorted(expanded_values(dag)):
        if task_id != task.task_id:
            continue
        value = pushed.get(key)
        what = f"task {task.task_id!r} (XCom {key!r}), which a mapped task expands over,"
        if value is None:
            raise TaskError(f"{what} pushed no value (None): there is nothing to expand over")
        if not isinstance(value, list | dict):
            raise TaskError(
                f"{what} pushed a {type(value).__name__}: a mapped task expands over a list "
                "or a dict"
            )
        if max_map_length is not None and len(value) > max_map_length:
            raise TaskError(
                f"{what} pushed {len(value)} items, more than core.max_map_length "
                f"({max_map_length})"
            )

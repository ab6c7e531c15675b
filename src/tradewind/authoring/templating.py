"""Rendering a task's template fields with Jinja before it runs.

Imported by the task runner, not by DAG files: Jinja is only needed when a task runs.
"""

from __future__ import annotations

import collections
import os
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import jinja2
import jinja2.nativetypes

from tradewind.authoring.xcom_arg import Resolvable

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG


def _ds(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _ds_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%d")


def _ts(value: datetime) -> str:
    return value.isoformat()


def _ts_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _ts_nodash_with_tz(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S%z")


FILTERS = {
    "ds": _ds,
    "ds_nodash": _ds_nodash,
    "ts": _ts,
    "ts_nodash": _ts_nodash,
    "ts_nodash_with_tz": _ts_nodash_with_tz,
}


# Each DAG's environment, built on first use and shared by its tasks (and, built in a warm
# process before it forks tries, by every try forked from it).
_environments: weakref.WeakKeyDictionary[DAG, jinja2.Environment] = weakref.WeakKeyDictionary()


def template_environment(dag: DAG | None) -> jinja2.Environment:
    """The Jinja environment for a DAG's tasks (built once per DAG object)."""
    if dag is None:
        return _environment(None)
    found = _environments.get(dag)
    if found is None:
        found = _environments[dag] = _environment(dag)
    return found


def _environment(dag: DAG | None) -> jinja2.Environment:
    """A Jinja environment for a DAG's tasks: its search path, macros and filters.

    Templates are looked up in ``template_searchpath`` and then in the DAG file's folder.
    Undefined names are errors, so a typo fails the task instead of rendering as empty, unless
    the DAG's ``template_undefined`` says otherwise; its ``jinja_environment_kwargs`` go over
    these options, as in Airflow.
    """
    searchpath: list[str] = []
    native = False
    options: dict[str, Any] = {"undefined": jinja2.StrictUndefined}
    if dag is not None:
        searchpath = [*dag.template_searchpath, os.path.dirname(dag.fileloc)]
        native = dag.render_template_as_native_obj
        if dag.template_undefined is not None:
            options["undefined"] = dag.template_undefined
        options.update(dag.jinja_environment_kwargs)
    env_class = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    options = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "keep_trailing_newline": True,
        "autoescape": False,
        **options,
    }
    env = env_class(**options)
    env.filters.update(FILTERS)
    if dag is not None:
        env.globals.update(dag.user_defined_macros)
        env.filters.update(dag.user_defined_filters)
    return env


def render_value(
    value: Any,
    context: Mapping[str, Any],
    env: jinja2.Environment,
    template_ext: tuple[str, ...] = (),
) -> Any:
    """Render strings, resolve XComArgs and recurse into lists, tuples, sets and dicts."""
    if isinstance(value, str):
        if template_ext and value.endswith(template_ext):
            return _render(env.get_template(value), context)
        return _render(env.from_string(value), context)
    if isinstance(value, Resolvable):
        return value.resolve(context)
    if isinstance(value, list):
        return [render_value(item, context, env, template_ext) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context, env, template_ext) for item in value)
    if isinstance(value, set | frozenset):
        return {render_value(item, context, env, template_ext) for item in value}
    if isinstance(value, dict):
        return {key: render_value(item, context, env, template_ext) for key, item in value.items()}
    return value


def _render(template: jinja2.Template, context: Mapping[str, Any]) -> Any:
    """Render with ``context`` looked up key by key (not copied, as ``render`` would), so
    that a context that warns about a deprecated key warns only when a template uses it."""
    names = collections.ChainMap(cast(dict[str, Any], context), template.globals)
    try:
        return template.environment.concat(
            template.root_render_func(template.new_context(cast(dict[str, Any], names), True))
        )
    except Exception:
        return template.environment.handle_exception()


def render_template_fields(
    task: BaseOperator, context: Mapping[str, Any], env: jinja2.Environment | None = None
) -> None:
    """Replace each of the task's template fields by its rendered value (in place)."""
    if env is None:
        env = template_environment(task.dag)
    for name in task.template_fields:
        rendered = render_value(getattr(task, name), context, env, tuple(task.template_ext))
        setattr(task, name, rendered)

"""Airflow's ``Variable``: ``Variable.get`` and ``Variable.set`` called from DAG code.

Reads go where :mod:`tradewind.runtime.lookups` says (the running try's source, else this
process's metastore); ``set`` writes to the metastore of this process's settings at once.
Templates keep their own way in: ``{{ var.value.name }}`` and ``{{ var.json.name }}``.
"""

from __future__ import annotations

import json
from typing import Any

from tradewind.exceptions import NotFound
from tradewind.runtime import lookups

_MISSING: Any = object()


class Variable:
    """Variables by key, with Airflow 2's (``default_var``) and Airflow 3's (``default``)
    keyword for the value of a missing one."""

    @classmethod
    def get(
        cls,
        key: str,
        default_var: Any = _MISSING,
        deserialize_json: bool = False,
        *,
        default: Any = _MISSING,
    ) -> Any:
        """The variable's text (decoded from JSON with ``deserialize_json``); a missing one
        gives the default, or raises :class:`~tradewind.exceptions.NotFound` (a KeyError)."""
        fallback = default if default is not _MISSING else default_var
        value = lookups.source().variable(key)
        if value is None:
            if fallback is _MISSING:
                raise NotFound(f"Variable {key} does not exist")
            return fallback
        return json.loads(value) if deserialize_json else value

    @classmethod
    def set(
        cls, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        """Store ``value`` under ``key`` (as JSON with ``serialize_json``, else as its text)."""
        text = json.dumps(value, indent=2) if serialize_json else str(value)
        lookups.write_variable(key, text, description)

    @classmethod
    def setdefault(
        cls,
        key: str,
        default: Any,
        description: str | None = None,
        deserialize_json: bool = False,
    ) -> Any:
        """The variable's value; when it is missing, store ``default`` first and return it."""
        value = cls.get(key, None, deserialize_json)
        if value is None:
            cls.set(key, default, description, serialize_json=deserialize_json)
            return default
        return value

"""DAG params: named values with an optional JSON Schema, resolved against a run's conf."""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Final

from tradewind.authoring import location
from tradewind.exceptions import DagDefinitionError, ParamValidationError


class _NotSet(enum.Enum):
    NOTSET = "NOTSET"

    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Final = _NotSet.NOTSET
"""Marks a Param without a default: a run must then supply the value in its conf."""


class Param:
    """A DAG (or task) param: a default value, a description and JSON Schema keywords.

    ``Param(5, type="integer", minimum=1)``; a default that fails its own schema is an error
    at definition time. A ``None`` default that the schema rejects makes the param required.
    """

    __slots__ = ("default", "description", "schema")

    def __init__(self, default: Any = NOTSET, description: str | None = None, **schema: Any):
        self.default = default
        self.description = description
        self.schema: dict[str, Any] = schema
        problem = _definition_problem(default, schema)
        if problem is not None:
            where = location.caller_location()
            raise DagDefinitionError(problem, fileloc=where.fileloc, lineno=where.lineno)

    @property
    def has_default(self) -> bool:
        return self.default is not NOTSET

    def resolve(self, value: Any = NOTSET, *, name: str = "param") -> Any:
        """Return ``value`` (or the default if NOTSET) after checking it against the schema."""
        final = self.default if value is NOTSET else value
        if final is NOTSET:
            raise ParamValidationError(f"param {name!r} has no default and no value was given")
        error = _first_error(self.schema, final)
        if error is not None:
            if value is NOTSET and final is None:
                raise ParamValidationError(f"param {name!r} is required: give it a value")
            raise ParamValidationError(f"param {name!r}: invalid value {final!r}: {error}")
        return copy.deepcopy(final)

    def serialize(self) -> dict[str, Any]:
        """A JSON-able dict: default, has_default, schema, description."""
        return {
            "default": None if self.default is NOTSET else self.default,
            "has_default": self.has_default,
            "schema": self.schema,
            "description": self.description,
        }

    @classmethod
    def deserialize(cls, data: Mapping[str, Any]) -> Param:
        """Rebuild a Param from :meth:`serialize` output (it was checked when defined)."""
        param = cls.__new__(cls)
        param.default = data.get("default") if data.get("has_default", True) else NOTSET
        param.description = data.get("description")
        param.schema = dict(data.get("schema") or {})
        return param

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return (self.default, self.description, self.schema) == (
            other.default,
            other.description,
            other.schema,
        )

    def __hash__(self) -> int:
        return hash((repr(self.default), self.description))

    def __repr__(self) -> str:
        return f"Param({self.default!r}, description={self.description!r}, schema={self.schema!r})"


def _definition_problem(default: Any, schema: Mapping[str, Any]) -> str | None:
    if default is not NOTSET:
        try:
            json.dumps(default)
        except (TypeError, ValueError):
            return (
                f"Param default {default!r} is not JSON-serializable; give dates and other "
                "values as strings (with a 'format' keyword if you want them checked)"
            )
    if not schema:
        return None
    # jsonschema costs a fifth of a second to import; most DAG files define no schema.
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        return f"Param has an invalid schema {dict(schema)!r}: {exc.message}"
    if default is not NOTSET and default is not None:
        error = _first_error(schema, default)
        if error is not None:
            return f"Param default {default!r} does not fit its schema: {error}"
    return None


def _first_error(schema: Mapping[str, Any], value: Any) -> str | None:
    if not schema:
        return None
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    return None if error is None else error.message


class ParamsDict(MutableMapping[str, Any]):
    """Airflow's container of params: reading a key gives the param's value, and setting
    one checks the value against that param's schema (ParamValidationError if it does not
    fit). :meth:`get_param` gives the :class:`Param` itself.

    ``suppress_exception=True`` makes a param without a value read as None instead of
    raising.
    """

    def __init__(
        self, dict_obj: Mapping[str, Any] | None = None, suppress_exception: bool = False
    ) -> None:
        self._params: dict[str, Param] = {}
        self.suppress_exception = suppress_exception
        if dict_obj:
            self.update(dict_obj)

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Param):
            self._params[key] = value
            return
        current = self._params.get(key)
        if current is None:
            self._params[key] = Param(value)
            return
        try:
            current.resolve(value, name=key)
        except ParamValidationError:
            if not self.suppress_exception:
                raise
        kept = Param.__new__(Param)
        kept.default, kept.description, kept.schema = value, current.description, current.schema
        self._params[key] = kept

    def __getitem__(self, key: str) -> Any:
        param = self._params[key]
        try:
            return param.resolve(name=key)
        except ParamValidationError:
            if self.suppress_exception:
                return None
            raise

    def __delitem__(self, key: str) -> None:
        del self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, key: object) -> bool:
        return key in self._params

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As dict.update; another ParamsDict hands over its Params, not only their values."""
        for source in (*args, kwargs):
            items = source.params().items() if isinstance(source, ParamsDict) else source.items()
            for key, value in items:
                self[key] = value

    def get_param(self, key: str) -> Param:
        """The :class:`Param` under ``key``."""
        return self._params[key]

    def params(self) -> dict[str, Param]:
        """Every name with its :class:`Param`."""
        return dict(self._params)

    def dump(self) -> dict[str, Any]:
        """Every name with its value (None where a param has no value)."""
        return {key: self._value_or_none(key) for key in self._params}

    def validate(self) -> dict[str, Any]:
        """Every name with its value; ParamValidationError names the first bad param."""
        return {key: param.resolve(name=key) for key, param in self._params.items()}

    def deep_merge(self, other: Mapping[str, Any] | None) -> None:
        """Merge ``other`` in: a dict value is merged into a dict value under the same key."""
        for key, value in (other or {}).items():
            current = self._value_or_none(key) if key in self else None
            if isinstance(current, dict) and isinstance(value, dict):
                self[key] = {**current, **value}
            else:
                self[key] = value

    def copy(self) -> ParamsDict:
        return ParamsDict(self, suppress_exception=self.suppress_exception)

    def _value_or_none(self, key: str) -> Any:
        try:
            return self._params[key].resolve(name=key)
        except ParamValidationError:
            return None

    def __repr__(self) -> str:
        return f"ParamsDict({self.dump()!r})"


def to_params(values: Mapping[str, Any] | None) -> dict[str, Param]:
    """Wrap plain values in Params (Params are kept as they are).

    Raises ValueError naming the param when a name is not a string or a plain value is not
    JSON-serializable.
    """
    if isinstance(values, ParamsDict):
        values = values.params()
    result: dict[str, Param] = {}
    for name, value in (values or {}).items():
        if not isinstance(name, str):
            raise ValueError(f"param names must be strings, not {name!r}")
        if isinstance(value, Param):
            result[name] = value
            continue
        problem = _definition_problem(value, {})
        if problem is not None:
            raise ValueError(f"param {name!r}: {problem}")
        result[name] = Param(value)
    return result


def resolve_params(params: Mapping[str, Param], conf: Mapping[str, Any] | None) -> dict[str, Any]:
    """Resolve every param against a run's conf; conf keys that are not params pass through."""
    if conf is None:
        conf = {}
    if not isinstance(conf, Mapping):
        raise ParamValidationError(f"conf must be a JSON object, not {type(conf).__name__}")
    resolved = {
        name: param.resolve(conf.get(name, NOTSET), name=name) for name, param in params.items()
    }
    for key, value in conf.items():
        if key not in resolved:
            resolved[key] = value
    return resolved

"""Trigger arguments and event payloads as JSON, and back.

JSON values pass as they are; other values become one-key objects ``{"__tw": type, "v":
value}``: aware or naive datetimes, dates, times, timedeltas, tuples, sets and dicts whose keys
are not all strings (or that hold the key ``__tw``). Anything else is an error that names it,
raised where the value is encoded (the task that defers, the trigger that fires).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.exceptions import TradewindError

TAG = "__tw"


class SerdeError(TradewindError, TypeError):
    """A value that cannot travel as a trigger's argument or an event's payload."""


def encode(value: Any) -> Any:
    """``value`` as JSON-able data (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: encode(item) for key, item in value.items()}
        return {TAG: "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {TAG: "timedelta", "v": value.total_seconds()}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(item) for item in value]}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "v": [encode(item) for item in value]}
    raise SerdeError(
        f"{type(value).__name__} value {value!r} cannot be a trigger's argument or an event's "
        "payload: use JSON values, datetimes, dates, times, timedeltas, tuples or sets"
    )


def decode(data: Any) -> Any:
    """The value :func:`encode` made ``data`` of."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {key: decode(item) for key, item in data.items()}
    raw: Any = data["v"]
    if kind == "datetime":
        return dt.datetime.fromisoformat(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    if kind == "time":
        return dt.time.fromisoformat(raw)
    if kind == "timedelta":
        return dt.timedelta(seconds=raw)
    if kind == "tuple":
        return tuple(decode(item) for item in raw)
    if kind == "set":
        return {decode(item) for item in raw}
    if kind == "dict":
        return {decode(k): decode(v) for k, v in raw}
    raise SerdeError(f"unknown encoded type {kind!r}")

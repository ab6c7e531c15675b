"""Checks and conversions for the values DAG files pass to DAGs, operators and sensors.

Each function raises ValueError with a message naming the argument; callers add the location.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

MAX_ID_LENGTH = 250
_ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+")
_GROUP_ID_PATTERN = re.compile(r"[A-Za-z0-9_\-]+")
INT32_MAX = 2**31 - 1


def check_id(kind: str, value: object, *, allow_dots: bool = True) -> str:
    """A DAG, task or group id: letters, digits and ``-_.`` (no dot in group ids), <= 250."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string, not {value!r}")
    pattern = _ID_PATTERN if allow_dots else _GROUP_ID_PATTERN
    if not pattern.fullmatch(value):
        allowed = (
            "letters, digits, '-', '_' and '.'" if allow_dots else "letters, digits, '-' and '_'"
        )
        raise ValueError(f"{kind} {value!r} may only contain {allowed}")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{kind} {value[:40]!r}... is longer than {MAX_ID_LENGTH} characters")
    return value


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """An int (not a bool) within 32-bit range, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise ValueError(f"{name} {value} is out of range (a 32-bit integer)")
    return value


def check_text(name: str, value: object) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    return value


def as_timedelta(name: str, value: object) -> timedelta:
    """A non-negative timedelta, or a number of seconds."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    else:
        raise ValueError(f"{name} must be a timedelta or a number of seconds, not {value!r}")
    if delta < timedelta(0):
        raise ValueError(f"{name} must not be negative, not {delta}")
    return delta


def as_optional_timedelta(name: str, value: object) -> timedelta | None:
    return None if value is None else as_timedelta(name, value)


def as_callbacks(name: str, value: object) -> list[Callable[..., Any]]:
    """None, one callable or a list of callables, as a list."""
    if value is None:
        return []
    items: Sequence[object] = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if not callable(item):
            raise ValueError(f"{name} must be a callable or a list of callables, not {item!r}")
    return list(items)  # type: ignore[arg-type]

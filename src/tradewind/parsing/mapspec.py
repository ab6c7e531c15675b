"""How many instances a mapped task expands to, as plain JSON the scheduler can evaluate.

A mapped task's serialized ``mapping["length"]`` is an expression over what is known at parse
time (the length of a literal list or dict) and what only a run knows (the length of a value an
upstream task pushed)::

    {"literal": 3}                              a literal list or dict of 3 items
    {"xcom": "task_id", "key": "return_value"}  the length of what that task pushed (of a
                                                mapped task: how many of its instances pushed)
    {"product": [e1, e2]}                       several expand() arguments: their cross product
    {"zip": [e1, e2], "longest": false}         XComArg.zip: the shortest (longest: fillvalue)
    {"concat": [e1, e2]}                        XComArg.concat: the sum

``XComArg.map(fn)`` keeps its source's length, so it has no node of its own. The scheduler
evaluates the expression with :func:`length` once the upstream tasks are done; the runner
computes the same items from the values themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tradewind.exceptions import TradewindError

Expression = Mapping[str, Any]
# (task_id, key) -> the length of what it pushed; None when it pushed nothing (yet).
Lookup = Callable[[str, str], int | None]


class MapLengthError(TradewindError, ValueError):
    """A mapped task's input cannot be expanded (a value that is not a list or a dict)."""


def literal(count: int) -> dict[str, Any]:
    return {"literal": count}


def xcom(task_id: str, key: str) -> dict[str, Any]:
    return {"xcom": task_id, "key": key}


def length(expression: Expression, lookup: Lookup) -> int | None:
    """How many instances ``expression`` gives; None while a value it needs was not pushed."""
    if "literal" in expression:
        return int(expression["literal"])
    if "xcom" in expression:
        return lookup(str(expression["xcom"]), str(expression.get("key", "return_value")))
    for name in ("product", "zip", "concat"):
        if name in expression:
            parts = [length(part, lookup) for part in expression[name]]
            if any(part is None for part in parts):
                return None
            counts = [part for part in parts if part is not None]
            if name == "product":
                return math.prod(counts)
            if name == "concat":
                return sum(counts)
            if not counts:
                return 0
            return max(counts) if expression.get("longest") else min(counts)
    raise MapLengthError(f"not a mapping length expression: {dict(expression)!r}")


def sources(expression: Expression) -> Iterator[tuple[str, str]]:
    """The ``(task_id, key)`` of every pushed value the expression needs."""
    if "xcom" in expression:
        yield str(expression["xcom"]), str(expression.get("key", "return_value"))
    for name in ("product", "zip", "concat"):
        for part in expression.get(name, ()):
            yield from sources(part)

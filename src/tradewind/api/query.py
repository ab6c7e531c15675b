"""Query parameters are read as the OpenAPI document states them.

A parameter the document gives one value (``dag_id_pattern``, ``limit``) and that a request
repeats is refused with a 400, where the framework would quietly take the last one; parameters
that take several (``tags``, ``state``) may repeat. :data:`ONCE` is a router dependency.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tradewind.api.errors import bad_request

_MANY = (list, tuple, set, frozenset, Sequence)


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return origin in _MANY or annotation in _MANY


def _query_fields(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.query_params:
        yield field.alias, field.field_info.annotation
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def single_valued(route: APIRoute) -> frozenset[str]:
    """The query parameters of ``route`` that take one value."""
    return frozenset(
        name for name, annotation in _query_fields(route.dependant) if not _takes_many(annotation)
    )


async def refuse_repeats(request: Request) -> None:
    """The dependency behind :data:`ONCE`."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    for name in single_valued(route):
        if len(request.query_params.getlist(name)) > 1:
            raise bad_request(f"query {name}: takes one value, and was given several")


ONCE = Depends(refuse_repeats)

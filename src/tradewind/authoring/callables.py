"""Calling a user's Python callable with its arguments plus the context values it asks for."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def call_with_context(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: Mapping[str, Any],
) -> Any:
    """Call ``function(*args, **kwargs)``, adding the context entries its signature names.

    A function with ``**kwargs`` gets the whole context; otherwise only parameters named
    like context keys (``ti``, ``ds``, ``params``, ...) that the call does not fill already.
    """
    signature = inspect.signature(function)
    parameters = signature.parameters
    bound = signature.bind_partial(*args, **kwargs).arguments
    takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    extra: dict[str, Any] = {}
    for key, value in context.items():
        if key in bound or key in kwargs:
            continue
        parameter = parameters.get(key)
        if parameter is None:
            wanted = takes_all
        else:
            wanted = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        if wanted:
            extra[key] = value
    return function(*args, **kwargs, **extra)

"""What Airflow 2 operator authors still write and Airflow made a no-op: ``apply_defaults``.

Airflow 2 applies ``default_args`` to every operator's ``__init__`` by itself (so does
tradewind); the decorator is kept, with a deprecation warning, so that old operators import.
"""

from __future__ import annotations

import warnings
from typing import TypeVar

T = TypeVar("T")


def apply_defaults(func: T) -> T:
    """Returns ``func`` unchanged: defaults are applied to every operator without it."""
    warnings.warn(
        "apply_defaults is deprecated and does nothing: default_args apply to every operator",
        DeprecationWarning,
        stacklevel=2,
    )
    return func

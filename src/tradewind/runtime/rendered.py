"""A try's rendered template fields, made fit to leave the try: JSON, masked, size-capped.

Right after the task's templates are rendered, :func:`snapshot` copies the template fields
into plain JSON (so that what ``execute()`` later does to them does not change the record);
:func:`for_report` masks the secrets the try knows of and caps each value's size before the
FINISHED message carries them to the scheduler, which stores them (see
:mod:`tradewind.metastore.store.rendered`). The metastore never sees a secret in clear.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradewind.metastore.crypto import looks_secret
from tradewind.runtime.masking import MASK, SecretsMasker

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

# Characters of JSON text a single rendered value may take; a longer one is cut with a note.
MAX_VALUE_CHARS = 64 * 1024
# Deeper structures (or ones that contain themselves) are shown as text below this depth.
MAX_DEPTH = 32
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def snapshot(task: BaseOperator) -> dict[str, Any] | None:
    """The task's template fields as they are now, as JSON; None when it has none."""
    names = task.template_fields
    if not names:
        return None
    return {name: jsonable(getattr(task, name, None)) for name in names}


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON copy of ``value``: containers as lists and objects, times in ISO 8601, anything
    else as its text. Values under keys that look secret (``password``...) become ``***``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value, depth + 1) if depth < MAX_DEPTH else _text(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if depth >= MAX_DEPTH:
        return _text(value)
    if isinstance(value, list | tuple):
        return [jsonable(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item, depth + 1) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {
            str(key): MASK if _hidden(key, item) else jsonable(item, depth + 1)
            for key, item in value.items()
        }
    return _text(value)


def _hidden(key: Any, value: Any) -> bool:
    return isinstance(key, str) and looks_secret(key) and value not in (None, "")


def _text(value: Any) -> str:
    try:
        text = str(value)
    except Exception as exc:  # a user object's __str__ may raise anything
        text = f"<{type(value).__qualname__}: cannot be shown: {type(exc).__name__}>"
    return _ADDRESS.sub("", text)


def for_report(
    fields: Mapping[str, Any], masker: SecretsMasker, limit: int = MAX_VALUE_CHARS
) -> dict[str, Any]:
    """``fields`` (JSON) with known secrets masked and each value cut to ``limit`` characters."""
    return {name: _cap(masker.mask_value(value), limit) for name, value in fields.items()}


def _cap(value: Any, limit: int) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= limit:
        return value
    return (
        f"{text[:limit]}... (truncated: the rendered value has {len(text)} characters, "
        f"only the first {limit} are kept)"
    )

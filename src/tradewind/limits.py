"""Size limits on what people and tasks hand tradewind: run conf, variable values, XCom values
(request bodies are limited in the web server, see :mod:`tradewind.api.limits`).

Each limit is a setting in MB (``core.max_conf_mb``, ...); a value over it is refused with
:class:`TooLarge`, whose message names the limit and the setting, before it reaches the
metastore. A JSON value's size is the length of its JSON text as the metastore stores it.
"""

from __future__ import annotations

import json
from typing import Any

from tradewind.exceptions import TradewindError

MB = 1024 * 1024


class TooLarge(TradewindError):
    """A value is larger than its limit allows; the message names the limit's setting."""

    def __init__(self, what: str, size: int, limit: int, setting: str) -> None:
        super().__init__(
            f"{what} is {describe(size)}, over the limit of {describe(limit)} ({setting})"
        )
        self.size = size
        self.limit = limit
        self.setting = setting


def to_bytes(megabytes: float) -> int:
    return int(megabytes * MB)


def describe(size: int) -> str:
    """``size`` bytes as people read it: 812 bytes, 64 KB, 4 MB, 4.2 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < MB:
        return f"{size / 1024:.3g} KB"
    return f"{size / MB:.3g} MB"


def json_size(value: Any) -> int:
    """The length of ``value``'s JSON text as the metastore stores it (non-ASCII escaped)."""
    return len(json.dumps(value))


def check(what: str, size: int, megabytes: float, setting: str) -> None:
    """Raise :class:`TooLarge` when ``size`` bytes are over ``megabytes``."""
    limit = to_bytes(megabytes)
    if size > limit:
        raise TooLarge(what, size, limit, setting)


def check_json(what: str, value: Any, megabytes: float, setting: str) -> None:
    """:func:`check` for the JSON text of ``value``."""
    check(what, json_size(value), megabytes, setting)


def check_text(what: str, text: str, megabytes: float, setting: str) -> None:
    """:func:`check` for ``text`` as UTF-8."""
    check(what, len(text.encode("utf-8", "surrogatepass")), megabytes, setting)

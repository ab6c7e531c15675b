"""``var`` and ``conn`` in the context: variables and connections, read through a Source."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tradewind.exceptions import TradewindError

if TYPE_CHECKING:
    from tradewind.metastore.store.connections import Connection
    from tradewind.runtime.context import Source


class _Missing(TradewindError, KeyError):
    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class VariableNotFound(_Missing):
    """``var.value.NAME`` for a variable that does not exist."""


class ConnectionNotFound(_Missing):
    """``conn.NAME`` for a connection that does not exist."""


class _VariableValues:
    def __init__(self, source: Source, decode: bool) -> None:
        self._source = source
        self._decode = decode

    def get(self, key: str, default: Any = None) -> Any:
        value = self._source.variable(key)
        if value is None:
            return default
        if not self._decode:
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise VariableNotFound(f"variable {key!r} does not hold JSON") from None

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            raise VariableNotFound(f"variable {key!r} does not exist")
        return value

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)


class VariableAccessor:
    """``var`` in the context: ``var.value.NAME`` (text) and ``var.json.NAME`` (decoded)."""

    def __init__(self, source: Source) -> None:
        self.value = _VariableValues(source, decode=False)
        self.json = _VariableValues(source, decode=True)


class ConnectionAccessor:
    """``conn`` in the context: ``conn.NAME`` is the connection with id NAME."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def get(self, conn_id: str) -> Connection:
        found = self._source.connection(conn_id)
        if found is None:
            raise ConnectionNotFound(f"connection {conn_id!r} does not exist")
        return found

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("_"):
            raise AttributeError(conn_id)
        return self.get(conn_id)

    def __getitem__(self, conn_id: str) -> Connection:
        return self.get(conn_id)

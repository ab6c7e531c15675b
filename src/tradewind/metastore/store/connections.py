"""Connections: how to reach external systems; password and extra are encrypted at rest.

:class:`Connection` is the value tasks get (``conn.my_db`` in templates): Airflow's fields,
``extra_dejson`` and ``get_uri()``. URIs look like
``postgres://user:pass@host:5432/schema?sslmode=require`` (values percent-encoded; an
``__extra__`` query parameter may carry the whole extra as JSON).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind.metastore import crypto, models

MASK = "***"


class ConnectionsError(Exception):
    """A connection is missing, already there, or malformed; one-line message."""


@dataclass(frozen=True)
class Connection:
    """A connection as tasks and the CLI see it (Airflow's field names)."""

    conn_id: str
    conn_type: str
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: str | None = None
    description: str | None = None

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """``extra`` decoded from JSON ({} when empty); a non-object extra is an error."""
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            raise ConnectionsError(f"connection {self.conn_id!r}: extra is not JSON") from None
        if not isinstance(value, dict):
            raise ConnectionsError(f"connection {self.conn_id!r}: extra is not a JSON object")
        return value

    def get_uri(self) -> str:
        """The connection as one URI (the form ``connections add --conn-uri`` takes)."""
        uri = self.conn_type.replace("_", "-") + "://"
        if self.login is not None or self.password is not None:
            uri += quote(self.login or "", safe="")
            if self.password is not None:
                uri += ":" + quote(self.password, safe="")
            uri += "@"
        uri += quote(self.host or "", safe="")
        if self.port is not None:
            uri += f":{self.port}"
        if self.schema:
            uri += "/" + quote(self.schema, safe="")
        extra = self.extra_dejson
        if extra:
            if all(isinstance(v, str) for v in extra.values()):
                uri += "?" + urlencode(extra)
            else:
                uri += "?" + urlencode({"__extra__": json.dumps(extra)})
        return uri

    def masked(self) -> Connection:
        """A copy fit to show: password and secret-looking extra fields (at any depth: in
        nested objects and in lists of them) as ``***``."""
        extra = self.extra
        if extra:
            try:
                fields = self.extra_dejson
            except ConnectionsError:
                fields = None
            if fields is not None:
                extra = json.dumps(mask_fields(fields))
        password = MASK if self.password else self.password
        return dataclasses.replace(self, password=password, extra=extra)

    def secrets(self) -> list[str]:
        """The values that must never be shown: password, secret extra fields, the URI."""
        found = [self.password] if self.password else []
        try:
            extra = self.extra_dejson
        except ConnectionsError:
            extra = {}
        found += secret_leaves(extra)
        if self.password:
            found.append(quote(self.password, safe=""))
        return found

    @classmethod
    def from_uri(cls, conn_id: str, uri: str, *, description: str | None = None) -> Connection:
        """Parse ``type://login:password@host:port/schema?extra=...``."""
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError as exc:
            raise ConnectionsError(f"cannot parse connection URI: {exc}") from None
        if not parts.scheme or "://" not in uri:
            raise ConnectionsError(
                "a connection URI looks like type://login:password@host:port/schema; "
                "this one has no type"
            )
        conn_type = parts.scheme.replace("-", "_")
        if conn_type == "postgresql":
            conn_type = "postgres"
        query = parse_qsl(parts.query, keep_blank_values=True)
        extra: dict[str, Any] = {}
        for name, value in query:
            if name == "__extra__":
                try:
                    extra.update(json.loads(value))
                except (ValueError, TypeError):
                    raise ConnectionsError("__extra__ in the URI is not a JSON object") from None
            else:
                extra[name] = value
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return cls(
            conn_id=conn_id,
            conn_type=conn_type,
            host=unquote(parts.hostname) if parts.hostname else None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(path) or None,
            port=port,
            extra=json.dumps(extra) if extra else None,
            description=description,
        )


def _hidden(name: Any, value: Any) -> bool:
    return isinstance(name, str) and crypto.looks_secret(name) and value not in (None, "", {}, [])


def mask_fields(value: Any) -> Any:
    """A JSON value with what every secret-looking field holds as ``***``, at any depth."""
    if isinstance(value, dict):
        return {k: MASK if _hidden(k, v) else mask_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fields(item) for item in value]
    return value


def secret_leaves(value: Any, hidden: bool = False) -> list[str]:
    """The text of every leaf under a secret-looking field of a JSON value, at any depth."""
    if isinstance(value, dict):
        return [
            leaf for k, v in value.items() for leaf in secret_leaves(v, hidden or _hidden(k, v))
        ]
    if isinstance(value, list):
        return [leaf for item in value for leaf in secret_leaves(item, hidden)]
    if hidden and value not in (None, "") and not isinstance(value, bool):
        return [str(value)]
    return []


def unmask_fields(value: Any, stored: Any) -> Any:
    """``value`` (extra as a client sends it back) with each ``***`` of a secret-looking field
    replaced by what ``stored`` holds at the same place, so that masked values survive an edit."""
    if isinstance(value, dict) and isinstance(stored, dict):
        return {
            k: stored[k]
            if v == MASK and crypto.looks_secret(k) and k in stored
            else unmask_fields(v, stored.get(k))
            for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(stored, list) and len(value) == len(stored):
        return [unmask_fields(v, s) for v, s in zip(value, stored, strict=True)]
    return value


def _check(conn: Connection) -> None:
    if not conn.conn_id or not conn.conn_id.strip():
        raise ConnectionsError("a connection id must be a non-empty string")
    if not conn.conn_type:
        raise ConnectionsError(f"connection {conn.conn_id!r} needs a type")
    if conn.port is not None and not 0 < conn.port < 65536:
        raise ConnectionsError(f"connection {conn.conn_id!r}: port {conn.port} is out of range")
    conn.extra_dejson  # noqa: B018 - raises on an extra that is not a JSON object


def add_connection(session: Session, conn: Connection, cipher: crypto.Cipher) -> None:
    """Store a new connection; an existing id is an error."""
    _check(conn)
    exists = session.scalar(
        select(models.Connection.id).where(models.Connection.conn_id == conn.conn_id)
    )
    if exists is not None:
        raise ConnectionsError(f"a connection with id {conn.conn_id!r} already exists")
    row = models.Connection(
        conn_id=conn.conn_id,
        conn_type=conn.conn_type,
        description=conn.description,
        host=conn.host,
        schema_=conn.schema,
        login=conn.login,
        port=conn.port,
    )
    if conn.password is not None:
        row.password, row.is_encrypted = cipher.encrypt(conn.password)
    if conn.extra:
        row.extra, row.is_extra_encrypted = cipher.encrypt(conn.extra)
    session.add(row)
    session.flush()


def _from_row(row: models.Connection, cipher: crypto.Cipher) -> Connection:
    what = f"connection {row.conn_id!r}"
    password = row.password
    if password is not None:
        password = cipher.decrypt(password, row.is_encrypted, what=f"the password of {what}")
    extra = row.extra
    if extra is not None:
        extra = cipher.decrypt(extra, row.is_extra_encrypted, what=f"the extra of {what}")
    return Connection(
        conn_id=row.conn_id,
        conn_type=row.conn_type,
        host=row.host,
        login=row.login,
        password=password,
        schema=row.schema_,
        port=row.port,
        extra=extra,
        description=row.description,
    )


def get_connection(session: Session, conn_id: str, cipher: crypto.Cipher) -> Connection | None:
    """The connection with its secrets in clear (for tasks), or None."""
    row = session.scalar(select(models.Connection).where(models.Connection.conn_id == conn_id))
    return None if row is None else _from_row(row, cipher)


def list_connections(session: Session, cipher: crypto.Cipher) -> list[Connection]:
    """Every connection by id, with password and secret extra fields masked."""
    rows = session.scalars(select(models.Connection).order_by(models.Connection.conn_id))
    return [_from_row(row, cipher).masked() for row in rows]


def delete_connection(session: Session, conn_id: str) -> bool:
    """Delete a connection; False if there was none."""
    result = session.execute(delete(models.Connection).where(models.Connection.conn_id == conn_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def replace_connection(session: Session, conn: Connection, cipher: crypto.Cipher) -> bool:
    """Overwrite every field of an existing connection; False if there is none."""
    _check(conn)
    row = session.scalar(select(models.Connection).where(models.Connection.conn_id == conn.conn_id))
    if row is None:
        return False
    row.conn_type = conn.conn_type
    row.description = conn.description
    row.host = conn.host
    row.schema_ = conn.schema
    row.login = conn.login
    row.port = conn.port
    row.password, row.is_encrypted = (
        cipher.encrypt(conn.password) if conn.password is not None else (None, False)
    )
    row.extra, row.is_extra_encrypted = cipher.encrypt(conn.extra) if conn.extra else (None, False)
    session.flush()
    return True


def page_connections(
    session: Session, cipher: crypto.Cipher, *, limit: int, offset: int
) -> tuple[list[Connection], int]:
    """One page of connections by id, masked as :meth:`Connection.masked` does, and the total."""
    total = session.scalar(select(func.count()).select_from(models.Connection)) or 0
    rows = session.scalars(
        select(models.Connection).order_by(models.Connection.conn_id).limit(limit).offset(offset)
    )
    return [_from_row(row, cipher).masked() for row in rows], total


def connection_exists(session: Session, conn_id: str) -> bool:
    found = session.scalar(select(models.Connection.id).where(models.Connection.conn_id == conn_id))
    return found is not None

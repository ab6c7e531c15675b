"""Queries about variables: key/value settings for DAGs, encrypted at rest when a key is set."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind import limits
from tradewind.metastore import crypto
from tradewind.metastore.models import Variable

OnExisting = Literal["overwrite", "fail", "skip"]


class VariableError(Exception):
    """A variable is missing, already there, or its value is unusable; one-line message."""


@dataclass(frozen=True)
class VariableInfo:
    """A variable without its value (what listings show)."""

    key: str
    description: str | None
    is_encrypted: bool


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    skipped: int


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise VariableError(f"a variable key must be a non-empty string, not {key!r}")
    return key


def as_text(value: Any) -> str:
    """How a value is stored: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise VariableError(f"value {value!r} is not a string or JSON: {exc}") from None


def set_variable(
    session: Session,
    key: str,
    value: Any,
    cipher: crypto.Cipher,
    *,
    description: str | None = None,
    max_mb: float | None = None,
) -> None:
    """Create or replace a variable; non-string values are stored as JSON.

    A value longer than ``max_mb`` (``core.max_variable_mb``) is refused with
    :class:`~tradewind.limits.TooLarge`.
    """
    text = as_text(value)
    if max_mb is not None:
        what = f"the value of variable {key!r}"
        limits.check_text(what, text, max_mb, "core.max_variable_mb")
    stored, encrypted = cipher.encrypt(text)
    row = session.scalar(select(Variable).where(Variable.key == _check_key(key)))
    if row is None:
        row = Variable(key=key)
        session.add(row)
    row.val = stored
    row.is_encrypted = encrypted
    if description is not None:
        row.description = description
    session.flush()


def get_variable(session: Session, key: str, cipher: crypto.Cipher) -> str | None:
    """The decrypted value of a variable, or None if there is no such variable."""
    row = session.execute(
        select(Variable.val, Variable.is_encrypted).where(Variable.key == key)
    ).one_or_none()
    if row is None:
        return None
    return cipher.decrypt(row.val or "", row.is_encrypted, what=f"variable {key!r}")


def delete_variable(session: Session, key: str) -> bool:
    """Delete a variable; False if there was none."""
    result = session.execute(delete(Variable).where(Variable.key == key))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_variables(session: Session) -> list[VariableInfo]:
    """Every variable, by key, without values."""
    rows = session.execute(
        select(Variable.key, Variable.description, Variable.is_encrypted).order_by(Variable.key)
    )
    return [VariableInfo(row.key, row.description, row.is_encrypted) for row in rows]


def export_variables(session: Session, cipher: crypto.Cipher) -> dict[str, Any]:
    """Every variable as key -> value; values that hold JSON are decoded."""
    exported: dict[str, Any] = {}
    rows = session.execute(
        select(Variable.key, Variable.val, Variable.is_encrypted).order_by(Variable.key)
    )
    for row in rows:
        text = cipher.decrypt(row.val or "", row.is_encrypted, what=f"variable {row.key!r}")
        try:
            exported[row.key] = json.loads(text)
        except ValueError:
            exported[row.key] = text
    return exported


def import_variables(
    session: Session,
    data: Mapping[str, Any],
    cipher: crypto.Cipher,
    *,
    on_existing: OnExisting = "overwrite",
    max_mb: float | None = None,
) -> ImportReport:
    """Set every key of ``data``; an existing key is overwritten, skipped, or an error.

    Values longer than ``max_mb`` are refused as :func:`set_variable` does."""
    if not isinstance(data, Mapping):
        raise VariableError("variables to import must be a JSON object of key -> value")
    existing = set(session.scalars(select(Variable.key).where(Variable.key.in_(list(data)))))
    if on_existing == "fail" and existing:
        raise VariableError(f"variables already exist: {', '.join(sorted(existing))}")
    created = updated = skipped = 0
    for key, value in data.items():
        if key in existing:
            if on_existing == "skip":
                skipped += 1
                continue
            updated += 1
        else:
            created += 1
        set_variable(session, key, value, cipher, max_mb=max_mb)
    return ImportReport(created, updated, skipped)


@dataclass(frozen=True)
class VariableValue:
    """A variable with its value in clear (what the web server's op role sees)."""

    key: str
    value: str
    description: str | None
    is_encrypted: bool


def variable_exists(session: Session, key: str) -> bool:
    return session.scalar(select(Variable.id).where(Variable.key == key)) is not None


def get_variable_value(session: Session, key: str, cipher: crypto.Cipher) -> VariableValue | None:
    """A variable with its decrypted value and description, or None."""
    row = session.scalar(select(Variable).where(Variable.key == key))
    if row is None:
        return None
    value = cipher.decrypt(row.val or "", row.is_encrypted, what=f"variable {key!r}")
    return VariableValue(row.key, value, row.description, row.is_encrypted)


def page_variables(
    session: Session, cipher: crypto.Cipher, *, limit: int, offset: int
) -> tuple[list[VariableValue], int]:
    """One page of variables by key, with decrypted values, and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(Variable)) or 0
    rows = session.scalars(select(Variable).order_by(Variable.key).limit(limit).offset(offset))
    return [
        VariableValue(
            row.key,
            cipher.decrypt(row.val or "", row.is_encrypted, what=f"variable {row.key!r}"),
            row.description,
            row.is_encrypted,
        )
        for row in rows
    ], total

"""What the route modules share about their input: constrained strings, strict request bodies
and query booleans, and the OpenAPI entries of the answers they add.

Lengths follow the metastore's columns (a longer value would be a database error on MySQL and
PostgreSQL) and NUL characters are refused (PostgreSQL cannot store them). Request bodies and
query parameters take only what the OpenAPI document states: ``0`` is not a boolean, ``"3"`` is
not an integer, ``yes`` is not a query boolean, and a body field the document does not name is
refused, as Airflow's API does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from tradewind.api import text
from tradewind.api.errors import ErrorBody, conflict
from tradewind.metastore.models import ID_LENGTH


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# White space, as Python's str.strip() and ECMA-262's \s take it together (spelled out, so that
# the document's patterns mean the same in every regex engine).
BLANK = r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SHOWN = re.compile(f"[^{BLANK}]")


def _addressable(value: str) -> str:
    if "/" in value or value in (".", ".."):
        raise ValueError("must not hold '/' nor be '.' or '..' (it names the resource in URLs)")
    if not _SHOWN.search(value):
        raise ValueError("must hold a character other than white space")
    return value


NoNul = AfterValidator(_no_nul)
# A name that is one segment of the resource's URL: no "/", not "." or ".." (which clients
# resolve away), not only white space. ADDRESSABLE says the same in the document (pydantic's
# patterns cannot look ahead).
Addressable = AfterValidator(_addressable)
ADDRESSABLE = rf"^(?!\.\.?$)[^/\x00]*[^/\x00{BLANK}][^/\x00]*$"
Text = Annotated[str, NoNul]
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_LENGTH),
    NoNul,
    Addressable,
    Field(json_schema_extra={"pattern": ADDRESSABLE}),
]
Short = Annotated[str, StringConstraints(max_length=500), NoNul]
PoolName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    NoNul,
    Addressable,
    Field(json_schema_extra={"pattern": ADDRESSABLE}),
]
# A path parameter that the database can compare: no NUL, at most ID_LENGTH characters.
PATH_TEXT = text.PATTERN
IdPath = Annotated[str, Path(pattern=PATH_TEXT, max_length=ID_LENGTH)]
MAX_INT = 2_147_483_647


class RequestBody(BaseModel):
    """A JSON request body: each field takes exactly the JSON type the document states (no
    coercion), and a field the document does not name is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _query_bool(value: object) -> object:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


# A boolean query parameter spelled as the document states it: ``true`` or ``false``.
QueryBool = BeforeValidator(_query_bool)


def _integral(value: object) -> object:
    """A JSON number with no fraction is an integer (``3.0`` is 3), as JSON Schema reads it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer field of a strict request body: JSON integers, and numbers such as 3.0.
Integral = BeforeValidator(_integral)  # after Field(...): its bounds stay in the document

# RFC 3339, as the document's format date-time means: a date, "T", a time with seconds, a zone.
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII
)


def _rfc3339(value: object) -> object:
    if value is None:
        return None
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(
            "must be an RFC 3339 date-time with a time zone (e.g. 2024-01-01T00:00:00+00:00)"
        )
    minute, second, fraction, zone = found.groups()
    if second == "60":  # a leap second: the last instant of its minute
        return f"{minute}:59.999999{zone}"
    return f"{minute}:{second}{fraction or ''}{zone}"


# A date-time read only from its RFC 3339 text (not from a number or another spelling).
Rfc3339 = BeforeValidator(_rfc3339)


def on_string(**keywords: Any) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` that puts ``keywords`` on the string form of a field's schema
    (the one besides null, for an optional field)."""

    def put(schema: dict[str, Any]) -> None:
        for form in schema.get("anyOf", [schema]):
            if form.get("type") == "string":
                form.update(keywords)

    return put


def utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC (a bound of a filter: one before the earliest instant UTC can
    represent is that instant, one after the latest is the latest)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == datetime.min.year else datetime.max).replace(
            tzinfo=UTC
        )


def conflict_doc(*texts: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a route's 409 answer: each reason it is given for."""
    return {409: {"model": ErrorBody, "description": "; or ".join(texts)}}


# Why a route that reads stored secrets may answer 409.
UNREADABLE = "A stored secret cannot be decrypted with core.fernet_key"


def renamed(what: str, field: str) -> str:
    """The 409 reason of a PATCH whose body names another resource than its path."""
    return f"The body's {field} is not the path's: a {what} cannot be renamed"


def same_name(what: str, field: str, given: str | None, path: str) -> None:
    """A 409 when a PATCH body names (``given``) another resource than its path does."""
    if given is not None and given != path:
        raise conflict(
            f"the body's {field} {given!r} is not the path's {path!r}; a {what} cannot be renamed"
        )

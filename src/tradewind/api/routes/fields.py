"""Constrained strings shared by the route modules of variables, connections, pools and users.

Lengths follow the metastore's columns (a longer value would be a database error on MySQL and
PostgreSQL) and NUL characters are refused (PostgreSQL cannot store them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, StringConstraints

from tradewind.api.errors import ErrorBody, bad_request
from tradewind.metastore.models import ID_LENGTH


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Text = Annotated[str, NoNul]
Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_LENGTH), NoNul]
Short = Annotated[str, StringConstraints(max_length=500), NoNul]
PoolName = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]
# A path parameter that the database can compare: no NUL, at most ID_LENGTH characters.
PATH_TEXT = r"^[^\x00]*$"
IdPath = Annotated[str, Path(pattern=PATH_TEXT, max_length=ID_LENGTH)]
MAX_INT = 2_147_483_647


def utc(value: datetime | None, name: str) -> datetime | None:
    """An aware datetime in UTC; one that UTC cannot represent is a 400."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise bad_request(f"{name}: {value.isoformat()} is out of range") from None


def conflict_doc(text: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a route's 409 answer."""
    return {409: {"model": ErrorBody, "description": text}}

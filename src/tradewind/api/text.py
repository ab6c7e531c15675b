"""Text no database can store is refused once, for every request, before any route sees it.

A lone surrogate (``"\\udfff"`` in a JSON body) cannot be encoded as UTF-8, so the database
driver, the cipher and the JSON response all fail on it; PostgreSQL refuses NUL characters in
text. :data:`CHECKED` is a router dependency that looks at every path parameter, every query
parameter, every form field and every string (keys included) of a JSON body, and answers 400
naming the first place that holds such text. Routes can then take any ``str`` as storable.

:func:`install` adds the safety net behind it: input the database itself refuses (a NUL in
basic-auth credentials, a value too long for its column) is a 400 too, not a 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import DataError

from tradewind.api.errors import bad_request, json_error
from tradewind.metastore.errors import first_line

NUL = "\x00"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def problem(text: str) -> str | None:
    """What is wrong with ``text`` for a database, or None when nothing is."""
    if NUL in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it has a lone surrogate)"
    return None


def _refuse(places: Iterable[tuple[str, str]]) -> None:
    for place, text in places:
        if (found := problem(text)) is not None:
            raise bad_request(f"{place}: {found}")


def _shown(part: str) -> str:
    """A key fit to name in a message (a bad key is shown with its escapes)."""
    return part if problem(part) is None else part.encode("unicode_escape").decode("ascii")


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """``(place, text)`` for every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            place = f"{where}.{_shown(str(key))}" if where else _shown(str(key))
            if isinstance(key, str):
                yield place, key
            yield from _strings(item, place)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


async def refuse_unstorable_text(request: Request) -> None:
    """The dependency behind :data:`CHECKED`: a 400 for the first unstorable text found."""
    _refuse((f"path {name}", value) for name, value in request.path_params.items())
    _refuse((f"query {name}", value) for name, value in request.query_params.multi_items())
    if request.method in SAFE_METHODS:
        return
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in FORMS:
        form = await request.form()
        _refuse((f"form {k}", v) for k, v in form.multi_items() if isinstance(v, str))
        return
    if kind != "application/json" and not kind.endswith("+json"):
        return
    # Both kinds of bad text arrive in JSON only as \u escapes: most bodies skip the walk.
    if b"\\u" not in await request.body():
        return
    try:
        body = await request.json()
    except ValueError:
        return  # not JSON: the route's own validation says so
    _refuse((f"body {place}".rstrip(), text) for place, text in _strings(body, ""))


CHECKED = Depends(refuse_unstorable_text)


def install(app: FastAPI) -> None:
    """Answer 400 when the database refuses a value a request brought."""

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DataError)
        return json_error(400, f"the database cannot store this input: {first_line(str(exc.orig))}")

    app.add_exception_handler(DataError, refused)

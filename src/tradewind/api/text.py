"""Text no database can store is refused once, for every request, before any route sees it.

A lone surrogate (``"\\udfff"`` in a JSON body) cannot be encoded as UTF-8, so the database
driver, the cipher and the JSON response all fail on it; PostgreSQL refuses NUL characters in
text. :data:`CHECKED` is a router dependency that looks at every path parameter, every query
parameter, every form field and every string (keys included) of a JSON body, and answers 400
naming the first place that holds such text. Routes can then take any ``str`` as storable.

:func:`install` adds the safety net behind it: input the database itself refuses (a NUL in
basic-auth credentials, a value too long for its column) is a 400 too, not a 500.
:func:`document` states the rule in the OpenAPI document, as a pattern on every string a
request can carry.
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
# Storable text as the document states it: no NUL. Lone surrogates are refused too but left out
# of the pattern: a class naming them (\uD800-\uDFFF) is not a regex to engines that work on
# Unicode scalar values (jsonschema-rs, so schemathesis, drops the whole pattern), and \p{Cs} is
# not one to Python's. Such engines cannot hold a lone surrogate anyway (it has no UTF-8 form).
PATTERN = r"^[^\x00]*$"
# The document's name for a JSON value made of storable text only (a run's conf, say).
JSON_VALUE = "StorableJsonValue"
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
    _refuse(
        (f"path {name}", value)
        for name, value in request.path_params.items()
        if isinstance(value, str)  # a converted segment (a map index) is a number already
    )
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


def document(openapi: dict[str, Any]) -> None:
    """State in ``openapi`` what :data:`CHECKED` refuses: every string of every parameter and
    request body without a pattern, format or enum of its own (each of which excludes NUL) gets
    :data:`PATTERN`, and free-form JSON in a request (object keys included) becomes
    :data:`JSON_VALUE`."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    ref = f"#/components/schemas/{JSON_VALUE}"
    text = {"type": "string", "pattern": PATTERN}
    schemas[JSON_VALUE] = {
        "description": "Any JSON value whose strings (object keys too) hold no NUL character "
        "and no lone surrogate.",
        "anyOf": [
            text,
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": {"$ref": ref}},
            {
                "type": "object",
                "propertyNames": {"pattern": PATTERN},
                "additionalProperties": {"$ref": ref},
            },
        ],
    }
    storable = _Storable(schemas, ref)
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                storable.apply(parameter.get("schema", {}))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                storable.apply(media.get("schema", {}))


class _Storable:
    """Walks request schemas (and the components they use, once each) adding the text rule."""

    def __init__(self, schemas: dict[str, Any], json_value: str) -> None:
        self.schemas = schemas
        self.json_value = json_value
        self.seen: set[str] = set()

    def apply(self, schema: dict[str, Any]) -> None:
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            if name not in self.seen and name in self.schemas:
                self.seen.add(name)
                self.apply(self.schemas[name])
            return
        for keyword in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(keyword, []):
                self.apply(branch)
        kind = schema.get("type")
        if not kind and not schema.keys() - {"title", "description", "default"}:
            schema["$ref"] = self.json_value  # any JSON value
        elif kind == "string" and not schema.keys() & {"pattern", "format", "enum", "const"}:
            schema["pattern"] = PATTERN
        elif kind == "array" and isinstance(schema.get("items"), dict):
            self.apply(schema["items"])
        elif kind == "object":
            self._object(schema)

    def _object(self, schema: dict[str, Any]) -> None:
        for item in schema.get("properties", {}).values():
            self.apply(item)
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return
        schema["propertyNames"] = {"pattern": PATTERN}
        if isinstance(extra, dict) and extra:
            self.apply(extra)
        else:
            schema["additionalProperties"] = {"$ref": self.json_value}

"""The pieces behind the API's contract with its OpenAPI document: the text rule as the document
states it, the roles enum, RFC 3339 date-times and query parameters that take one value."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import pytest
from fastapi import Query
from pydantic import TypeAdapter, ValidationError

from tradewind.api import query, text
from tradewind.api.routes import fields, users
from tradewind.metastore.store import users as user_store


def test_the_documented_roles_are_the_roles_the_metastore_knows() -> None:
    assert get_args(users.RoleName) == user_store.ROLES


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
        ("2024-05-01t12:00:00.5+02:00", "2024-05-01t12:00:00.5+02:00"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999Z"),
    ],
)
def test_rfc3339_date_times_are_read_as_written(given: str, read: str) -> None:
    assert fields._rfc3339(given) == read


@pytest.mark.parametrize(
    "given", [1700000000, "1700000000", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00Z"]
)
def test_anything_else_is_not_a_date_time(given: object) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        fields._rfc3339(given)


def test_integral_numbers_are_integers_and_nothing_else_is() -> None:
    slots = TypeAdapter(Annotated[int, fields.Integral], config={"strict": True})
    assert slots.validate_python(3.0) == 3
    for bad in (2.5, True, "3"):
        with pytest.raises(ValidationError):
            slots.validate_python(bad)


def test_query_parameters_that_take_several_values_are_told_apart() -> None:
    assert query._takes_many(list[str])
    assert query._takes_many(Annotated[list[str] | None, Query()])
    assert not query._takes_many(str | None)
    assert not query._takes_many(Annotated[int, Query()])


def test_the_document_states_the_text_rule_on_request_strings_only() -> None:
    item = {"type": "string"}
    document: dict[str, Any] = {
        "paths": {
            "/x/{name}": {
                "post": {
                    "parameters": [{"name": "name", "in": "path", "schema": dict(item)}],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        }
                    },
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Out"}}
                            }
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "In": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "note": {"anyOf": [dict(item), {"type": "null"}]},
                        "when": {"type": "string", "format": "date-time"},
                        "run_id": {"type": "string", "pattern": "^[a-z]+$"},
                        "tags": {"type": "array", "items": dict(item)},
                        "conf": {"type": "object", "additionalProperties": True},
                        "anything": {},
                    },
                },
                "Out": {"type": "object", "properties": {"note": dict(item)}},
            }
        },
    }
    text.document(document)
    schemas = document["components"]["schemas"]
    body = schemas["In"]["properties"]
    json_value = {"$ref": f"#/components/schemas/{text.JSON_VALUE}"}
    assert document["paths"]["/x/{name}"]["post"]["parameters"][0]["schema"]["pattern"] == (
        text.PATTERN
    )
    assert body["note"]["anyOf"][0]["pattern"] == text.PATTERN
    assert body["tags"]["items"]["pattern"] == text.PATTERN
    assert "pattern" not in body["when"]
    assert body["run_id"]["pattern"] == "^[a-z]+$"
    assert body["conf"]["additionalProperties"] == json_value
    assert body["conf"]["propertyNames"] == {"pattern": text.PATTERN}
    assert body["anything"]["$ref"] == json_value["$ref"]
    assert "propertyNames" not in schemas["In"]
    assert "pattern" not in schemas["Out"]["properties"]["note"]

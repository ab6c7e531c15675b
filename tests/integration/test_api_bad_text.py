"""Text no database can store (a lone surrogate, a NUL character) is refused with a 400 that
says so, by every operation of the OpenAPI document: in every string field of its body, in
every path and query parameter. Nothing answers 500.

The operations are read from the server's own OpenAPI document, so an endpoint added later is
covered without a change here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from scheduling import make_system_fixture  # noqa: F401
from test_api_tasks import three_finished_runs
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.ui.app import create_app

pytestmark = [
    pytest.mark.parametrize(
        "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
    ),
    pytest.mark.timeout(240),
]

SURROGATE = "\udfff"
NUL = "\x00"
BAD = {"surrogate": SURROGATE, "NUL": NUL}
# Values of path parameters that name what the test made beforehand.
EXISTING = {
    "dag_id": "shape",
    "dag_run_id": "r1",
    "run_id": "r1",
    "task_id": "a",
    "key": "v",
    "connection_id": "c",
    "name": "p",
    "username": "viewer",
    "xcom_key": "return_value",
    "try_number": "1",
    "map_index": "-1",
    "import_error_id": "1",
    "asset_id": "1",
    "asset_alias_id": "1",
    "uri": "s3://bucket/key",
}
# Field values that pass validation, where the schema alone does not say what would.
ONE_TASK = """
with DAG("shape", schedule=None):
    EmptyOperator(task_id="a")
"""
GOOD_FIELDS = {"password": "a-long-enough-password", "slots": 2, "port": 5432}


def seed(web: Web) -> None:
    three_finished_runs(web)
    for path, body in (
        ("/api/v1/variables", {"key": "v", "value": "1"}),
        ("/api/v1/connections", {"connection_id": "c", "conn_type": "http"}),
        ("/api/v1/pools", {"name": "p", "slots": 1}),
    ):
        assert web.post(path, json=body).status_code == 200


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its $ref followed and a nullable anyOf reduced to its non-null branch."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return resolve(document, document["components"]["schemas"][name])
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if branches:
        return resolve(document, branches[0])
    return schema


def good_value(document: dict[str, Any], name: str, schema: dict[str, Any]) -> Any:
    schema = resolve(document, schema)
    if name in GOOD_FIELDS:
        return GOOD_FIELDS[name]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "array":
        return [good_value(document, name, schema.get("items", {}))]
    if kind == "object":
        return {}
    if schema.get("format") == "date-time":
        return "2024-01-01T00:00:00+00:00"
    return "fresh"


def base_body(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = resolve(document, schema)
    return {
        name: good_value(document, name, prop)
        for name, prop in schema.get("properties", {}).items()
        if name in schema.get("required", []) or "string" in json.dumps(prop)
    }


def bad_bodies(
    document: dict[str, Any], schema: dict[str, Any], bad: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The base body with ``bad`` in one string slot at a time (a field, a list item, an
    object's key or value)."""
    body = base_body(document, schema)
    for name, prop in resolve(document, schema).get("properties", {}).items():
        kind = resolve(document, prop).get("type")
        if kind == "string" or (kind is None and "string" in json.dumps(prop)):
            yield name, {**body, name: bad}
        elif kind == "array":
            yield f"{name}[0]", {**body, name: [bad]}
        elif kind == "object":
            yield f"{name} key", {**body, name: {bad: 1}}
            yield f"{name} value", {**body, name: {"k": [bad]}}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in document["paths"].items():
        for method, operation in items.items():
            yield method.upper(), path, operation


def url_of(path: str, values: dict[str, str], query: dict[str, str] | None = None) -> str:
    for name, value in values.items():
        encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
        path = path.replace("{" + name + "}", encoded)
    if query:
        path += "?" + urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    return path


def test_no_operation_answers_500_to_text_a_database_cannot_store(web: Web) -> None:
    seed(web)
    client = TestClient(create_app(web.system.settings), raise_server_exceptions=False)
    headers = {**web.as_("admin"), "Content-Type": "application/json"}
    document = client.get("/api/v1/openapi.json").json()
    sent: list[str] = []
    problems: list[str] = []

    def check(method: str, url: str, where: str, body: Any = None, *, refused: bool) -> None:
        content = None if body is None else json.dumps(body).encode()  # \\udfff stays escaped
        answer = client.request(method, url, content=content, headers=headers)
        sent.append(where)
        if answer.status_code >= 500 or (refused and answer.status_code != 400):
            problems.append(f"{where}: {answer.status_code} {answer.text[:200]}")
        elif refused and "detail" not in answer.json():
            problems.append(f"{where}: no message")

    for method, path, operation in operations(document):
        params = operation.get("parameters", [])
        path_values = {p["name"]: EXISTING[p["name"]] for p in params if p["in"] == "path"}
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
        body = base_body(document, schema["schema"]) if schema else None
        for label, bad in BAD.items():
            for param in params:
                name, kind = param["name"], resolve(document, param["schema"]).get("type")
                if kind not in (None, "string", "array"):
                    continue
                where = f"{method} {path} {param['in']} {name} with a {label}"
                if param["in"] == "path":
                    url = url_of(path, {**path_values, name: f"a{bad}"})
                    # In a URL a lone surrogate arrives as U+FFFD (percent-decoding replaces
                    # what is not UTF-8): only a NUL must be refused there.
                    check(method, url, where, body, refused=bad == NUL)
                elif param["in"] == "query":
                    url = url_of(path, path_values, {name: f"a{bad}"})
                    check(method, url, where, body, refused=bad == NUL)
            if schema is not None:
                for slot, bad_body in bad_bodies(document, schema["schema"], f"a{bad}"):
                    where = f"{method} {path} body {slot} with a {label}"
                    check(method, url_of(path, path_values), where, bad_body, refused=True)
    assert len(sent) > 150
    assert not problems, "\n".join(problems)


def test_forms_pages_and_credentials_with_unstorable_text_answer_400(web: Web) -> None:
    web.system.add_dag("shape", ONE_TASK)
    client = TestClient(create_app(web.system.settings), raise_server_exceptions=False)
    client.get("/login")
    token = client.cookies.get("tradewind_login_csrf")
    form = {"username": "admin\x00", "password": "pw-admin", "csrf_token": token}
    answer = client.post("/login", data=form)
    assert answer.status_code == 400
    assert answer.json()["detail"] == "form username: must not contain NUL characters"
    for user in ("admin\x00", "admin\udfff"):
        basic = base64.b64encode(f"{user}:pw-admin".encode("utf-8", "surrogatepass")).decode()
        answer = client.get("/api/v1/dags", headers={"Authorization": f"Basic {basic}"})
        assert 400 <= answer.status_code < 500, (repr(user), answer.text)
    headers = web.as_("admin")
    for page in ("/dags/a%00", "/dags/shape/runs/a%00/tasks/a", "/dags?tags=a%00"):
        answer = client.get(page, headers=headers)
        assert answer.status_code == 400, (page, answer.text)
        assert "must not contain NUL characters" in answer.json()["detail"]

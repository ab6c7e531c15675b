"""The API and its OpenAPI document agree: the server takes what the document states and no
more (strict types, one value per single-valued query parameter, no unknown body fields), names
every method of a path on a 405, refuses a PATCH that would rename with a documented 409, and
the document states each constraint the server enforces as a schema keyword."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

API = "/api/v1"
DAG = """
with DAG("contract", schedule=None):
    EmptyOperator(task_id="t")
"""


@sqlite_only
def test_a_method_the_path_does_not_take_is_a_405_naming_every_method_it_takes(web: Web) -> None:
    for method, path, allowed in (
        ("PUT", f"{API}/pools", "GET, POST"),
        ("DELETE", f"{API}/variables", "GET, POST"),
        ("PUT", f"{API}/dags/any", "DELETE, GET, PATCH"),
        ("POST", f"{API}/users/any", "DELETE, GET, PATCH"),
        ("GET", "/auth/token", "POST"),
        ("OPTIONS", f"{API}/health", "GET"),
    ):
        answer = web.client.request(method, path, headers=web.as_("admin"))
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed, (method, path)
        assert answer.json()["status"] == 405
        assert allowed in answer.json()["detail"]


@sqlite_only
def test_an_api_path_with_a_trailing_slash_is_a_404_not_a_redirect(web: Web) -> None:
    for path in (f"{API}/variables/", f"{API}/variables/%2F", f"{API}/pools//"):
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "location" not in answer.headers
    # Names that could not be read back at their URL are refused.
    for key in ("a/b", ".", "..", " ", "\t"):
        made = web.post(f"{API}/variables", json={"key": key, "value": "x"})
        assert made.status_code == 400, key
    assert web.post(f"{API}/pools", json={"name": "..", "slots": 1}).status_code == 400
    run = web.post(f"{API}/dags/contract/dagRuns", json={"dag_run_id": "."})
    assert run.status_code in (400, 404)


@sqlite_only
def test_bodies_take_only_the_json_types_and_fields_the_document_states(web: Web) -> None:
    web.system.add_dag("contract", DAG)
    dag = f"{API}/dags/contract"
    for bad in ({"is_paused": 0}, {"is_paused": "true"}, {"is_paused": None}, {}):
        assert web.patch(dag, json=bad).status_code == 400, bad
    assert web.patch(dag, json={"is_paused": False}).json()["is_paused"] is False
    for bad in (
        {"name": "p", "slots": False},
        {"name": "p", "slots": "3"},
        {"name": "p", "slots": 2.5},
        {"name": "p", "slots": 1, "include_deferred": "yes"},
        {"name": "p", "slots": 1, "open_slots": 3},  # not a field of ours
    ):
        answer = web.post(f"{API}/pools", json=bad)
        assert answer.status_code == 400, bad
        assert answer.json()["detail"]
    # A JSON number without a fraction is an integer, as JSON Schema reads it.
    assert web.post(f"{API}/pools", json={"name": "p", "slots": 3.0}).json()["slots"] == 3
    port = web.post(
        f"{API}/connections", json={"connection_id": "c", "conn_type": "x", "port": "1"}
    )
    assert port.status_code == 400
    for when in (1700000000, "1700000000", "2024-01-01 00:00:00Z", "2024-01-01T00:00Z"):
        answer = web.post(f"{dag}/dagRuns", json={"logical_date": when})
        assert answer.status_code == 400, when
        assert "RFC 3339" in answer.json()["detail"]
    # A leap second is the last instant of its minute.
    leap = web.post(f"{dag}/dagRuns", json={"logical_date": "2016-12-31T23:59:60Z"})
    assert leap.status_code == 200, leap.text
    assert leap.json()["logical_date"].startswith("2016-12-31T23:59:59.999999")
    role = web.post(f"{API}/users", json={"username": "u", "password": "p", "role": ""})
    assert role.status_code == 400
    assert "'admin', 'op', 'user' or 'viewer'" in role.json()["detail"]


@sqlite_only
def test_query_parameters_are_read_as_the_document_states_them(web: Web) -> None:
    web.system.add_dag("contract", DAG)
    for params in (
        {"paused": "yes"},
        {"paused": "1"},
        {"only_active": "0"},
        {"dag_id_pattern": ["a", "b"]},  # one value, given twice
        {"limit": ["1", "2"]},
    ):
        answer = web.get(f"{API}/dags", params=params)
        assert answer.status_code == 400, params
        assert answer.json()["detail"]
    paused, active = (
        web.get(f"{API}/dags", params={"paused": flag}).json()["total_entries"]
        for flag in ("true", "false")
    )
    assert (paused, active) in ((1, 0), (0, 1))
    # A parameter that takes several values may repeat.
    assert web.get(f"{API}/dags", params={"tags": ["a", "b"]}).status_code == 200


@sqlite_only
def test_a_patch_that_names_another_resource_is_a_409(web: Web) -> None:
    assert web.post(f"{API}/variables", json={"key": "v", "value": "1"}).status_code == 200
    assert web.post(f"{API}/pools", json={"name": "p", "slots": 1}).status_code == 200
    made = web.post(f"{API}/connections", json={"connection_id": "c", "conn_type": "http"})
    assert made.status_code == 200
    for path, body in (
        (f"{API}/variables/v", {"key": "w", "value": "2"}),
        (f"{API}/pools/p", {"name": "q"}),
        (f"{API}/connections/c", {"connection_id": "d"}),
        (f"{API}/users/viewer", {"username": "someone"}),
    ):
        answer = web.patch(path, json=body)
        assert answer.status_code == 409, path
        assert "cannot be renamed" in answer.json()["detail"]
    # Naming the same one is fine.
    assert web.patch(f"{API}/variables/v", json={"key": "v", "value": "2"}).status_code == 200
    assert web.get(f"{API}/variables/v").json()["value"] == "2"


def _document(web: Web) -> dict[str, Any]:
    document: dict[str, Any] = web.client.get(f"{API}/openapi.json").json()
    return document


def _patterns(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["pattern"]] if isinstance(value.get("pattern"), str) else []
        return found + [p for item in value.values() for p in _patterns(item)]
    if isinstance(value, list):
        return [p for item in value for p in _patterns(item)]
    return []


@sqlite_only
def test_the_document_states_the_constraints_the_server_enforces(web: Web) -> None:
    document = _document(web)
    schemas = document["components"]["schemas"]
    paths = document["paths"]
    assert schemas["UserBody"]["properties"]["role"]["enum"] == ["admin", "op", "user", "viewer"]
    logical = schemas["TriggerRun"]["properties"]["logical_date"]["anyOf"][0]
    assert logical["format"] == "date-time"
    dates = jsonschema_rs.validator_for(logical)
    for inside in ("1000-01-01T00:00:00Z", "9990-12-31T00:00:00Z"):
        assert dates.is_valid(inside)
    for outside in ("0999-12-31T00:00:00Z", "9991-01-01T00:00:00Z"):
        assert not dates.is_valid(outside)
    # Text in requests holds no NUL, wherever it is: body fields, parameters, free-form JSON.
    assert schemas["VariableBody"]["properties"]["value"]["pattern"] == "^[^\\x00]*$"
    dags = {p["name"]: p["schema"] for p in paths[f"{API}/dags"]["get"]["parameters"]}
    assert dags["dag_id_pattern"]["anyOf"][0]["pattern"] == "^[^\\x00]*$"
    conf = schemas["TriggerRun"]["properties"]["conf"]["anyOf"][0]
    assert conf["additionalProperties"] == {"$ref": "#/components/schemas/StorableJsonValue"}
    assert "StorableJsonValue" in schemas
    # Bodies take no field the document does not name.
    bodies = ("VariableBody", "PoolPatch", "ConnectionBody", "UserPatch", "DagPatch", "TriggerRun")
    assert all(schemas[name]["additionalProperties"] is False for name in bodies)
    # Every 409 is documented: a rename, a run id taken, a secret the key cannot read.
    conflicts = {
        ("patch", f"{API}/variables/{{key}}"),
        ("patch", f"{API}/pools/{{name}}"),
        ("patch", f"{API}/connections/{{connection_id}}"),
        ("patch", f"{API}/users/{{username}}"),
        ("post", f"{API}/dags/{{dag_id}}/dagRuns"),
        ("get", f"{API}/variables/{{key}}"),
        ("get", f"{API}/connections"),
    }
    for method, path in conflicts:
        assert "409" in paths[path][method]["responses"], (method, path)
    # No login, so no 401/403; nothing named in the path, so no 404.
    assert not {"401", "403", "404", "429"} & set(paths[f"{API}/version"]["get"]["responses"])
    assert "404" not in paths[f"{API}/variables"]["get"]["responses"]
    assert "401" in paths[f"{API}/variables"]["get"]["responses"]
    # Every pattern is one that JSON Schema validators can use (an ECMA-262 regex).
    for pattern in set(_patterns(document)):
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})

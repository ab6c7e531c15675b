"""The whole OpenAPI document fuzzed with schemathesis: no 5xx, answers as documented.

Every operation runs as admin against a seeded metastore (a DAG registered, a run finished,
a variable, a connection, a pool and an import error), and path parameters often take those
real values, so the fuzzing reaches found resources as well as missing ones.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import ParseImportError
from tradewind.metastore.store import connections as conn_store
from tradewind.metastore.store import pools as pool_store
from tradewind.metastore.store import variables as variable_store
from tradewind.metastore.store.connections import Connection

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SEEDED = """
with DAG("fuzzed", schedule=None, tags=["fuzz"], params={"n": 1}):
    PythonOperator(task_id="t", python_callable=lambda: {"k": [1, 2]})
"""


@pytest.fixture
def seeded(web: Web) -> dict[str, Any]:
    """Real values for path parameters, after registering and running a DAG."""
    web.system.add_dag("fuzzed", SEEDED)
    web.system.add_dag("broken", "raise RuntimeError('does not import')\n")
    run_id = web.system.trigger("fuzzed")
    assert web.system.wait("fuzzed", run_id) == "success"
    cipher = web.client.app.state.web.cipher  # type: ignore[attr-defined]
    with web.system.sessions.begin() as session:
        variable_store.set_variable(session, "v1", "one", cipher)
        conn_store.add_connection(
            session, Connection("c1", "postgres", host="db", password="pw"), cipher
        )
        pool_store.set_pool(session, "p1", 3, "fuzzing")
    with web.system.sessions() as session:
        error_ids = list(session.scalars(select(ParseImportError.id)))
    return {
        "dag_id": "fuzzed",
        "run_id": run_id,
        "dag_run_id": run_id,
        "task_id": "t",
        "try_number": 1,
        "xcom_key": "return_value",
        "key": "v1",
        "connection_id": "c1",
        "name": "p1",
        "username": "viewer",
        "import_error_id": error_ids[0] if error_ids else 1,
    }


FUZZ = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@sqlite_only
def test_every_operation_answers_as_documented(web: Web, seeded: dict[str, Any]) -> None:
    """Valid and invalid requests to every operation; every failure is listed at the end."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web.client.app)
    headers = web.as_("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: Any) -> None:
                _use_seeded(case, seeded)
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                fuzz()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except Exception as exc:
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert operations >= 20
    assert not failures, "\n\n".join(failures)


def _use_seeded(case: Any, seeded: dict[str, Any]) -> None:
    """Half of the cases (decided by the generated data, so shrinking stays stable) ask for
    the seeded resources; DELETE never does, so they stay for the other operations."""
    params = case.path_parameters or {}
    if case.method.upper() != "DELETE" and params and len(str(params)) % 2 == 0:
        for name in params:
            if name in seeded:
                params[name] = seeded[name]

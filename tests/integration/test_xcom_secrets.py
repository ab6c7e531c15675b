"""Secrets a try used never show through its XComs, and a connection's extra is masked at any
depth: a real DAG run echoes a connection's password in a BashOperator (its output is the
XCom); a viewer reads that XCom masked through the API and the UI, while the downstream task
pulls the real value (and writes it to a file the test reads). A value made from it downstream
is masked too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.cli import cli
from tradewind.metastore import crypto
from tradewind.metastore.store import connections as conn_store

PASSWORD = "pw-9f3k2x"
DEEP = "deep-77xq"
API_KEY = "key-55qz"
EXTRA = {
    "auth": {"password": DEEP, "user": "etl"},
    "hosts": [{"name": "a", "api_key": API_KEY}, {"name": "b"}],
    "timeout": 5,
}
MASKED_EXTRA = {
    "auth": {"password": "***", "user": "etl"},
    "hosts": [{"name": "a", "api_key": "***"}, {"name": "b"}],
    "timeout": 5,
}
SECRETS = (PASSWORD, DEEP, API_KEY)

DAG = """
OUT = {out!r}


def use(ti, **context):
    value = ti.xcom_pull(task_ids="leak")
    Path(OUT).write_text(value)
    print("the downstream task got", value)
    return "got " + value


with DAG("leaky", schedule=None):
    leak = BashOperator(task_id="leak", bash_command="echo {{{{ conn.warehouse.password }}}}")
    deep = BashOperator(
        task_id="deep", bash_command="echo {{{{ conn.warehouse.extra_dejson.auth.password }}}}"
    )
    leak >> PythonOperator(task_id="use", python_callable=use)
"""


def xcom_url(run_id: str, task_id: str, key: str = "") -> str:
    url = f"/api/v1/dags/leaky/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
    return url + (f"/{key}" if key else "")


def add_connection(web: Web) -> None:
    body = {
        "connection_id": "warehouse",
        "conn_type": "postgres",
        "password": PASSWORD,
        "extra": json.dumps(EXTRA),
    }
    assert web.post("/api/v1/connections", user="op", json=body).status_code == 200


def finished_run(web: Web, out: Path) -> str:
    add_connection(web)
    web.system.add_dag("leaky", DAG.format(out=str(out)))
    run_id = web.system.trigger("leaky")
    assert web.system.wait("leaky", run_id) == "success"
    return run_id


def no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_an_echoed_password_is_masked_for_viewers_and_real_for_the_next_task(
    web: Web, tmp_path: Path
) -> None:
    out = tmp_path / "downstream-got.txt"
    run_id = finished_run(web, out)
    # The downstream task pulled the real value.
    assert out.read_text() == PASSWORD
    # A viewer sees it masked: the list, one entry, the download.
    listed = web.get(xcom_url(run_id, "leak"), user="viewer")
    assert listed.status_code == 200, listed.text
    [entry] = listed.json()["xcom_entries"]
    assert entry["key"] == "return_value"
    assert entry["value"] == "***"
    assert entry["value_masked"] is True
    one = web.get(xcom_url(run_id, "leak", "return_value"), user="viewer").json()
    assert (one["value"], one["value_masked"]) == ("***", True)
    whole = web.get(xcom_url(run_id, "leak", "return_value") + "/value", user="viewer")
    assert whole.status_code == 200
    assert whole.json() == "***"
    # What the downstream task made of it is masked too (it knew the secret from the XCom).
    made = web.get(xcom_url(run_id, "use"), user="viewer").json()["xcom_entries"]
    assert [(x["value"], x["value_masked"]) for x in made] == [("got ***", True)]
    # A secret deep in the extra is masked in the log and the XCom of the try that used it.
    deep = web.get(xcom_url(run_id, "deep"), user="viewer").json()["xcom_entries"]
    assert [(x["value"], x["value_masked"]) for x in deep] == [("***", True)]
    for task_id in ("leak", "use", "deep"):
        base = f"/api/v1/dags/leaky/dagRuns/{run_id}/taskInstances/{task_id}"
        log = web.get(f"{base}/logs/1", user="viewer")
        assert log.status_code == 200
        no_secret_in(log.text)
        rendered = web.get(f"{base}/renderedFields", user="viewer")
        no_secret_in(rendered.text)
    # The task page of the UI (its XCom tab is rendered on the server).
    page = web.get(f"/dags/leaky/runs/{run_id}/tasks/leak", user="viewer")
    assert page.status_code == 200
    no_secret_in(page.text)
    # XComs of tries that used no secret are shown as they are.
    assert web.system.xcom("leaky", run_id, "leak") == PASSWORD


@sqlite_only
def test_connection_extra_is_masked_at_any_depth_and_survives_an_edit(web: Web) -> None:
    add_connection(web)
    got = web.get("/api/v1/connections/warehouse", user="op").json()
    assert json.loads(got["extra"]) == MASKED_EXTRA
    listed = web.get("/api/v1/connections", user="op").json()["connections"]
    assert [json.loads(c["extra"]) for c in listed] == [MASKED_EXTRA]
    # The client sends back what it read, with one field changed: the secrets stay.
    edited = {**MASKED_EXTRA, "timeout": 9}
    answer = web.patch(
        "/api/v1/connections/warehouse", user="op", json={"extra": json.dumps(edited)}
    )
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.json()["extra"]) == {**MASKED_EXTRA, "timeout": 9}
    cipher = crypto.Cipher(web.system.settings.core.fernet_key)
    with web.system.sessions() as session:
        stored = conn_store.get_connection(session, "warehouse", cipher)
    assert stored is not None
    assert stored.extra_dejson == {**EXTRA, "timeout": 9}
    # The command line shows the same.
    runner = CliRunner()
    settings = web.system.settings
    for args in (["connections", "get", "warehouse", "-o", "json"], ["connections", "list"]):
        result = runner.invoke(cli, [*args, "-o", "json"] if "list" in args else args, obj=settings)
        assert result.exit_code == 0, result.output
        no_secret_in(result.output)
        shown: Any = json.loads(result.output)
        row = shown[0] if isinstance(shown, list) else shown
        assert json.loads(row["extra"]) == {**MASKED_EXTRA, "timeout": 9}

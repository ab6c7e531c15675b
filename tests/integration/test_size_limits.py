"""Size limits: request bodies, run conf, variable values and XCom values over their limits are
refused with an error that names the limit and its setting (a 413, a one-line CLI error, a
failed try); large values that are within them are shown cut in the API and the UI, with a
download that gives all of it; the audit log keeps a bounded rendition of a large conf.

Against the real app (over a real uvicorn server for the request bodies) and real task runs.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from click.testing import CliRunner
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.cli import cli
from tradewind.states import TaskState
from tradewind.ui.app import create_app

pytestmark = sqlite_only
API = "/api/v1"
MB = 1024 * 1024


def cli_run(web: Web, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=web.system.settings)


def one_line_error(result: Any, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    for text in expected:
        assert text in result.output, result.output


def too_large(answer: Any, *expected: str) -> None:
    assert answer.status_code == 413, answer.text[:300]
    body = answer.json()
    assert body["status"] == 413
    for text in expected:
        assert text in body["detail"], body["detail"]


# ---- request bodies ------------------------------------------------------------------------


def http_exchange(base: str, head: str, chunk: bytes = b"") -> tuple[int, dict[str, Any], int]:
    """Send a request head, then ``chunk`` again and again (up to 200 MB, a body that does not
    end) until the server answers; the status and body of the answer, and how much was sent."""
    address = urlsplit(base)
    answered = threading.Event()
    received: list[bytes] = []
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:

        def read() -> None:
            # The server closes the connection after its answer; it resets it when body bytes
            # it did not read are left, after the answer.
            with contextlib.suppress(ConnectionResetError):
                while data := sock.recv(65536):
                    received.append(data)
                    answered.set()
            answered.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sock.sendall(head.encode())
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while chunk and not answered.is_set() and sent < 200 * MB:
                sock.sendall(chunk)
                sent += len(chunk)
        reader.join(60)
    head_text, _, body = b"".join(received).partition(b"\r\n\r\n")
    return int(head_text.split()[1]), json.loads(body), sent


def test_request_bodies_over_the_limit_are_refused_before_they_are_read(
    make_web: Callable[..., Web],
) -> None:
    web = make_web(webserver={"max_request_body_mb": 1})
    token = web.as_("op")["Authorization"]
    head = (
        "POST /api/v1/variables HTTP/1.1\r\nHost: tradewind\r\n"
        f"Authorization: {token}\r\nContent-Type: application/json\r\n"
    )
    with shots.serving(create_app(web.system.settings)) as base:
        # 200 MB announced: the answer comes before a byte of the body is sent.
        status, body, _ = http_exchange(base, head + f"Content-Length: {200 * MB}\r\n\r\n")
        assert status == 413
        assert body["detail"] == (
            "the request body is larger than 1 MB (webserver.max_request_body_mb)"
        )
        # Chunked, without a length: refused once 1 MB has come, though the body never ends.
        piece = b'{"key": "big", "value": "' + b"x" * (64 * 1024)
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        chunked = head + "Transfer-Encoding: chunked\r\n\r\n"
        status, body, sent = http_exchange(base, chunked, chunk)
        assert status == 413
        assert sent < 100 * MB  # answered long before the body could end
        assert "webserver.max_request_body_mb" in body["detail"]
    # In-process too, and nothing was stored.
    big = {"key": "big", "value": "x" * (2 * MB)}
    too_large(web.post(f"{API}/variables", user="op", json=big), "webserver.max_request_body_mb")
    assert web.get(f"{API}/variables/big", user="op").status_code == 404
    # The OpenAPI document says so for every operation with a body.
    document = web.client.get(f"{API}/openapi.json").json()
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                assert "413" in operation["responses"], operation["operationId"]


# ---- run conf ------------------------------------------------------------------------------

ONE_TASK = """
with DAG("one", schedule=None):
    EmptyOperator(task_id="a")
"""


def test_conf_over_the_limit_is_refused_and_a_large_one_is_shown_cut(
    make_web: Callable[..., Web],
) -> None:
    web = make_web(core={"max_conf_mb": 0.05}, webserver={"display_value_kb": 8})
    web.system.add_dag("one", ONE_TASK)
    runs = f"{API}/dags/one/dagRuns"
    over = {"rows": ["y" * 100] * 600}  # ~62 KB of JSON
    answer = web.post(runs, user="user", json={"dag_run_id": "over", "conf": over})
    too_large(answer, "conf is ", "over the limit of 51.2 KB (core.max_conf_mb)")
    one_line_error(
        cli_run(web, "dags", "trigger", "one", "-c", json.dumps(over)), "core.max_conf_mb"
    )
    assert web.get(f"{runs}/over", user="viewer").status_code == 404
    # Within the limit: stored whole, shown cut, downloadable whole.
    within = {"rows": ["z" * 100] * 400, "region": "eu"}
    made = web.post(runs, user="user", json={"dag_run_id": "within", "conf": within})
    assert made.status_code == 200, made.text
    shown = web.get(f"{runs}/within", user="viewer").json()
    assert shown["conf_truncated"] is True
    assert shown["conf_size"] == len(json.dumps(within).encode())
    assert isinstance(shown["conf"], str)
    assert json.dumps(within).startswith(shown["conf"])
    assert len(shown["conf"].encode()) <= 8 * 1024
    whole = web.get(f"{runs}/within/conf", user="viewer")
    assert whole.status_code == 200
    assert "attachment" in whole.headers["content-disposition"]
    assert whole.json() == within
    listed = web.get(runs, user="viewer").json()["dag_runs"]
    assert [r["conf_truncated"] for r in listed] == [True]
    # The UI's run panel shows it cut, with the download link.
    panel = web.get("/ui/dags/one/runs/within/panel", user="viewer")
    assert panel.status_code == 200
    assert f'href="{runs}/within/conf"' in panel.text
    assert len(panel.text) < 16 * 1024
    # The audit log keeps a bounded rendition of it.
    [entry] = web.get(f"{API}/eventLogs?event=trigger", user="viewer").json()["event_logs"]
    assert len(json.dumps(entry["extra"])) < 8 * 1024
    assert "characters)" in entry["extra"]["conf"]


# ---- variables -----------------------------------------------------------------------------


def test_variables_over_the_limit_are_refused_and_a_large_one_is_shown_cut(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web(core={"max_variable_mb": 0.05}, webserver={"display_value_kb": 8})
    variables = f"{API}/variables"
    over = "v" * 60_000
    setting = "over the limit of 51.2 KB (core.max_variable_mb)"
    too_large(web.post(variables, user="op", json={"key": "big", "value": over}), setting)
    one_line_error(cli_run(web, "variables", "set", "big", over), setting)
    dump = tmp_path / "vars.json"
    dump.write_text(json.dumps({"big": over}))
    one_line_error(cli_run(web, "variables", "import", str(dump)), setting)
    assert web.get(f"{variables}/big", user="op").status_code == 404
    # Within the limit: shown cut (in the list and alone), downloadable whole.
    within = "w" * 40_000
    assert web.post(variables, user="op", json={"key": "big", "value": within}).status_code == 200
    too_large(web.patch(f"{variables}/big", user="op", json={"value": over}), setting)
    for shown in (
        web.get(f"{variables}/big", user="op").json(),
        web.get(variables, user="op").json()["variables"][0],
    ):
        assert shown["value_truncated"] is True
        assert shown["value_size"] == 40_000
        assert shown["value"] == "w" * 8192
    whole = web.get(f"{variables}/big/value", user="op")
    assert whole.status_code == 200
    assert whole.text == within
    # A change of the description alone keeps the value as it is.
    edited = web.patch(f"{variables}/big", user="op", json={"description": "large"})
    assert edited.status_code == 200, edited.text
    assert web.get(f"{variables}/big/value", user="op").text == within
    assert web.get(f"{variables}/big/value", user="viewer").status_code == 403


# ---- XComs ---------------------------------------------------------------------------------

XCOMS = """
def pushes_too_much(ti, **context):
    ti.xcom_push(key="rows", value=["r" * 100] * 600)


def returns_too_much():
    return "x" * 60_000


def returns_a_lot():
    return [{"row": i, "text": "t" * 80} for i in range(400)]


with DAG("xcoms", schedule=None):
    PythonOperator(task_id="pushes_too_much", python_callable=pushes_too_much)
    PythonOperator(task_id="returns_too_much", python_callable=returns_too_much)
    PythonOperator(task_id="returns_a_lot", python_callable=returns_a_lot)
"""


def test_xcoms_over_the_limit_fail_their_try_and_a_large_one_is_shown_cut(
    make_web: Callable[..., Web],
) -> None:
    web = make_web(core={"max_xcom_mb": 0.05}, webserver={"display_value_kb": 8})
    system = web.system
    system.add_dag("xcoms", XCOMS)
    run_id = system.trigger("xcoms")
    assert system.wait("xcoms", run_id) == "failed"
    states = system.states("xcoms", run_id)
    assert states["pushes_too_much"] == TaskState.FAILED
    assert states["returns_too_much"] == TaskState.FAILED
    assert states["returns_a_lot"] == TaskState.SUCCESS
    base = f"{API}/dags/xcoms/dagRuns/{run_id}/taskInstances"
    for task_id, what in (
        ("pushes_too_much", "XCom 'rows' of task 'pushes_too_much' is 60.9 KB"),
        ("returns_too_much", "the return value of task 'returns_too_much' is 58.6 KB"),
    ):
        log = web.get(f"{base}/{task_id}/logs/1", user="viewer")
        assert what in log.text, log.text
        assert "over the limit of 51.2 KB (core.max_xcom_mb)" in log.text
        # Nothing of it was stored.
        assert web.get(f"{base}/{task_id}/xcomEntries", user="viewer").json()["xcom_entries"] == []
    # Within the limit: shown cut, downloadable whole, and the next task would pull it whole.
    full = [{"row": i, "text": "t" * 80} for i in range(400)]
    [entry] = web.get(f"{base}/returns_a_lot/xcomEntries", user="viewer").json()["xcom_entries"]
    assert entry["value_truncated"] is True
    assert entry["value_size"] == len(json.dumps(full).encode())
    assert json.dumps(full).startswith(entry["value"])
    whole = web.get(f"{base}/returns_a_lot/xcomEntries/return_value/value", user="viewer")
    assert whole.status_code == 200
    assert whole.json() == full
    assert system.xcom("xcoms", run_id, "returns_a_lot") == full
    page = web.get(f"/dags/xcoms/runs/{run_id}/tasks/returns_a_lot", user="viewer")
    run = quote(run_id, safe="")
    link = f"/dags/xcoms/dagRuns/{run}/taskInstances/returns_a_lot/xcomEntries/return_value/value"
    assert f'href="{API}{link}"' in page.text
    assert len(page.text) < 64 * 1024

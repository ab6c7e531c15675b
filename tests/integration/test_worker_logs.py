"""Logs of tries that ran on a Celery worker: the worker's log server, and the API reading from it.

- The log server alone, on a temporary folder: offsets, bad bytes, a character cut at the end,
  the 1 MiB limit; 403 for paths leading out of the folder and for missing, foreign, expired or
  other paths' tokens; 404 for missing files, folders and any other request.
- The API of a web server whose log folder is empty reads a try's log from the log server of
  the host that ran it (the hostname recorded with the try), and says so when it does not answer.
- End to end: a real ``tradewind celery worker`` with a log folder of its own runs a try whose
  log the API shows while it runs and after it ended.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celerytest import (  # noqa: F401
    WorkerSpec,
    brokers_fixture,
    celery_sections,
    celery_workers,
    isolate,
)
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from scheduling import make_system_fixture, running_system, sqlite_only, system_sections  # noqa: F401
from webtest import WEB_SECTIONS, Web, add_user, make_web_fixture, web_fixture  # noqa: F401

from tradewind.executors.celery.logserver import LogServer
from tradewind.executors.served_logs import TOKEN_SALT, fetch_log, make_token
from tradewind.settings import Settings
from tradewind.tasklogs import READ_LIMIT, LogChunk, log_path, read_log
from tradewind.ui.app import create_app
from tradewind.workloads import TaskKey

API = "/api/v1"
SECRET = "worker-log-test-key"
SECRET_KEY = WEB_SECTIONS["webserver"]["secret_key"]  # the web server's
RELATIVE = "dag_id=d/run_id=manual__2026-01-01T00:00:00+00:00/task_id=t/attempt=1.log"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, LogServer]]:
    folder = tmp_path / "logs"
    folder.mkdir()
    server = LogServer(folder, SECRET, "127.0.0.1", 0).start()
    yield folder, server
    server.close()


def request(
    server: LogServer, path: str, token: str | None = None, method: str = "GET"
) -> tuple[int, Any]:
    """Status and JSON body of a raw request (the path is sent exactly as given)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else None
    finally:
        connection.close()


def fetch(server: LogServer, relative: str, offset: int = 0, final: bool = False) -> LogChunk:
    return fetch_log("127.0.0.1", server.port, SECRET, relative, offset, final=final)


def write(folder: Path, relative: str, data: bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_the_log_server_reads_as_read_log_does(served: tuple[Path, LogServer]) -> None:
    folder, server = served
    data = "line é\n".encode() + b"\xff bad\n" + "ü".encode()[:1]
    path = write(folder, RELATIVE, data)

    live = fetch(server, RELATIVE)
    assert live == read_log(path, 0)
    # The bad byte is replaced; the cut character waits for the rest of it.
    assert live == LogChunk("line é\n\ufffd bad\n", len(data) - 1, False)
    assert fetch(server, RELATIVE, final=True) == read_log(path, 0, final=True)
    assert fetch(server, RELATIVE, final=True).at_end
    assert fetch(server, RELATIVE, 3) == read_log(path, 3)
    assert fetch(server, RELATIVE, len(data) + 5) == LogChunk("", len(data) + 5, True)

    big = write(folder, "big.log", b"a" * (READ_LIMIT + 10))
    first = fetch(server, "big.log")
    assert (first.offset, first.at_end) == (READ_LIMIT, False)
    assert fetch(server, "big.log", first.offset) == read_log(big, first.offset)
    assert fetch(server, "big.log", first.offset) == LogChunk("a" * 10, READ_LIMIT + 10, True)

    # No such file: an empty chunk at its end, as for a missing local file.
    assert fetch(server, "nope.log", 7) == LogChunk("", 7, True)
    assert request(server, "/log/nope.log", make_token(SECRET, "nope.log"))[0] == 404
    status, body = request(server, "/log/big.log?offset=x", make_token(SECRET, "big.log"))
    assert status == 400, body


def _expired_token(relative: str) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 3600

    return URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT, signer=Past).dumps(relative)


def test_the_log_server_refuses_escapes_and_bad_tokens(
    served: tuple[Path, LogServer], tmp_path: Path
) -> None:
    folder, server = served
    write(folder, RELATIVE, b"hello\n")
    (tmp_path / "secret.log").write_text("secret\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.log").write_text("secret\n")
    (folder / "link.log").symlink_to(tmp_path / "secret.log")
    (folder / "linked").symlink_to(tmp_path / "outside")
    good = "/log/" + RELATIVE.replace("+", "%2B")
    assert request(server, good, make_token(SECRET, RELATIVE))[0] == 200

    # Tokens: none, not one, another key's, another path's, expired.
    assert request(server, good)[0] == 403
    assert request(server, good, "not-a-token")[0] == 403
    other_key = URLSafeTimedSerializer("another key", salt=TOKEN_SALT).dumps(RELATIVE)
    assert request(server, good, other_key)[0] == 403
    assert request(server, good, make_token(SECRET, "big.log"))[0] == 403
    assert request(server, good, _expired_token(RELATIVE))[0] == 403

    # Paths out of the folder, even with a token naming them.
    for sent, named in [
        ("/log/../secret.log", "../secret.log"),
        ("/log/%2E%2E/secret.log", "../secret.log"),
        ("/log/dag_id=d/../../secret.log", "dag_id=d/../../secret.log"),
        ("/log//etc/passwd", "/etc/passwd"),
        ("/log/link.log", "link.log"),
        ("/log/linked/x.log", "linked/x.log"),
    ]:
        status, body = request(server, sent, make_token(SECRET, named))
        assert status == 403, (sent, body)
        assert "secret" not in json.dumps(body)

    # No listings, no other routes or methods.
    assert request(server, "/log/dag_id=d", make_token(SECRET, "dag_id=d"))[0] == 404
    assert request(server, "/log/", make_token(SECRET, ""))[0] in (403, 404)
    assert request(server, "/", make_token(SECRET, ""))[0] == 404
    assert request(server, "/logs/" + RELATIVE, make_token(SECRET, RELATIVE))[0] == 404
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        assert request(server, good, make_token(SECRET, RELATIVE), method)[0] == 404, method


# ---- the API reads from the worker ----------------------------------------------------------

FLAKY = """
def flaky(ti=None):
    print("try", ti.try_number, "héllo")
    if ti.try_number == 1:
        raise RuntimeError("first try fails")

with DAG("wlogs", schedule=None):
    PythonOperator(
        task_id="flaky", python_callable=flaky, retries=1, retry_delay=timedelta(seconds=0)
    )
"""


def _logs(dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    return f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"


def web_settings(settings: Settings, folder: Path, port: int, executor: str = "celery") -> Settings:
    """The web server's settings: its own log folder, the workers' log server port."""
    return settings.model_copy(
        update={
            "core": settings.core.model_copy(update={"executor": executor}),
            "logging": settings.logging.model_copy(update={"base_log_folder": folder}),
            "celery": settings.celery.model_copy(update={"worker_log_server_port": port}),
        }
    )


def other_web(web: Web, folder: Path, port: int, executor: str = "celery") -> TestClient:
    client = TestClient(create_app(web_settings(web.system.settings, folder, port, executor)))
    web.extra_clients.append(client)
    return client


@sqlite_only
def test_the_api_reads_a_try_log_from_the_worker_that_ran_it(web: Web, tmp_path: Path) -> None:
    web.system.add_dag("wlogs", FLAKY)
    run_id = web.system.trigger("wlogs")
    assert web.system.wait("wlogs", run_id) == "success"
    assert web.system.instance("wlogs", run_id, "flaky").hostname == socket.gethostname()
    first, second = _logs("wlogs", run_id, "flaky", 1), _logs("wlogs", run_id, "flaky", 2)
    # The tries' logs are in the system's folder; the worker serves it, on every interface.
    worker = LogServer(web.system.settings.logging.base_log_folder, SECRET_KEY, "0.0.0.0", 0)
    worker.start()
    own = tmp_path / "web-logs"
    own.mkdir()
    client = other_web(web, own, worker.port)
    viewer = web.as_("viewer")
    try:
        for path in (first, second):
            local = web.get(path).json()
            remote = client.get(path, headers=viewer)
            assert remote.status_code == 200, remote.text
            assert remote.json() == local
            assert local["end_of_log"] is True
        assert "first try fails" in client.get(first, headers=viewer).json()["content"]
        tail = client.get(second, headers=viewer, params={"offset": 5}).json()
        assert tail == web.get(second, params={"offset": 5}).json()
        text = client.get(second, headers={**viewer, "Accept": "text/plain"})
        assert text.text == web.get(second).json()["content"]
        assert text.headers["x-log-end"] == "true"
        assert "x-log-note" not in text.headers
        assert not any(own.iterdir())

        # Another web server of the same installation on the local executor does not ask.
        local_only = other_web(web, own, worker.port, executor="local")
        assert local_only.get(second, headers=viewer).json() == {
            "content": "",
            "offset": 0,
            "end_of_log": True,
        }
    finally:
        worker.close()

    # The worker is gone: an empty answer that says so, not an error.
    gone = client.get(second, headers=viewer)
    assert gone.status_code == 200
    body = gone.json()
    assert (body["content"], body["offset"], body["end_of_log"]) == ("", 0, True)
    assert f"worker {socket.gethostname()}, which does not answer" in body["note"]
    assert f"http://{socket.gethostname()}:{worker.port}" in body["note"]
    text = client.get(second, headers={**viewer, "Accept": "text/plain"})
    assert text.text == ""
    assert "does not answer" in text.headers["x-log-note"]


@sqlite_only
def test_a_worker_with_another_key_is_named_in_the_note(web: Web, tmp_path: Path) -> None:
    web.system.add_dag("wlogs", FLAKY)
    run_id = web.system.trigger("wlogs")
    assert web.system.wait("wlogs", run_id) == "success"
    folder = web.system.settings.logging.base_log_folder
    worker = LogServer(folder, "not the web server's key", "0.0.0.0", 0).start()
    try:
        client = other_web(web, tmp_path, worker.port)
        body = client.get(_logs("wlogs", run_id, "flaky", 2), headers=web.as_("viewer")).json()
    finally:
        worker.close()
    assert body["content"] == ""
    assert "webserver.secret_key" in body["note"]


# ---- end to end: a real worker with a log folder of its own ---------------------------------

LIVE = """
def talk(gate, ti=None):
    print("started on the worker", flush=True)
    wait_for(gate)
    print("done on the worker", flush=True)

with DAG("live", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    PythonOperator(task_id="talk", python_callable=talk, op_args=["{gate}"])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.postgres
def test_a_celery_worker_serves_the_log_of_its_try_live(
    brokers: Any, databases: Any, tmp_path: Path, make_settings: Any
) -> None:
    iso = isolate(brokers, "redis")
    url, drop = databases.migrated("postgres", tmp_path)
    dags = tmp_path / "dags"
    dags.mkdir()
    port = free_port()
    sections = system_sections(
        webserver=WEB_SECTIONS["webserver"],
        core={**WEB_SECTIONS["core"], "executor": "celery", "dags_folder": str(dags)},
        celery=celery_sections(iso, worker_log_server_port=port),
    )
    try:
        settings: Settings = make_settings(tmp_path, url, **sections)
        worker_folder = tmp_path / "worker-logs"
        worker_settings = settings.model_copy(
            update={
                "logging": settings.logging.model_copy(update={"base_log_folder": worker_folder})
            }
        )
        gate = tmp_path / "gate"
        with (
            celery_workers(worker_settings, WorkerSpec("w1", concurrency=2)),
            running_system(settings, dags) as system,
            TestClient(create_app(settings)) as client,
        ):
            add_user(system, "viewer", "viewer")
            headers = Web(system, client).as_("viewer")
            system.add_dag("live", LIVE.format(gate=gate))
            run_id = system.trigger("live")
            path = _logs("live", run_id, "talk", 1)
            seen: list[dict[str, Any]] = []

            def started() -> bool:
                answer = client.get(path, headers=headers)  # 404 until the try is made
                seen.append(answer.json())
                return answer.status_code == 200 and "started on the worker" in answer.text

            assert system.run_until(started, timeout=90), seen[-3:]
            live = seen[-1]
            assert live["end_of_log"] is False
            assert "note" not in live
            gate.touch()
            assert system.wait("live", run_id, timeout=60) == "success"
            rest = client.get(path, headers=headers, params={"offset": live["offset"]}).json()
            whole = client.get(path, headers=headers).json()
        key = TaskKey("live", run_id, "talk", -1, 1)
        assert not log_path(settings.logging.base_log_folder, key).exists()
        on_worker = log_path(worker_folder, key)
        assert whole["content"] == on_worker.read_text()
        assert whole["end_of_log"] is True
        assert "done on the worker" in rest["content"]
        assert rest["end_of_log"] is True
        assert live["content"] + rest["content"] == whole["content"]
    finally:
        drop()

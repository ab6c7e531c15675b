"""Reading a try's log through the REST API: offsets, end of log, text, and bad bytes."""

from __future__ import annotations

from pathlib import Path

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.tasklogs import log_path, read_log
from tradewind.workloads import TaskKey

API = "/api/v1"

FLAKY = """
def flaky(ti=None):
    print("try", ti.try_number, "héllo")
    if ti.try_number == 1:
        raise RuntimeError("first try fails")
    return {"rows": 3}

with DAG("logs", schedule=None):
    PythonOperator(
        task_id="flaky", python_callable=flaky, retries=1, retry_delay=timedelta(seconds=0)
    )
"""


def _logs(run_id: str, try_number: int) -> str:
    return f"{API}/dags/logs/dagRuns/{run_id}/taskInstances/flaky/logs/{try_number}"


@sqlite_only
def test_each_try_has_its_log_and_xcoms(web: Web) -> None:
    web.system.add_dag("logs", FLAKY)
    run_id = web.system.trigger("logs")
    assert web.system.wait("logs", run_id) == "success"

    first = web.get(_logs(run_id, 1), user="viewer")
    assert first.status_code == 200, first.text
    body = first.json()
    assert "try 1 héllo" in body["content"]
    assert "first try fails" in body["content"]
    assert body["end_of_log"] is True
    assert body["offset"] == len(body["content"].encode())
    second = web.get(_logs(run_id, 2)).json()
    assert "try 2 héllo" in second["content"]
    assert second["end_of_log"]

    # Following from the offset reached gives nothing more.
    again = web.get(_logs(run_id, 2), params={"offset": second["offset"]}).json()
    assert again == {"content": "", "offset": second["offset"], "end_of_log": True}
    tail = web.get(_logs(run_id, 2), params={"offset": 5}).json()
    assert second["content"].encode()[5:].decode() == tail["content"]

    text = web.client.get(_logs(run_id, 1), headers={**web.as_("viewer"), "Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == body["content"]
    assert text.headers["x-log-offset"] == str(body["offset"])
    assert text.headers["x-log-end"] == "true"

    for path in (
        _logs(run_id, 3),
        _logs(run_id, 1).replace("/flaky/", "/nope/"),
        _logs("no-run", 1),
    ):
        missing = web.get(path)
        assert missing.status_code == 404, path
    assert web.get(_logs(run_id, 0)).status_code == 400
    assert web.get(_logs(run_id, 1), params={"offset": -1}).status_code == 400

    xcoms = f"{API}/dags/logs/dagRuns/{run_id}/taskInstances/flaky/xcomEntries"
    listed = web.get(xcoms, user="viewer").json()
    assert listed["total_entries"] == 1
    assert listed["xcom_entries"][0]["key"] == "return_value"
    assert listed["xcom_entries"][0]["value"] == {"rows": 3}
    one = web.get(f"{xcoms}/return_value").json()
    assert one["value"] == {"rows": 3}
    assert one["dag_run_id"] == run_id
    assert web.get(f"{xcoms}/other").status_code == 404
    assert web.get(xcoms.replace("/flaky/", "/nope/")).status_code == 404


@sqlite_only
def test_a_running_try_is_followed_to_its_end(web: Web, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    web.system.add_dag(
        "slow",
        f"""
        def slow():
            print("started", flush=True)
            wait_for({str(gate)!r})
            print("finished", flush=True)

        with DAG("slow", schedule=None):
            PythonOperator(task_id="slow", python_callable=slow)
        """,
    )
    run_id = web.system.trigger("slow")
    path = f"{API}/dags/slow/dagRuns/{run_id}/taskInstances/slow/logs/1"
    started: dict[str, object] = {}

    def has_started() -> bool:
        answer = web.get(path)
        if answer.status_code == 200 and "started" in answer.json()["content"]:
            started.update(answer.json())
            return True
        return False

    assert web.system.run_until(has_started)
    assert started["end_of_log"] is False
    gate.touch()
    assert web.system.wait("slow", run_id) == "success"
    rest = web.get(path, params={"offset": started["offset"]}).json()
    assert "finished" in rest["content"]
    assert "started" not in rest["content"]
    assert rest["end_of_log"] is True


def test_read_log_decodes_bad_and_cut_bytes(tmp_path: Path) -> None:
    path = log_path(tmp_path, TaskKey("d", "r/1", "t", -1, 1))
    assert read_log(path, 0).content == ""  # no file yet
    path.parent.mkdir(parents=True)
    data = "añb€".encode() + b"\xff\xfe" + b"z"
    path.write_bytes(data)
    whole = read_log(path, 0, final=True)
    assert whole.content == "añb€\ufffd\ufffdz"
    assert whole.at_end
    assert whole.offset == len(data)
    # A cut inside "€" (3 bytes from offset 4): the chunk stops before it, the next read has it.
    cut = read_log(path, 0, limit=5)
    assert cut.content == "añb"
    assert cut.offset == 4
    assert not cut.at_end
    rest = read_log(path, cut.offset, final=True)
    assert rest.content == "€\ufffd\ufffdz"
    # A writer stopped mid-character: left for later unless nothing more comes.
    path.write_bytes("x€".encode()[:-1])
    assert read_log(path, 0).content == "x"
    assert read_log(path, 0).offset == 1
    assert read_log(path, 0, final=True).content == "x\ufffd"
    # Starting inside a character, or past the end, never fails.
    assert read_log(path, 2, final=True).content == "\ufffd"
    assert read_log(path, 100).content == ""

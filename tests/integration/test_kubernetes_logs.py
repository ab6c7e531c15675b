"""A try's log on the kubernetes executor, read through the REST API (what the UI shows).

The pod's log is the try's log (``tradewind tasks run --log-to-stdout``): while the pod runs, the
web server reads it from the pod through the Kubernetes API (the stand-in here); when the pod
ends, the scheduler keeps it in the try's log file before deleting the pod, so it stays
readable, and the text a reader followed live goes on at the same offset. A web server with
another log folder reads a pod that is kept from the pod, and says so when the pod is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from k8s import k8s_fixture  # noqa: F401
from scheduling import make_system_fixture  # noqa: F401
from test_kubernetes_executor import HANG_GUARD, kube_sections, started
from webtest import Web, make_web_fixture  # noqa: F401

from k8s_standin import OUTCOME_ANNOTATION, Standin
from tradewind.executors.base import REPORT_TAG
from tradewind.executors.kubernetes import podspec
from tradewind.tasklogs import log_path
from tradewind.ui.app import create_app
from tradewind.workloads import TaskKey

pytestmark = pytest.mark.parametrize(
    "db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]
)

API = "/api/v1"

TALK = """
def talk(ti=None):
    print("step one", flush=True)
    work({journal!r}, gate={gate!r}, ti=ti)
    print("step two")

def fail():
    print("about to fail")
    raise ValueError("bad rows")

with DAG("k8s_logs", schedule=None, default_args={{"retries": 0}}):
    PythonOperator(task_id="talk", python_callable=talk)
    PythonOperator(task_id="fail", python_callable=fail)
"""


def _logs(run_id: str, task_id: str, try_number: int = 1) -> str:
    return f"{API}/dags/k8s_logs/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"


def _web(make_web: Callable[..., Web], k8s: Standin) -> Web:
    return make_web(core={"executor": "kubernetes"}, kubernetes=kube_sections(k8s))


def other_web(web: Web, folder: Path) -> TestClient:
    """A web server of the same installation with a log folder of its own."""
    settings = web.system.settings
    logging = settings.logging.model_copy(update={"base_log_folder": folder})
    client = TestClient(create_app(settings.model_copy(update={"logging": logging})))
    web.extra_clients.append(client)
    return client


def test_a_running_pod_s_log_is_read_live_and_kept_after_the_pod_is_deleted(
    make_web: Callable[..., Web], k8s: Standin, tmp_path: Path
) -> None:
    web = _web(make_web, k8s)
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    web.system.add_dag("k8s_logs", TALK.format(journal=str(journal), gate=str(gate)))
    run_id = web.system.trigger("k8s_logs")
    key = TaskKey("k8s_logs", run_id, "talk")
    kept = log_path(web.system.settings.logging.base_log_folder, key)
    try:
        assert web.system.run_until(started(journal, "talk"), timeout=HANG_GUARD)

        # Running: no file here; the API reads the pod.
        assert not kept.exists()
        live = web.get(_logs(run_id, "talk"), user="viewer")
        assert live.status_code == 200, live.text
        body = live.json()
        assert "step one" in body["content"]
        assert "step two" not in body["content"]
        assert REPORT_TAG not in body["content"]
        assert body["end_of_log"] is False
        assert body["offset"] == len(body["content"].encode())
        assert "note" not in body
    finally:
        gate.touch()
    assert web.system.wait("k8s_logs", run_id, timeout=HANG_GUARD) == "failed"

    # Ended: the pod is deleted (it succeeded); its log is in the try's log file.
    name = podspec.pod_name(key)
    assert name not in {p["metadata"]["name"] for p in k8s.pods()}
    text = kept.read_text()
    assert "step one" in text
    assert "step two" in text
    assert REPORT_TAG not in text
    whole = web.get(_logs(run_id, "talk")).json()
    assert whole["content"] == text
    assert whole["end_of_log"] is True
    # A reader following live goes on where it was.
    assert whole["content"].startswith(body["content"])
    rest = web.get(_logs(run_id, "talk"), params={"offset": body["offset"]}).json()
    assert body["content"] + rest["content"] == text

    # The API and the UI name the try's pod (for kubectl).
    ti = web.get(f"{API}/dags/k8s_logs/dagRuns/{run_id}/taskInstances/talk", user="viewer")
    assert ti.json()["external_executor_id"] == name
    page = web.get(f"/dags/k8s_logs/runs/{run_id}/tasks/talk", user="viewer")
    assert page.status_code == 200
    assert f"<code>{name}</code>" in page.text


def test_another_web_server_reads_a_kept_pod_and_says_when_the_pod_is_gone(
    make_web: Callable[..., Web], k8s: Standin, tmp_path: Path
) -> None:
    web = _web(make_web, k8s)
    web.system.add_dag("k8s_logs", TALK.format(journal=str(tmp_path / "j"), gate=None))
    run_id = web.system.trigger("k8s_logs")
    assert web.system.wait("k8s_logs", run_id, timeout=HANG_GUARD) == "failed"
    states = web.system.states("k8s_logs", run_id)
    assert states["fail"].value == "failed"
    assert states["talk"].value == "success"
    # The failed try's pod is kept (delete_worker_pods_on_failure is false by default).
    fail_pod = podspec.pod_name(TaskKey("k8s_logs", run_id, "fail"))
    assert fail_pod in {p["metadata"]["name"] for p in k8s.pods()}
    own = tmp_path / "web-logs"
    own.mkdir()
    other = other_web(web, own)
    viewer = web.as_("viewer")

    from_pod = other.get(_logs(run_id, "fail"), headers=viewer).json()
    here = web.get(_logs(run_id, "fail")).json()
    assert "about to fail" in from_pod["content"]
    assert "bad rows" in from_pod["content"]
    assert from_pod == here
    assert from_pod["end_of_log"] is True

    gone = other.get(_logs(run_id, "talk"), headers=viewer)
    assert gone.status_code == 200
    body = gone.json()
    assert (body["content"], body["end_of_log"]) == ("", True)
    name = podspec.pod_name(TaskKey("k8s_logs", run_id, "talk"))
    assert body["note"] == f"pod {name} is gone and its log is not kept here"
    assert not any(own.iterdir())


WAITING = """
held = {{"pod_override": {{"metadata": {{"annotations": {{{annotation!r}: "pending"}}}}}}}}

with DAG("k8s_waiting", schedule=None):
    # First to the only slot, and never scheduled on a node.
    BashOperator(task_id="pending", bash_command="true", priority_weight=10, executor_config=held)
    BashOperator(task_id="later", bash_command="true")
"""


def test_a_try_whose_pod_waits_or_is_not_made_yet_reads_as_empty(
    make_web: Callable[..., Web], k8s: Standin
) -> None:
    web = make_web(core={"executor": "kubernetes", "parallelism": 1}, kubernetes=kube_sections(k8s))
    web.system.add_dag("k8s_waiting", WAITING.format(annotation=OUTCOME_ANNOTATION))
    run_id = web.system.trigger("k8s_waiting")
    pending = podspec.pod_name(TaskKey("k8s_waiting", run_id, "pending"))
    assert web.system.run_until(lambda: k8s.pod(pending) is not None, timeout=HANG_GUARD)

    def log_of(task_id: str) -> dict[str, object]:
        path = f"{API}/dags/k8s_waiting/dagRuns/{run_id}/taskInstances/{task_id}/logs/1"
        answer = web.get(path, user="viewer")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    # The pod exists but its container has not started: said, not an error.
    waiting = log_of("pending")
    assert (waiting["content"], waiting["end_of_log"]) == ("", False)
    assert str(waiting["note"]).startswith(f"pod {pending} has no log yet")
    # No pod yet (one slot, taken): nothing to read and nothing to say.
    assert log_of("later") == {"content": "", "offset": 0, "end_of_log": False}

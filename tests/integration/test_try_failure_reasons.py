"""Why a try failed is on its task instance, where users look: the REST API and the UI page.

A try that fails for a reason of tradewind's (its log cannot be written, its process ended
without a report, it ran past its execution_timeout) says so there, as a try whose task raised
does, and each try in the history keeps its own reason. The scheduler and the local executor
are real (the tries are processes forked by the fork server); the API is the web server's app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_pages import login
from webtest import Web, make_web_fixture  # noqa: F401

pytestmark = sqlite_only

ONE = """
with DAG("one", schedule=None):
    PythonOperator(task_id="t", python_callable=lambda: 1, retries=1,
                   retry_delay=timedelta(seconds=0))
"""

REASONS = """
def exits():
    os._exit(3)

def raises():
    raise ValueError("bad input")

def slow():
    time.sleep(60)

with DAG("reasons", schedule=None):
    PythonOperator(task_id="exits", python_callable=exits)
    PythonOperator(task_id="raises", python_callable=raises)
    PythonOperator(task_id="slow", python_callable=slow, execution_timeout=timedelta(seconds=1))
    PythonOperator(task_id="fine", python_callable=lambda: 1)
"""


def ti_path(dag_id: str, run_id: str, task_id: str) -> str:
    return f"/api/v1/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"


def test_a_try_whose_log_cannot_be_written_says_why_on_its_task_instance(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    # A file where the log folder should be: no one can write under it, root included.
    blocked = tmp_path / "logs"
    blocked.write_text("a file, not a folder\n")
    web = make_web(logging={"base_log_folder": str(blocked)})
    web.system.add_dag("one", ONE)
    run_id = web.system.trigger("one")

    assert web.system.wait("one", run_id) == "failed"
    ti = web.get(ti_path("one", run_id, "t"), user="viewer").json()
    tries = web.get(ti_path("one", run_id, "t") + "/tries", user="viewer").json()
    login(web.client, "viewer")
    page = web.client.get(f"/dags/one/runs/{run_id}/tasks/t").text

    reason = ti["failure_reason"]
    assert (ti["state"], ti["try_number"]) == ("failed", 2)
    assert reason.startswith("cannot write the try's log: [Errno 20] Not a directory")
    assert f"logging.base_log_folder is {blocked}" in reason
    assert [t["failure_reason"] == reason for t in tries["task_instances"]] == [True, True]
    assert [t["state"] for t in tries["task_instances"]] == ["up_for_retry", "failed"]
    assert "cannot write the try&#39;s log" in page


def test_lost_timed_out_and_raising_tries_each_say_why(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web()
    web.system.add_dag("reasons", REASONS)
    run_id = web.system.trigger("reasons")

    assert web.system.wait("reasons", run_id) == "failed"
    listed = web.get(f"/api/v1/dags/reasons/dagRuns/{run_id}/taskInstances").json()
    reasons: dict[str, Any] = {
        ti["task_id"]: (ti["state"], ti["failure_reason"]) for ti in listed["task_instances"]
    }

    # The try stops itself at its execution_timeout; should it be too slow to say so (a loaded
    # machine), its executor stops it a moment later and says that instead.
    timed_out = reasons.pop("slow")
    assert timed_out[0] == "failed"
    assert timed_out[1] in ("execution_timeout of 1 s exceeded", "timed out after 1 s")
    assert reasons == {
        "exits": ("failed", "process exited with code 3"),
        "raises": ("failed", "ValueError: bad input"),
        "fine": ("success", None),
    }

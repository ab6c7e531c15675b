"""Pods that outlive their scheduler, against the Kubernetes API stand-in.

- A pod that ended while no scheduler ran: the scheduler started next adopts it, takes the try's
  own report from its log (the try is not run again), keeps its log and deletes the pod.
- Orphans: finished pods of a scheduler that is gone and that nobody adopted are cleaned up by
  the executor's sweep, by the deletion settings (a failed one is kept by default), their logs
  kept first unless a log file exists already; pods of other apps and running pods are left
  alone (pods that ended too recently: tests/unit/test_k8s_executor.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from k8s import core_api, k8s_fixture  # noqa: F401
from scheduling import read_journal, running_system, system_sections
from test_kubernetes_executor import (  # noqa: F401
    HANG_GUARD,
    Takeover,
    kube_sections,
    takeover_fixture,
)

from k8s_standin import Standin
from tradewind.executors.base import REPORT_TAG
from tradewind.executors.kubernetes import podspec
from tradewind.settings import Settings
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]),
]

ENDED = """
def held(ti=None):
    print("held, then done")
    work({journal!r}, gate={gate!r}, ti=ti)
    return "kept"

with DAG("k8s_ended", schedule=None, default_args={{"retries": 2}}):
    PythonOperator(task_id="long", python_callable=held)
"""


def test_a_pod_that_ended_while_no_scheduler_ran_is_adopted_and_its_report_taken(
    takeover: Takeover, k8s: Standin
) -> None:
    settings, dags, journal, gate = (
        takeover.settings,
        takeover.dags,
        takeover.journal,
        takeover.gate,
    )
    try:
        with running_system(settings, dags, start=False) as idle:
            idle.add_dag("k8s_ended", ENDED.format(journal=str(journal), gate=str(gate)))
            run_id = idle.trigger("k8s_ended")
            takeover.kill_once_started(idle, "k8s_ended", run_id, "long")
            name = idle.instance("k8s_ended", run_id, "long").external_executor_id
            assert name is not None
            gate.touch()  # the try ends while no scheduler runs
            assert k8s.wait_for_phase(name, "Succeeded")
            key = TaskKey("k8s_ended", run_id, "long")
            kept = log_path(settings.logging.base_log_folder, key)
            assert not kept.exists()

        with running_system(settings, dags) as second:
            assert second.wait("k8s_ended", run_id, timeout=HANG_GUARD) == "success"
            ti = second.instance("k8s_ended", run_id, "long")
            value = second.xcom("k8s_ended", run_id, "long")
    finally:
        gate.touch()
    assert ti.try_number == 1
    assert value == "kept"
    assert [e.try_number for e in read_journal(journal)] == [1]
    assert name not in {p["metadata"]["name"] for p in k8s.pods()}
    text = kept.read_text()
    assert "held, then done" in text
    assert REPORT_TAG not in text


# ---- orphans -----------------------------------------------------------------------------------


def orphan(name: str, code: str, *, app: str = "tradewind", task_id: str = "t") -> dict[str, Any]:
    """A pod as a scheduler now gone made it: its labels, the try's annotations, a command."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": app, podspec.SCHEDULER: "gone-host-1"},
            "annotations": {
                podspec.DAG_ID: "old_dag",
                podspec.RUN_ID: "manual__old",
                podspec.TASK_ID: task_id,
                podspec.TRY_NUMBER: "1",
                podspec.MAP_INDEX: "-1",
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "base", "image": "tw:test", "command": [sys.executable, "-c", code]}
            ],
        },
    }


def test_orphaned_finished_pods_are_cleaned_up_by_the_settings_their_logs_kept(
    migrated_db_url: str,
    make_settings: Callable[..., Settings],
    k8s: Standin,
    tmp_path: Path,
) -> None:
    api = core_api(k8s.kubeconfig)
    pods = {
        "ok": orphan("tw-orphan-ok", "print('orphan says hi')", task_id="ok"),
        "failed": orphan("tw-orphan-failed", "import sys; sys.exit(1)", task_id="failed"),
        "logged": orphan("tw-orphan-logged", "print('from the pod')", task_id="logged"),
        "other_app": orphan("other-app", "print(1)", app="someone-else"),
        "running": orphan("tw-orphan-running", "import time; time.sleep(600)", task_id="run"),
    }
    for body in pods.values():
        api.create_namespaced_pod(k8s.namespace, body)
    for key in ("ok", "logged", "other_app"):
        assert k8s.wait_for_phase(pods[key]["metadata"]["name"], "Succeeded")
    assert k8s.wait_for_phase("tw-orphan-failed", "Failed")
    assert k8s.wait_for_phase("tw-orphan-running", "Running")
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(
        core={"executor": "kubernetes", "dags_folder": str(dags)},
        # An orphan's grace is 6 job timeouts since it ended: 1.2 s here.
        scheduler={"job_timeout": 0.2, "heartbeat_interval": 0.05},
        kubernetes=kube_sections(k8s, orphan_sweep_interval=0.2),
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    folder = settings.logging.base_log_folder
    logged = log_path(folder, TaskKey("old_dag", "manual__old", "logged"))
    logged.parent.mkdir(parents=True)
    logged.write_text("kept by the scheduler that followed it\n")

    def names() -> set[str]:
        return {p["metadata"]["name"] for p in k8s.pods()}

    with running_system(settings, dags) as system:
        gone = {"tw-orphan-ok", "tw-orphan-logged"}
        assert system.run_until(lambda: not (gone & names()), timeout=HANG_GUARD)
        system.settle(1.0)  # another sweep or more: what stays, stays

    assert names() == {"tw-orphan-failed", "other-app", "tw-orphan-running"}
    ok = log_path(folder, TaskKey("old_dag", "manual__old", "ok")).read_text()
    assert ok == "orphan says hi\n"
    assert logged.read_text() == "kept by the scheduler that followed it\n"
    assert not log_path(folder, TaskKey("old_dag", "manual__old", "failed")).exists()

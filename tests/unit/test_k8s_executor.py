"""The kubernetes executor's bookkeeping with a recording API (no watch thread, no server)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")

from kubernetes.client.exceptions import ApiException

from tradewind.executors.base import REPORT_TAG
from tradewind.executors.kubernetes import KubernetesExecutor, podspec
from tradewind.executors.kubernetes.watcher import Listed, PodEvent
from tradewind.reports import Cause, Kind
from tradewind.states import TaskState
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey, Workload


class Api:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.patched: list[str] = []
        self.logs: dict[str, str] = {}
        self.conflict: set[str] = set()
        self.listed: list[dict[str, Any]] = []

    def list_namespaced_pod(self, namespace: str, **_: Any) -> Response:
        return Response(json.dumps({"items": self.listed}).encode())

    def create_namespaced_pod(self, namespace: str, pod: dict[str, Any], **_: Any) -> None:
        if pod["metadata"]["name"] in self.conflict:
            raise ApiException(status=409, reason="AlreadyExists")
        self.created.append(pod)

    def delete_namespaced_pod(self, name: str, namespace: str, **_: Any) -> None:
        self.deleted.append(name)

    def patch_namespaced_pod(self, name: str, namespace: str, body: Any, **_: Any) -> None:
        self.patched.append(name)

    def read_namespaced_pod_log(self, name: str, namespace: str, **_: Any) -> Response:
        return Response(self.logs.get(name, "").encode())


class Response:
    """What the client returns without preloading: the log in pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, size: int) -> Any:
        for at in range(0, len(self.data), 7):  # small pieces: lines cut anywhere
            yield self.data[at : at + 7]

    def release_conn(self) -> None:
        pass


def until_finished(executor: KubernetesExecutor, count: int) -> list[Any]:
    """Every event polled until ``count`` tries have finished (a keeper thread reads an ended
    pod's log, so its end comes a little later)."""
    events: list[Any] = []
    deadline = time.monotonic() + 10
    while sum(e.kind == Kind.FINISHED for e in events) < count:
        assert time.monotonic() < deadline, events
        events += executor.poll(0.5)
    return events


def wl(task: str, weight: int = 1) -> Workload:
    return Workload(TaskKey("d", "r1", task), "/dags/d.py", priority_weight=weight)


def pod(name: str, phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"nodeName": "node-1"},
        "status": {"phase": phase, **status},
    }


@pytest.fixture
def make(make_settings: Any, tmp_path: Path) -> Any:
    def build(parallelism: int = 32, batch: int = 16, **k8s: Any) -> tuple[KubernetesExecutor, Api]:
        settings = make_settings(
            tmp_path,
            core={"parallelism": parallelism},
            kubernetes={"worker_pods_creation_batch_size": batch, **k8s},
        )
        api = Api()
        executor = KubernetesExecutor(settings, scheduler_id="s1", api=api)
        executor.template = podspec.default_pod()
        return executor, api

    return build


def test_creation_is_batched_capped_and_in_priority_order(make: Any) -> None:
    executor, api = make(parallelism=5, batch=2)
    for i in range(6):
        executor.submit(wl(f"t{i}", weight=i))

    executor.poll(0)
    assert [p["metadata"]["annotations"]["tradewind/task-id"] for p in api.created] == ["t5", "t4"]
    executor.poll(0)
    executor.poll(0)
    executor.poll(0)
    assert len(api.created) == 5
    assert executor.free_slots == 0
    assert len(executor.active_keys()) == 6


def test_a_409_means_already_submitted(make: Any) -> None:
    executor, api = make()
    api.conflict.add(podspec.pod_name(wl("a").key))
    executor.submit(wl("a"))

    executor.poll(0)

    assert api.created == []
    assert wl("a").key in executor.active_keys()
    assert api.patched == [podspec.pod_name(wl("a").key)]


def test_running_then_the_report_from_the_log(make: Any) -> None:
    executor, api = make()
    executor.submit(wl("a"))
    executor.poll(0)
    name = podspec.pod_name(wl("a").key)
    finished = {"type": "finished", "state": "success", "at": "2026-01-01T00:00:00+00:00"}
    api.logs[name] = (
        "hello\n"
        + REPORT_TAG
        + '{"type": "running"}\n'
        + "a line the task did not end "
        + REPORT_TAG
        + json.dumps(finished)
        + '\n{"type": "finished", "state": "failed"} printed by the task\n'
        + "a callback's line\n"
    )

    executor._on_seen(PodEvent("MODIFIED", pod(name, "Running")))
    (running,) = executor.poll(0)
    executor._on_seen(PodEvent("MODIFIED", pod(name, "Succeeded")))
    (done,) = until_finished(executor, 1)

    assert running.kind == Kind.RUNNING
    assert running.hostname == "node-1"
    assert done.state == TaskState.SUCCESS
    assert api.deleted == [name]
    assert executor.active_keys() == set()
    kept = log_path(executor.settings.logging.base_log_folder, wl("a").key).read_text()
    assert kept == (
        "hello\na line the task did not end \n"
        '{"type": "finished", "state": "failed"} printed by the task\n'
        "a callback's line\n"
    )


@pytest.mark.parametrize(
    ("status", "info"),
    [
        ({"phase": "Succeeded"}, "no report"),
        (
            {"containerStatuses": [{"name": "base", "state": {"terminated": {"exitCode": 3}}}]},
            "exit code 3",
        ),
        (
            {
                "containerStatuses": [
                    {
                        "name": "base",
                        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
                    }
                ]
            },
            "OOMKilled",
        ),
        ({"reason": "Evicted", "message": "low on memory"}, "evicted: low on memory"),
    ],
)
def test_a_pod_without_a_report_fails_from_its_status(
    make: Any, status: dict[str, Any], info: str
) -> None:
    executor, api = make()
    executor.submit(wl("a"))
    executor.poll(0)
    name = podspec.pod_name(wl("a").key)

    executor._on_seen(PodEvent("MODIFIED", pod(name, status.pop("phase", "Failed"), **status)))
    events = until_finished(executor, 1)

    assert events[-1].state == TaskState.FAILED
    assert events[-1].info == info
    assert api.deleted == []  # failed pods are kept by default
    kept = log_path(executor.settings.logging.base_log_folder, wl("a").key).read_text()
    assert kept.endswith(f"{{kubernetes}} ERROR - pod {name}: {info}\n")


def test_an_image_that_cannot_be_pulled_fails_and_deletes_the_pod(make: Any) -> None:
    executor, api = make()
    executor.submit(wl("a"))
    executor.poll(0)
    name = podspec.pod_name(wl("a").key)
    waiting = {"name": "base", "state": {"waiting": {"reason": "ImagePullBackOff"}}}

    executor._on_seen(PodEvent("MODIFIED", pod(name, "Pending", containerStatuses=[waiting])))
    (event,) = executor.poll(0)

    assert event.info == "ImagePullBackOff"
    assert api.deleted == [name]
    kept = log_path(executor.settings.logging.base_log_folder, wl("a").key).read_text()
    assert kept.endswith(f"ERROR - pod {name}: ImagePullBackOff\n")


def test_deleted_by_someone_else_and_missing_from_a_relist(make: Any) -> None:
    executor, _ = make()
    executor.submit(wl("a"))
    executor.submit(wl("b"))
    executor.poll(0)
    name_a, name_b = (podspec.pod_name(wl(t).key) for t in "ab")

    executor._on_seen(PodEvent("DELETED", pod(name_a, "Running")))
    executor._on_seen(Listed([], started=float("inf")))
    events = executor.poll(0)

    assert {e.key.task_id for e in events} == {"a", "b"}
    assert all(e.info == "the pod was deleted by someone else" for e in events)
    assert name_b not in executor._by_name


def test_pending_too_long_fails(make: Any) -> None:
    executor, api = make(pending_timeout=0.05)
    executor.submit(wl("a"))
    executor.poll(0)

    events = executor.poll(0.5)

    assert events[0].info == "pending for 0.05 s"
    assert api.deleted == [podspec.pod_name(wl("a").key)]


@pytest.mark.parametrize(
    ("status", "held"),
    [
        (
            {
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient memory.",
                    }
                ]
            },
            "Unschedulable: 0/3 nodes are available: 3 Insufficient memory.",
        ),
        (
            {
                "containerStatuses": [
                    {
                        "name": "base",
                        "state": {
                            "waiting": {
                                "reason": "CreateContainerConfigError",
                                "message": 'secret "tw" not found',
                            }
                        },
                    }
                ]
            },
            'CreateContainerConfigError: secret "tw" not found',
        ),
        (
            {
                "containerStatuses": [
                    {"name": "base", "state": {"waiting": {"reason": "ContainerCreating"}}}
                ]
            },
            "",
        ),
    ],
)
def test_pending_too_long_says_what_held_the_pod_back(
    make: Any, status: dict[str, Any], held: str
) -> None:
    executor, _ = make(pending_timeout=0.2)
    executor.submit(wl("a"))
    executor.poll(0)
    name = podspec.pod_name(wl("a").key)
    executor._on_seen(PodEvent("MODIFIED", pod(name, "Pending", **status)))

    events = executor.poll(1.0)

    assert events[0].info == ("pending for 0.2 s" + (f" ({held})" if held else ""))


def test_cancel_and_adopt(make: Any) -> None:
    executor, api = make()
    executor.submit(wl("a"))
    executor.cancel(wl("a").key)
    (event,) = executor.poll(0)
    assert event.report.cause is Cause.CANCELLED

    adopted = executor.adopt([wl("b").key])

    assert adopted == {wl("b").key}
    assert api.patched == [podspec.pod_name(wl("b").key)]
    assert executor.external_id(wl("b").key) == podspec.pod_name(wl("b").key)


def test_the_registry_loads_it_by_name() -> None:
    from tradewind import executors

    assert executors.load_executor("kubernetes") is KubernetesExecutor


def test_a_pod_evicted_before_it_ran_never_reports_running(make: Any) -> None:
    executor, _api = make()
    executor.submit(wl("a"))
    executor.poll(0)
    name = podspec.pod_name(wl("a").key)
    evicted = pod(name, "Failed", reason="Evicted", message="The node was low on memory.")
    executor._on_seen(PodEvent("MODIFIED", evicted))
    (done,) = executor.poll(0)  # one event: it finished, it never ran
    assert (done.kind, done.state) == (Kind.FINISHED, TaskState.FAILED)
    assert done.info.startswith("evicted")
    assert "log" not in done.info  # there is no log of a container that never started


def ended(name: str, phase: str, scheduler: str, seconds_ago: float) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    finished = at.isoformat().replace("+00:00", "Z")
    return {
        "metadata": {
            "name": name,
            "labels": {"app": "tradewind", podspec.SCHEDULER: scheduler},
            "annotations": {
                podspec.DAG_ID: "d",
                podspec.RUN_ID: "r0",
                podspec.TASK_ID: name,
                podspec.TRY_NUMBER: "1",
            },
        },
        "status": {
            "phase": phase,
            "containerStatuses": [
                {"name": "base", "state": {"terminated": {"exitCode": 0, "finishedAt": finished}}}
            ],
        },
    }


def test_the_sweep_cleans_up_only_old_finished_pods_of_other_schedulers(make: Any) -> None:
    executor, api = make(orphan_sweep_interval=60)
    grace = executor.orphan_grace
    api.listed = [
        ended("old-orphan", "Succeeded", "gone-1", grace + 5),
        ended("recent", "Succeeded", "gone-1", grace - 5),  # may still be adopted
        ended("old-failed", "Failed", "gone-1", grace + 5),  # failed pods are kept
        ended("mine", "Succeeded", "s1", grace + 5),  # this scheduler's own
    ]
    api.logs["old-orphan"] = "the orphan's log\n" + REPORT_TAG + '{"type": "finished"}\n'

    executor._sweep_orphans()

    assert api.deleted == ["old-orphan"]
    kept = log_path(executor.settings.logging.base_log_folder, TaskKey("d", "r0", "old-orphan"))
    assert kept.read_text() == "the orphan's log\n"


def test_the_sweep_deletes_failed_orphans_too_when_told(make: Any) -> None:
    executor, api = make(delete_worker_pods_on_failure=True)
    api.listed = [ended("old-failed", "Failed", "gone-1", executor.orphan_grace + 5)]

    executor._sweep_orphans()

    assert api.deleted == ["old-failed"]


def test_a_pod_whose_sidecar_runs_on_ends_with_its_base_container(make: Any) -> None:
    executor, api = make()
    executor.submit(wl("a"))
    executor.submit(wl("b"))
    executor.poll(0)
    name_a, name_b = (podspec.pod_name(wl(t).key) for t in "ab")
    finished = {"type": "finished", "state": "success", "at": "2026-01-01T00:00:00+00:00"}
    api.logs[name_a] = REPORT_TAG + json.dumps(finished) + "\n"
    sidecar = {"name": "proxy", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}

    def ended(code: int) -> list[dict[str, Any]]:
        terminated = {"exitCode": code, "startedAt": "2026-01-01T00:00:00Z"}
        return [{"name": "base", "state": {"terminated": terminated}}, sidecar]

    executor._on_seen(PodEvent("MODIFIED", pod(name_a, "Running", containerStatuses=ended(0))))
    executor._on_seen(PodEvent("MODIFIED", pod(name_b, "Running", containerStatuses=ended(2))))
    events = until_finished(executor, 2)

    done = {e.key.task_id: e for e in events if e.kind == Kind.FINISHED}
    assert done["a"].state == TaskState.SUCCESS
    assert (done["b"].state, done["b"].info) == (TaskState.FAILED, "exit code 2")
    assert {e.key.task_id for e in events if e.kind == Kind.RUNNING} == {"a", "b"}
    assert api.deleted == [name_a]  # its sidecar goes with it; a failed pod is kept
    assert executor.active_keys() == set()


def test_a_slow_log_read_holds_up_nothing_and_its_end_still_comes(make: Any) -> None:
    executor, api = make()
    release = threading.Event()
    reading = api.read_namespaced_pod_log

    def slow(name: str, namespace: str, **kw: Any) -> Response:
        release.wait(10)
        return reading(name, namespace, **kw)

    api.read_namespaced_pod_log = slow  # type: ignore[method-assign]
    executor.submit(wl("slow"))
    executor.submit(wl("next"))
    executor.poll(0)
    slow_pod, next_pod = (podspec.pod_name(wl(t).key) for t in ("slow", "next"))
    finished = {"type": "finished", "state": "success", "at": "2026-01-01T00:00:00+00:00"}
    api.logs[slow_pod] = REPORT_TAG + json.dumps(finished) + "\n"

    executor._on_seen(PodEvent("MODIFIED", pod(slow_pod, "Succeeded")))
    executor._on_seen(PodEvent("DELETED", pod(slow_pod, "Succeeded")))  # no "deleted by ..."
    executor._on_seen(PodEvent("MODIFIED", pod(next_pod, "Running")))
    meanwhile = executor.poll(0.3)

    assert [(e.key.task_id, e.kind) for e in meanwhile] == [
        ("slow", Kind.RUNNING),
        ("next", Kind.RUNNING),
    ]
    assert executor.poll(0.2) == []  # still reading
    release.set()
    (done,) = until_finished(executor, 1)
    assert (done.key.task_id, done.state) == ("slow", TaskState.SUCCESS)
    assert api.deleted == [slow_pod]
    assert executor.active_keys() == {wl("next").key}

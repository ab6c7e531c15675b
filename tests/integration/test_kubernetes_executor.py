"""The kubernetes executor against the Kubernetes API stand-in, through the official client.

The stand-in (``tests/k8s_standin``) runs each pod as a local process: ``tradewind tasks run ...``
really runs the try against the test metastore (PostgreSQL: the scheduler and the pods write it
at once). The scheduler runs in the test's thread (``System``); ``Spy`` keeps every event the
executor returned to it, so a test sees each try's events and their ``info`` (the reason of a
failure, which the scheduler logs into the try's history).

- a whole DAG run to success (XComs passed between pods);
- each pod outcome of the contract, in one run of a DAG with one task per outcome: succeeded,
  succeeded without a report, failed with an exit code, OOMKilled, ImagePullBackOff, pending
  longer than ``pending_timeout``, evicted, deleted by someone else;
- the watcher through a dropped connection, a 410 Gone on the next watch and an ERROR 410
  event: every run completes, each try's events arrive once;
- a scheduler killed (SIGKILL) and started again adopts the running pod by its name;
- creation in batches: with ``worker_pods_creation_batch_size=2``, no scheduler loop round
  creates more than 2 pods;
- a try submitted by two executors gets one pod (409: followed, not failed), and cancel deletes
  it with one "cancelled" event.

Nothing asserts how long anything took; limits only guard against a hang. Without the
``kubernetes`` client installed the module is skipped (by ``k8s``).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from k8s import core_api, k8s_fixture  # noqa: F401
from scheduling import System, read_journal, running_system, scheduler_process, system_sections

from k8s_standin import NODE_NAME, OUTCOME_ANNOTATION, Standin
from tradewind.executors.base import REPORT_TAG, BaseExecutor, TaskEvent
from tradewind.executors.kubernetes import KubernetesExecutor
from tradewind.executors.kubernetes.watcher import Listed, PodEvent, PodWatcher
from tradewind.reports import Cause, Kind
from tradewind.settings import Settings, load_settings
from tradewind.states import TaskState
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey, Workload

POSTGRES = pytest.mark.parametrize(
    "db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]
)
pytestmark = pytest.mark.postgres

HANG_GUARD = 45.0
SCHEDULER_LABEL = "tradewind/scheduler"
WATCHER_LOG = "tradewind.executors.kubernetes.watcher"


# ---- the stand-in and the systems on it --------------------------------------------------------


def kube_sections(k8s: Standin, **kube: Any) -> dict[str, Any]:
    return {"config_file": str(k8s.kubeconfig), "namespace": k8s.namespace, **kube}


@dataclass
class Spy:
    """Wraps an executor's poll: keeps every event it returned and, per scheduler loop round
    (from one poll's end to the next one's), how many pods the stand-in created."""

    executor: BaseExecutor
    count_created: Callable[[], int] | None = None
    events: list[TaskEvent] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        inner_poll = self.executor.poll
        self._mark = self.count_created() if self.count_created else 0

        def poll(timeout: float | None = 0.0) -> list[TaskEvent]:
            got = inner_poll(timeout)
            self.events.extend(got)
            if self.count_created is not None:
                now = self.count_created()
                self.rounds.append(now - self._mark)
                self._mark = now
            return got

        self.executor.poll = poll  # type: ignore[method-assign]

    def of(self, task_id: str, kind: Kind) -> list[TaskEvent]:
        return [e for e in self.events if e.key.task_id == task_id and e.kind == kind]

    def finished(self, task_id: str) -> TaskEvent:
        found = self.of(task_id, Kind.FINISHED)
        assert len(found) == 1, (task_id, self.events)
        return found[0]

    def each_once(self) -> None:
        """Every try that was reported finished was reported so once, and running at most once."""
        keys: set[TaskKey] = {e.key for e in self.events}
        for key in keys:
            kinds = [e.kind for e in self.events if e.key == key]
            assert kinds.count(Kind.FINISHED) == 1, (key, kinds)
            assert kinds.count(Kind.RUNNING) <= 1, (key, kinds)


def spy_on(system: System, count_created: Callable[[], int] | None = None) -> Spy:
    return Spy(system.scheduler.executor, count_created)


@pytest.fixture(name="kube_system")
def kube_system_fixture(
    migrated_db_url: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    k8s: Standin,
) -> Iterator[Callable[..., System]]:
    """Build a started System with the kubernetes executor on the stand-in."""
    dags = tmp_path / "dags"
    dags.mkdir()
    with ExitStack() as stack:

        def make(core: dict[str, Any] | None = None, **kube: Any) -> System:
            sections = system_sections(
                core={"executor": "kubernetes", "dags_folder": str(dags), **(core or {})},
                kubernetes=kube_sections(k8s, **kube),
            )
            settings = make_settings(tmp_path, migrated_db_url, **sections)
            return stack.enter_context(running_system(settings, dags))

        yield make


def wait_for(condition: Callable[[], bool], timeout: float = HANG_GUARD) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def started(journal: Path, *task_ids: str) -> Callable[[], bool]:
    return lambda: set(task_ids) <= {e.task_id for e in read_journal(journal)}


# ---- a whole run -------------------------------------------------------------------------------

CHAIN = """
def first():
    return 20

def double(ti=None):
    return ti.xcom_pull(task_ids="first") * 2

def total(ti=None):
    return sum(ti.xcom_pull(task_ids=["left", "right"]))

with DAG("k8s_chain", schedule=None):
    one = PythonOperator(task_id="first", python_callable=first)
    left = PythonOperator(task_id="left", python_callable=double)
    right = PythonOperator(task_id="right", python_callable=double)
    last = PythonOperator(task_id="last", python_callable=total)
    one >> [left, right] >> last
"""


@POSTGRES
def test_a_dag_run_succeeds_with_each_try_in_its_own_pod(
    kube_system: Callable[..., System], k8s: Standin
) -> None:
    system = kube_system()
    spy = spy_on(system)
    system.add_dag("k8s_chain", CHAIN)
    run_id = system.trigger("k8s_chain")

    assert system.wait("k8s_chain", run_id, timeout=HANG_GUARD) == "success"

    assert system.xcom("k8s_chain", run_id, "last") == 80
    assert set(system.states("k8s_chain", run_id).values()) == {TaskState.SUCCESS}
    spy.each_once()
    names = set()
    for task_id in ("first", "left", "right", "last"):
        running = spy.of(task_id, Kind.RUNNING)
        assert len(running) == 1
        assert running[0].hostname == NODE_NAME
        assert spy.finished(task_id).state == TaskState.SUCCESS
        ti = system.instance("k8s_chain", run_id, task_id)
        assert ti.try_number == 1
        assert ti.external_executor_id is not None
        assert ti.external_executor_id.startswith("tw-")
        names.add(ti.external_executor_id)
    assert len(names) == 4


# ---- every outcome of a pod --------------------------------------------------------------------

OUTCOMES = """
def ok():
    print("all is fine")
    return "fine"

def quiet_exit(code):
    # Ends the try's process without its "finished" report.
    os._exit(code)

def held(ti=None):
    work({journal!r}, gate={gate!r}, ti=ti)

def knob(outcome):
    return {{"pod_override": {{"metadata": {{"annotations": {{{annotation!r}: outcome}}}}}}}}

with DAG("k8s_outcomes", schedule=None, default_args={{"retries": 0}}):
    PythonOperator(task_id="ok", python_callable=ok)
    PythonOperator(task_id="no_report", python_callable=quiet_exit, op_args=[0])
    PythonOperator(task_id="exit3", python_callable=quiet_exit, op_args=[3])
    PythonOperator(task_id="oom", python_callable=held)
    PythonOperator(task_id="evicted", python_callable=held)
    PythonOperator(task_id="deleted", python_callable=held)
    PythonOperator(task_id="bad_image", python_callable=ok,
                   executor_config={{"pod_override": {{"containers": [{{"image": "bad-image"}}]}}}})
    PythonOperator(task_id="pending", python_callable=ok, executor_config=knob("pending"))
"""

PENDING_TIMEOUT = 3.0


@dataclass
class Outcomes:
    system: System
    run_id: str
    spy: Spy

    def check(self, task_id: str, *reason: str) -> TaskEvent:
        event = self.spy.finished(task_id)
        assert self.system.state("k8s_outcomes", self.run_id, task_id) == TaskState.FAILED
        assert event.state == TaskState.FAILED
        for part in reason:
            assert part in event.info, (task_id, event.info)
        # The reason ends what the pod wrote in the try's log, which the UI and the API show;
        # only the try's failure alerts (run once its end is recorded) may come after it.
        lines = self.log(task_id).splitlines()
        reason = f"{{kubernetes}} ERROR - pod {self.pod(task_id)}: {event.info}"
        at = max((n for n, line in enumerate(lines) if line.endswith(reason)), default=-1)
        assert at >= 0, lines[-5:]
        assert all("{task_callbacks.py:" in line for line in lines[at + 1 :]), lines[at:]
        return event

    def pod(self, task_id: str) -> str:
        return self.system.instance("k8s_outcomes", self.run_id, task_id).external_executor_id or ""

    def log(self, task_id: str) -> str:
        key = TaskKey("k8s_outcomes", self.run_id, task_id)
        return log_path(self.system.settings.logging.base_log_folder, key).read_text()


@pytest.fixture(scope="module")
def outcomes(databases: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcomes]:
    """One run (shared by the outcome tests) of a DAG whose tasks end in each outcome; the held
    ones are ended through the stand-in (OOM kill, eviction) or deleted through the API while
    they run."""
    tmp = tmp_path_factory.mktemp("outcomes")
    journal, gate, dags, workdir = tmp / "journal", tmp / "gate", tmp / "dags", tmp / "k8s"
    dags.mkdir()
    workdir.mkdir()
    url, drop = databases.migrated("postgres", tmp)
    k8s = Standin(workdir=workdir).start()
    sections = system_sections(
        core={"executor": "kubernetes", "dags_folder": str(dags)},
        kubernetes=kube_sections(k8s, pending_timeout=PENDING_TIMEOUT),
        database={"url": url},
    )
    settings = load_settings(environ={}, home=tmp, overrides=sections)
    try:
        with running_system(settings, dags) as system:
            spy = spy_on(system)
            body = OUTCOMES.format(
                journal=str(journal), gate=str(gate), annotation=OUTCOME_ANNOTATION
            )
            system.add_dag("k8s_outcomes", body)
            run_id = system.trigger("k8s_outcomes")
            held = ("oom", "evicted", "deleted")
            # Each test checks its own task: a knob that could not be applied shows there.
            if system.run_until(started(journal, *held), timeout=HANG_GUARD):
                pods = {t: system.instance("k8s_outcomes", run_id, t) for t in held}
                names = {t: ti.external_executor_id or "" for t, ti in pods.items()}
                k8s.oom_kill(names["oom"])
                k8s.evict(names["evicted"])
                core_api(k8s.kubeconfig).delete_namespaced_pod(names["deleted"], k8s.namespace)
            system.wait("k8s_outcomes", run_id, timeout=HANG_GUARD)
            yield Outcomes(system, run_id, spy)
    finally:
        gate.touch()
        k8s.stop()
        drop()


def test_outcome_succeeded(outcomes: Outcomes) -> None:
    event = outcomes.spy.finished("ok")
    assert event.state == TaskState.SUCCESS
    assert outcomes.system.xcom("k8s_outcomes", outcomes.run_id, "ok") == "fine"
    outcomes.spy.each_once()
    log = outcomes.log("ok")
    assert "all is fine" in log
    assert "Outcome: SUCCESS" in log
    assert REPORT_TAG not in log
    assert "ERROR" not in log


def test_outcome_succeeded_without_a_report(outcomes: Outcomes) -> None:
    outcomes.check("no_report", "no report")


def test_outcome_failed_with_an_exit_code(outcomes: Outcomes) -> None:
    outcomes.check("exit3", "exit code 3")


def test_outcome_oom_killed(outcomes: Outcomes) -> None:
    outcomes.check("oom", "OOMKilled")


def test_outcome_image_pull_back_off(outcomes: Outcomes) -> None:
    event = outcomes.check("bad_image")
    # ErrImagePull comes first, then ImagePullBackOff: either ends the try.
    assert event.info.startswith(("ErrImagePull", "ImagePullBackOff")), event.info
    assert not outcomes.spy.of("bad_image", Kind.RUNNING)


def test_outcome_pending_longer_than_the_pending_timeout(outcomes: Outcomes) -> None:
    outcomes.check("pending", "pending for")
    assert not outcomes.spy.of("pending", Kind.RUNNING)


def test_outcome_evicted(outcomes: Outcomes) -> None:
    outcomes.check("evicted", "evicted", "low on resource")


def test_outcome_deleted_by_someone_else(outcomes: Outcomes) -> None:
    outcomes.check("deleted", "the pod was deleted by someone else")


# ---- the watcher ---------------------------------------------------------------------------------

HELD = """
def held(ti=None):
    work({journal!r}, gate={gate!r}, ti=ti)

with DAG("k8s_held", schedule=None):
    [PythonOperator(task_id=f"h{{n}}", python_callable=held) for n in range(3)]
"""


@POSTGRES
@pytest.mark.parametrize("trouble", ["dropped", "gone", "error_410"])
def test_the_watcher_loses_no_event_and_doubles_none(
    kube_system: Callable[..., System],
    k8s: Standin,
    tmp_path: Path,
    trouble: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WATCHER_LOG)
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    system = kube_system()
    spy = spy_on(system)
    system.add_dag("k8s_held", HELD.format(journal=str(journal), gate=str(gate)))
    run_id = system.trigger("k8s_held")
    try:
        assert system.run_until(started(journal, "h0", "h1", "h2"), timeout=HANG_GUARD)
        k8s.wait_for_watches(1)
        if trouble == "dropped":
            # Cut mid-stream: the watcher resumes from its last resourceVersion.
            assert k8s.drop_watches() >= 1
        elif trouble == "gone":
            # Its resourceVersion is too old when it resumes: an HTTP 410, then a LIST.
            k8s.expire_watches(close_open=False, http=True)
            assert k8s.drop_watches() >= 1
        else:
            # The open watch ends with an ERROR event 410.
            assert k8s.expire_watches(close_open=True) >= 1
        # The pods end while the watcher reconnects (or lists again).
        gate.touch()
        assert system.wait("k8s_held", run_id, timeout=HANG_GUARD) == "success", spy.events
    finally:
        gate.touch()
    # The trouble did reach the watcher: it resumed, or (after a 410) listed again.
    said = [r.getMessage() for r in caplog.records if r.name == WATCHER_LOG]
    expected = "resum" if trouble == "dropped" else "410"
    assert any(expected in line for line in said), said
    spy.each_once()
    for n in range(3):
        assert spy.finished(f"h{n}").state == TaskState.SUCCESS
        assert system.instance("k8s_held", run_id, f"h{n}").try_number == 1


def test_a_watch_kept_recent_by_bookmarks_resumes_without_listing_again(k8s: Standin) -> None:
    seen: list[PodEvent | Listed] = []
    watcher = PodWatcher(
        core_api(k8s.kubeconfig), k8s.namespace, "app=tradewind", seen.append, retry_delay=0.05
    )
    watcher.start()
    try:
        k8s.wait_for_watches(1)
        # Other kinds of change move the version on; none of the watched pods changes.
        k8s.expire_watches(close_open=False)
        assert k8s.bookmark() == 1
        assert wait_for(lambda: watcher.resource_version == str(k8s.store.rv))
        k8s.end_watches()  # as a watch's timeoutSeconds ends it
        k8s.wait_for_watches(1)
    finally:
        watcher.stop()
    assert watcher.relists == 1  # resumed from the bookmark's version: no 410, no list
    assert [type(item) for item in seen] == [Listed]


# ---- adoption ----------------------------------------------------------------------------------

ADOPTED = """
def held(ti=None):
    work({journal!r}, gate={gate!r}, ti=ti)

with DAG("k8s_adopted", schedule=None, default_args={{"retries": 2}}):
    PythonOperator(task_id="long", python_callable=held)
"""


@dataclass
class Takeover:
    """A scheduler process killed once a task started, and another taking over."""

    settings: Settings
    dags: Path
    journal: Path
    gate: Path
    log: Path  # the first scheduler's

    def kill_once_started(self, idle: System, dag_id: str, run_id: str, task_id: str) -> int:
        """Run the first scheduler until ``task_id`` runs, then SIGKILL it; its pid."""
        with scheduler_process(self.settings, self.log) as first:
            running = lambda: idle.state(dag_id, run_id, task_id) == TaskState.RUNNING  # noqa: E731
            assert wait_for(running), self.log.read_text()
            assert wait_for(started(self.journal, task_id)), self.log.read_text()
            first.send_signal(signal.SIGKILL)
            first.wait()
        return first.pid


@pytest.fixture(name="takeover")
def takeover_fixture(
    migrated_db_url: str, make_settings: Callable[..., Settings], k8s: Standin, tmp_path: Path
) -> Takeover:
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(
        core={"executor": "kubernetes", "dags_folder": str(dags)},
        # A short job_timeout lets the new scheduler see quickly that the old one is gone.
        scheduler={"job_timeout": 1.0, "heartbeat_interval": 0.2},
        kubernetes=kube_sections(k8s),
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    return Takeover(
        settings, dags, tmp_path / "journal", tmp_path / "gate", tmp_path / "scheduler.log"
    )


@POSTGRES
def test_a_scheduler_started_again_adopts_the_running_pod(takeover: Takeover, k8s: Standin) -> None:
    settings, dags, journal, gate = (
        takeover.settings,
        takeover.dags,
        takeover.journal,
        takeover.gate,
    )
    try:
        with running_system(settings, dags, start=False) as idle:
            idle.add_dag("k8s_adopted", ADOPTED.format(journal=str(journal), gate=str(gate)))
            run_id = idle.trigger("k8s_adopted")
            first_pid = takeover.kill_once_started(idle, "k8s_adopted", run_id, "long")
            pod = idle.instance("k8s_adopted", run_id, "long").external_executor_id
            assert pod is not None
            api = core_api(k8s.kubeconfig)
            before = api.read_namespaced_pod(pod, k8s.namespace)
            assert before.status.phase == "Running"

        with running_system(settings, dags) as second:
            spy = spy_on(second)
            # Taken over once the first scheduler's job is seen gone; then the pod may end.
            adopted = lambda: second.scheduler.executor.active_keys() != set()  # noqa: E731
            assert second.run_until(adopted, timeout=HANG_GUARD)
            # Re-labelled with this scheduler's id (hostname-pid), so its watch sees the pod.
            relabelled = api.read_namespaced_pod(pod, k8s.namespace).metadata.labels
            gate.touch()
            assert second.wait("k8s_adopted", run_id, timeout=HANG_GUARD) == "success"
            ti = second.instance("k8s_adopted", run_id, "long")
    finally:
        gate.touch()
    assert ti.try_number == 1
    assert ti.external_executor_id == pod
    assert before.metadata.labels[SCHEDULER_LABEL].endswith(f"-{first_pid}")
    assert relabelled[SCHEDULER_LABEL].endswith(f"-{os.getpid()}")
    assert [e.try_number for e in read_journal(journal)] == [1]
    assert [e.key.try_number for e in spy.of("long", Kind.FINISHED)] == [1]
    assert spy.finished("long").state == TaskState.SUCCESS


# ---- creation in batches -----------------------------------------------------------------------

FIVE = """
with DAG("k8s_five", schedule=None):
    [BashOperator(task_id=f"b{n}", bash_command="true") for n in range(5)]
"""


@POSTGRES
def test_pods_are_created_no_more_than_a_batch_per_round(
    kube_system: Callable[..., System], k8s: Standin
) -> None:
    system = kube_system(worker_pods_creation_batch_size=2)
    spy = spy_on(system, lambda: len(k8s.created()))
    system.add_dag("k8s_five", FIVE)
    run_id = system.trigger("k8s_five")

    assert system.wait("k8s_five", run_id, timeout=HANG_GUARD) == "success"

    assert sum(spy.rounds) == 5, spy.rounds
    assert sorted(spy.rounds, reverse=True)[:3] == [2, 2, 1], spy.rounds
    spy.each_once()


# ---- cancel, and a try submitted twice -----------------------------------------------------------


def test_a_try_submitted_twice_gets_one_pod_and_cancel_deletes_it(
    k8s: Standin, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, core={"executor": "kubernetes"}, kubernetes=kube_sections(k8s)
    )
    stays_pending = {"pod_override": {"metadata": {"annotations": {OUTCOME_ANNOTATION: "pending"}}}}
    key = TaskKey("k8s_twice", "manual__2026-01-01T00:00:00+00:00", "t")
    workload = Workload(key, str(tmp_path / "k8s_twice.py"), executor_config=stays_pending)
    first, second = (KubernetesExecutor(settings, scheduler_id=f"k3-{n}") for n in (1, 2))
    events: list[TaskEvent] = []
    try:
        first.start()
        second.start()
        name = first.external_id(key)
        assert name is not None
        first.submit(workload)
        assert wait_for(lambda: bool(first.poll(0.1)) or k8s.pod(name) is not None)
        # Created by another executor already: a 409, followed instead of failed.
        second.submit(workload)
        events += second.poll(0.5)
        assert key in second.active_keys()

        second.cancel(key)
        events += second.poll(0.5)
        assert wait_for(lambda: k8s.pod(name) is None)
        events += second.poll(1.0)
    finally:
        first.close()
        second.close()
    assert k8s.created() == [name]
    assert [(e.kind, e.info) for e in events] == [(Kind.FINISHED, "cancelled")]
    assert events[0].report.cause is Cause.CANCELLED


def test_a_try_whose_pod_another_executor_created_is_followed_to_its_end(
    k8s: Standin, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, core={"executor": "kubernetes"}, kubernetes=kube_sections(k8s)
    )
    stays_pending = {"pod_override": {"metadata": {"annotations": {OUTCOME_ANNOTATION: "pending"}}}}
    key = TaskKey("k8s_409", "manual__2026-01-01T00:00:00+00:00", "t")
    workload = Workload(key, str(tmp_path / "k8s_409.py"), executor_config=stays_pending)
    first, second = (KubernetesExecutor(settings, scheduler_id=f"k3-{n}") for n in (1, 2))
    events: list[TaskEvent] = []
    try:
        first.start()
        name = first.external_id(key)
        assert name is not None
        first.submit(workload)
        assert wait_for(lambda: bool(first.poll(0.1)) or k8s.pod(name) is not None)
        first.close()
        second.start()
        second.submit(workload)
        events += second.poll(0.5)
        assert k8s.evict(name)
        end = time.monotonic() + HANG_GUARD
        while not any(e.kind == Kind.FINISHED for e in events) and time.monotonic() < end:
            events += second.poll(0.5)
    finally:
        first.close()
        second.close()
    assert k8s.created() == [name]
    finished = [e for e in events if e.kind == Kind.FINISHED]
    assert len(finished) == 1, events
    assert finished[0].state == TaskState.FAILED
    assert finished[0].info.startswith("evicted: The node was low on resource"), finished[0].info

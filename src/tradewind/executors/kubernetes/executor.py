"""The kubernetes executor: each task try runs in a pod of its own.

:meth:`KubernetesExecutor.submit` only queues the try; :meth:`poll` creates the pods of waiting
tries, highest ``priority_weight`` first, at most ``worker_pods_creation_batch_size`` per call and
never more than ``core.parallelism`` tries in flight. A pod's name comes from the try's key
(:func:`~tradewind.executors.kubernetes.podspec.pod_name`), so creating it twice answers 409:
already submitted. A :class:`~tradewind.executors.kubernetes.watcher.PodWatcher` thread follows
the pods labelled with this scheduler's id and queues what it sees; ``poll`` turns it into
events: RUNNING when the pod runs, and when it ends the try's own report (its last finished
message in the pod's log) or, without one, what the pod's status says.

The pod's log is the try's log: when the pod ends, it is kept in the try's log file (under
``logging.base_log_folder``) before the pod is deleted, with how the pod ended on a last line
when the try could not say it (see :mod:`~tradewind.executors.kubernetes.podlogs`).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import kubernetes  # noqa: F401 - without the kubernetes extra, choosing this executor says so
from kubernetes.client.exceptions import ApiException

from tradewind import reports, tasklogs
from tradewind.executors.base import (
    ExecutorError,
    TaskEvent,
    cancelled_event,
    event_from_message,
    lost_event,
)
from tradewind.executors.kubernetes import orphans, podlogs, podspec
from tradewind.executors.kubernetes.client import (
    REQUEST_TIMEOUT,
    delete_pod,
    deletes,
    make_api,
    status_message,
)
from tradewind.executors.kubernetes.outcome import (
    base_ended,
    container_started,
    pending_reason,
    pod_failure,
    waiting_failure,
)
from tradewind.executors.kubernetes.watcher import Listed, PodEvent, PodWatcher
from tradewind.executors.remote import RemoteExecutor
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)

# How often pending pods are checked against pending_timeout.
CHECK_INTERVAL = 1.0
# After a create that failed for a reason that may pass (API away, quota), the next attempt.
CREATE_RETRY = 1.0
# A finished pod of another scheduler is an orphan once it ended this many job timeouts ago:
# by then a live scheduler taking over from a dead one has adopted it, if its try still waits.
ORPHAN_GRACE_JOB_TIMEOUTS = 6
# Threads reading and keeping the logs of ended pods.
KEEPERS = 4
# Statuses of a failed create worth trying again.
_TRANSIENT = frozenset({403, 429, 500, 502, 503, 504})


@dataclass(eq=False)
class Flight:
    """A try whose pod was created (or adopted), until its end is reported."""

    key: TaskKey
    name: str
    since: float
    running: bool = False
    held_back: str = ""  # what the pod last said holds it back while pending
    ending: bool = False  # its pod ended; a log keeper reads the outcome


@dataclass(frozen=True)
class Concluded:
    """What a log keeper thread made of an ended pod: the try's last event."""

    flight: Flight
    event: TaskEvent


class KubernetesExecutor(RemoteExecutor[Flight]):
    """Runs each try in a pod and follows the pods through a watch."""

    name: ClassVar[str] = "kubernetes"
    supports_adoption: ClassVar[bool] = True

    def __init__(
        self, settings: Settings, *, scheduler_id: str | None = None, api: Any = None
    ) -> None:
        super().__init__(settings)
        self.scheduler_id = scheduler_id
        self.api: Any = api
        self.template: dict[str, Any] | None = None
        self.watcher: PodWatcher | None = None
        self._by_name: dict[str, TaskKey] = {}
        self._seen: queue.SimpleQueue[PodEvent | Listed | Concluded] = queue.SimpleQueue()
        self._keepers: ThreadPoolExecutor | None = None
        self._woken = False
        self._next_check = 0.0
        self._next_create = 0.0
        self._next_sweep = float("inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """An executor for the cluster and pod template ``settings.kubernetes`` names (each
        pod runs ``tradewind tasks run``: there is no other runner to choose)."""
        return cls(settings)

    @property
    def _check_interval(self) -> float:
        return min(CHECK_INTERVAL, self.settings.kubernetes.pending_timeout)

    @property
    def namespace(self) -> str:
        return self.settings.kubernetes.namespace

    # ---- life cycle ------------------------------------------------------------------------

    def start(self, scheduler_id: str | None = None) -> None:
        if self.watcher is not None:
            return
        self.scheduler_id = scheduler_id or self.scheduler_id or default_scheduler_id()
        try:
            self.template = podspec.template_for(self.settings)
        except podspec.PodSpecError as exc:
            raise ExecutorError(str(exc)) from None
        if self.api is None:
            try:
                self.api = make_api(self.settings.kubernetes)
            except Exception as exc:  # no kubeconfig, not in a cluster, a broken file
                raise ExecutorError(f"cannot configure the Kubernetes client: {exc}") from None
        self.watcher = PodWatcher(
            self.api, self.namespace, podspec.selector(self.scheduler_id), self._on_seen
        )
        self.watcher.start()
        interval = self.settings.kubernetes.orphan_sweep_interval
        if interval > 0:
            self._next_sweep = time.monotonic() + min(interval, self.orphan_grace)

    @property
    def orphan_grace(self) -> float:
        return ORPHAN_GRACE_JOB_TIMEOUTS * self.settings.scheduler.job_timeout

    def close(self) -> None:
        """Stop watching. Pods go on (a scheduler taking over adopts them); tries not yet
        created are dropped (their task instances are reset as orphans)."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self._keepers is not None:
            # A pod whose end is being read stays (it is deleted only once its end is handed
            # on): a scheduler taking over adopts it and reads it again.
            self._keepers.shutdown(wait=False, cancel_futures=True)
            self._keepers = None
        self._waiting.clear()
        self._flight.clear()
        self._by_name.clear()

    def wakeup(self) -> None:
        self._woken = True
        self._wake.set()

    # ---- the interface ---------------------------------------------------------------------

    @classmethod
    def log_source(cls, settings: Settings) -> tasklogs.LogSource:
        """The log file here once the try's pod ended; before, the pod's own log."""
        return podlogs.PodLogSource(settings.logging.base_log_folder, settings.kubernetes)

    def external_id(self, key: TaskKey) -> str | None:
        return podspec.pod_name(key)

    def pod_for(self, workload: Workload) -> dict[str, Any]:
        """The pod this executor would create for ``workload``."""
        return podspec.build_pod(
            workload, self.settings, scheduler_id=self.scheduler_id, template=self.template
        )

    def submit(self, workload: Workload) -> None:
        if workload.key in self._flight or workload.key in self._waiting:
            return
        self._waiting.push(workload)
        self._wake.set()

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        """Follow pods another scheduler created: each is re-labelled with this scheduler's id
        (so the watch sees it); a try whose pod is gone is not adopted."""
        assert self.scheduler_id is not None, "start() first"
        adopted: set[TaskKey] = set()
        for key in keys:
            name = podspec.pod_name(key)
            if key not in self._flight:
                if not self._relabel(name):
                    continue
                self._track(key, name)
            adopted.add(key)
        return adopted

    def _relabel(self, name: str) -> bool:
        """Label pod ``name`` with this scheduler's id; False when it cannot be."""
        assert self.scheduler_id is not None
        labels = {podspec.SCHEDULER: podspec.label_value(self.scheduler_id)}
        try:
            self.api.patch_namespaced_pod(
                name,
                self.namespace,
                {"metadata": {"labels": labels}},
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status != 404:
                log.warning("cannot adopt pod %s: %s %s", name, exc.status, exc.reason)
            return False
        except Exception as exc:
            log.warning("cannot adopt pod %s: %s", name, exc)
            return False
        return True

    def cancel(self, key: TaskKey) -> None:
        if self._cancel_waiting(key):
            return
        flight = self._flight.get(key)
        if flight is None:
            return
        self._forget(flight)
        self._delete(flight.name)
        self._report(cancelled_event(key))

    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._create_waiting()
        if time.monotonic() >= self._next_sweep:
            self._sweep_orphans()
        while True:
            self._drain()
            if time.monotonic() >= self._next_check:
                self._check_pending()
            if self._ready:
                ready, self._ready = self._ready, []
                return ready
            if self._woken:
                self._woken = False
                self._wake.clear()
                return []
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            wait = remaining
            if self._flight:
                until_check = max(0.0, self._next_check - time.monotonic())
                wait = until_check if wait is None else min(wait, until_check)
            self._wake.wait(wait)
            self._wake.clear()

    # ---- creating pods ---------------------------------------------------------------------

    def _create_waiting(self) -> None:
        if self.api is None or time.monotonic() < self._next_create:
            return
        room = self.settings.core.parallelism - len(self._flight)
        batch = min(room, self.settings.kubernetes.worker_pods_creation_batch_size)
        for _ in range(batch):
            if not self._waiting:
                return
            workload = self._waiting.pop()
            if not self._create(workload):
                self._waiting.push(workload)
                self._next_create = time.monotonic() + CREATE_RETRY
                return

    def _create(self, workload: Workload) -> bool:
        """Create the try's pod; False when it should be tried again later."""
        key = workload.key
        try:
            pod = self.pod_for(workload)
        except podspec.PodSpecError as exc:
            self._fail_early(workload, f"cannot build its pod: {exc}")
            return True
        name = pod["metadata"]["name"]
        try:
            self.api.create_namespaced_pod(self.namespace, pod, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 409:  # already submitted (by us, or by a scheduler before us)
                self._relabel(name)
                self._track(key, name)
                return True
            if exc.status in _TRANSIENT:
                log.warning("cannot create pod %s for %s (again soon): %s", name, key, exc.reason)
                return False
            self._fail_early(
                workload, f"cannot create its pod: {exc.status} {status_message(exc) or exc.reason}"
            )
            return True
        except Exception as exc:  # the API is unreachable
            log.warning("cannot create pod %s for %s (again soon): %s", name, key, exc)
            return False
        self._track(key, name)
        return True

    def _track(self, key: TaskKey, name: str) -> None:
        if key not in self._flight:
            self._flight[key] = Flight(key, name, time.monotonic())
            self._by_name[name] = key
            self._next_check = min(self._next_check, time.monotonic() + self._check_interval)

    # ---- following pods --------------------------------------------------------------------

    def _on_seen(self, item: PodEvent | Listed | Concluded) -> None:
        self._seen.put(item)
        self._wake.set()

    def _drain(self) -> None:
        while True:
            try:
                item = self._seen.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Listed):
                self._reconcile(item)
            elif isinstance(item, Concluded):
                self._on_concluded(item)
            else:
                self._on_pod(item.type, item.pod)

    def _reconcile(self, listed: Listed) -> None:
        for pod in listed.pods:
            self._on_pod("MODIFIED", pod)
        for flight in list(self._flight.values()):
            gone = flight.name not in listed.names and flight.since < listed.started
            if gone and not flight.ending:
                self._fail(flight, "the pod was deleted by someone else")

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        name = (pod.get("metadata") or {}).get("name", "")
        key = self._by_name.get(name)
        flight = self._flight.get(key) if key is not None else None
        if flight is None or flight.ending:
            return
        if kind == "DELETED":
            self._fail(flight, "the pod was deleted by someone else")
            return
        status = pod.get("status") or {}
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed") or (phase == "Running" and base_ended(pod)):
            self._on_ended(flight, pod)
        elif phase == "Running" and not flight.running:
            self._on_running(flight, pod)
        elif phase == "Pending" or phase is None:
            reason = waiting_failure(pod)
            if reason is not None:
                self._fail(flight, reason)
                self._delete(flight.name)
            else:
                flight.held_back = pending_reason(pod)

    def _on_running(self, flight: Flight, pod: dict[str, Any]) -> None:
        flight.running = True
        host = (pod.get("spec") or {}).get("nodeName") or flight.name
        self._ready.append(TaskEvent(flight.key, reports.Running(reports.now(), hostname=host)))

    def _on_ended(self, flight: Flight, pod: dict[str, Any]) -> None:
        started = flight.running or container_started(pod)
        if not flight.running and started:
            self._on_running(flight, pod)  # it ran, too fast for the watch to see it running
        if not started:  # nothing to read: said in its log, and done
            self._fail(flight, pod_failure(pod))
            self._delete_ended(flight, TaskState.FAILED)
            return
        # Its log is read and kept by a keeper thread: a long log does not hold up this loop.
        flight.ending = True
        if self._keepers is None:
            self._keepers = ThreadPoolExecutor(KEEPERS, thread_name_prefix="pod-log-keeper")
        self._keepers.submit(self._conclude, flight, pod)

    def _conclude(self, flight: Flight, pod: dict[str, Any]) -> None:
        """(In a keeper thread.) Keep the ended pod's log; the try's event goes to ``poll``."""
        try:
            path = self._log_path(flight.key)
            kept = podlogs.keep(self.api, self.namespace, flight.name, path)
            if kept.unwritten:
                log.warning("cannot keep pod %s's log in %s: %s", flight.name, path, kept.unwritten)
            if kept.finished is not None:
                event = event_from_message(flight.key, kept.finished)
            else:
                info = pod_failure(pod)
                if kept.unreadable:
                    info += f" (its log could not be read: {kept.unreadable})"
                self._note(flight, info)
                event = lost_event(flight.key, info)
        except Exception as exc:  # the try's end must be handed on whatever happens here
            log.exception("reading the end of pod %s failed", flight.name)
            event = lost_event(flight.key, f"its end could not be read: {exc}")
        self._on_seen(Concluded(flight, event))

    def _on_concluded(self, concluded: Concluded) -> None:
        flight = concluded.flight
        if self._flight.get(flight.key) is not flight:
            return  # cancelled meanwhile
        self._finish(flight, concluded.event)
        self._delete_ended(flight, concluded.event.state)

    def _delete_ended(self, flight: Flight, state: TaskState | None) -> None:
        """Delete an ended try's pod, as the settings say."""
        if deletes(self.settings.kubernetes, succeeded=state == TaskState.SUCCESS):
            self._delete(flight.name)

    def _note(self, flight: Flight, info: str) -> None:
        self._note_of(flight.key, flight.name, info)

    def _note_of(self, key: TaskKey, name: str, info: str) -> None:
        path = self._log_path(key)
        try:
            podlogs.add_note(path, name, info)
        except OSError as exc:
            log.warning("cannot write the log of pod %s in %s: %s", name, path, exc)

    def _fail_early(self, workload: Workload, info: str) -> None:
        """The try's pod cannot be made: said in its log and in the event."""
        self._note_of(workload.key, podspec.pod_name(workload.key, workload.resumptions), info)
        self._report(lost_event(workload.key, info))

    def _log_path(self, key: TaskKey) -> Path:
        return tasklogs.log_path(self.settings.logging.base_log_folder, key)

    def _fail(self, flight: Flight, info: str) -> None:
        """The try failed for a reason of its pod's: said in its log and in the event."""
        self._note(flight, info)
        self._finish(flight, lost_event(flight.key, info))

    def _check_pending(self) -> None:
        tick = time.monotonic()
        self._next_check = tick + self._check_interval if self._flight else float("inf")
        limit = self.settings.kubernetes.pending_timeout
        for flight in list(self._flight.values()):
            if not flight.running and not flight.ending and tick - flight.since > limit:
                held = f" ({flight.held_back})" if flight.held_back else ""
                self._fail(flight, f"pending for {limit:g} s{held}")
                self._delete(flight.name)

    def _sweep_orphans(self) -> None:
        self._next_sweep = time.monotonic() + self.settings.kubernetes.orphan_sweep_interval
        assert self.scheduler_id is not None
        orphans.sweep(
            self.api,
            self.settings,
            mine=podspec.label_value(self.scheduler_id),
            followed=set(self._by_name),
            grace=self.orphan_grace,
        )

    def _finish(self, flight: Flight, event: TaskEvent) -> None:
        self._forget(flight)
        self._ready.append(event)

    def _forget(self, flight: Flight) -> None:
        self._flight.pop(flight.key, None)
        self._by_name.pop(flight.name, None)

    def _delete(self, name: str) -> None:
        try:
            delete_pod(self.api, self.namespace, name)
        except ApiException as exc:
            log.warning("cannot delete pod %s: %s %s", name, exc.status, exc.reason)
        except Exception as exc:
            log.warning("cannot delete pod %s: %s", name, exc)


def default_scheduler_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"

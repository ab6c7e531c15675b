"""The stand-in's kubelet: one node, each pod run as a local process.

A pod's status moves as a kubelet and scheduler would move it, one MODIFIED event per step:

1. created: phase Pending, no node;
2. scheduled: ``spec.nodeName`` = NODE_NAME, the first container waiting (ContainerCreating);
3. started: phase Running, container ``state.running``;
4. ended: phase Succeeded (exit 0) or Failed, container ``state.terminated`` {exitCode, reason}.

The process is the first container's command + args ($(VAR) expanded) with the host environment
plus the container's environment, cwd workingDir; its stdout and stderr are the pod log. The
environment is resolved when the container starts, in the kubelet's order: ``envFrom`` first
(each ``secretRef``'s keys, with the source's ``prefix``; a later source wins), then ``env``
(``value``, ``valueFrom.fieldRef`` to metadata.name/namespace, ``valueFrom.secretKeyRef``), which
override. There are no ConfigMaps: an envFrom ``configMapRef`` is ignored, and a valueFrom other
than those (configMapKeyRef, resourceFieldRef...) gives an empty value.

A secret (or a secretKeyRef's key) that is missing and not ``optional`` keeps the pod Pending with
the container waiting, reason CreateContainerConfigError and the kubelet's message
(``secret "NAME" not found``, ``couldn't find key KEY in Secret NS/NAME``). The kubelet retries
whenever a secret changes and every CONFIG_RETRY seconds, and starts the container once it can.
An optional one that is missing is left out.

The first container's image (or the annotation OUTCOME_ANNOTATION) picks an outcome:

- "bad-image": waiting ErrImagePull then ImagePullBackOff, Pending forever;
- an image with spaces or capitals: waiting InvalidImageName, Pending forever;
- "pending" (or a nodeSelector the node's labels do not satisfy): never scheduled, Pending;
- "oom": killed once running: exit 137, reason OOMKilled, phase Failed;
- "evict": evicted once running: phase Failed, status.reason Evicted;
- "delete": deleted (by someone else) once running.

:meth:`Kubelet.oom_kill` and :meth:`Kubelet.evict` do the same to a pod at any time.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8s_standin.store import Pod, Store, now_iso

NODE_NAME = "standin-node"
NODE_LABELS = {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"}
OUTCOME_ANNOTATION = "standin.tradewind/outcome"
EVICTION_MESSAGE = "The node was low on resource: memory."
VALID_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")
CONFIG_RETRY = 0.5  # seconds between tries of a container waiting in CreateContainerConfigError


class ConfigError(Exception):
    """A secret or key the container needs is missing: CreateContainerConfigError."""


@dataclass(eq=False)
class PodProcess:
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    kill_reason: str | None = None  # "OOMKilled" or "Evicted" when a knob killed it
    start_error: bool = False  # the command could not be started: exit 128, StartError
    started_at: str | None = None
    ended: bool = False


def outcome_of(pod: Pod) -> str:
    annotation = pod["metadata"].get("annotations", {}).get(OUTCOME_ANNOTATION)
    return str(annotation or pod["spec"]["containers"][0].get("image") or "")


def container_status(container: dict[str, Any], state: dict[str, Any], **more: Any) -> Pod:
    return {
        "name": container["name"],
        "image": container.get("image") or "",
        "imageID": "",
        "containerID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": state,
        **more,
    }


def condition(type_: str, status: bool, **more: str) -> dict[str, str]:
    return {
        "type": type_,
        "status": "True" if status else "False",
        "lastTransitionTime": now_iso(),
        **more,
    }


def container_env(pod: Pod, container: Pod, store: Store) -> dict[str, str]:
    """The container's environment from its envFrom and env; ConfigError if it cannot start."""
    namespace = pod["metadata"]["namespace"]

    def secret_data(ref: dict[str, Any]) -> dict[str, str] | None:
        secret = store.get_secret(namespace, ref["name"])
        if secret is None:
            if ref.get("optional"):
                return None
            raise ConfigError(f'secret "{ref["name"]}" not found')
        data = secret.get("data") or {}
        return {k: base64.b64decode(v).decode(errors="surrogateescape") for k, v in data.items()}

    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if source.get("secretRef"):
            data = secret_data(source["secretRef"]) or {}
            env.update({(source.get("prefix") or "") + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") or {}
        field = (value_from.get("fieldRef") or {}).get("fieldPath")
        ref = value_from.get("secretKeyRef")
        if ref:
            data = secret_data(ref)
            if data is not None and ref["key"] in data:
                env[var["name"]] = data[ref["key"]]
            elif data is not None and not ref.get("optional"):
                key, name = ref["key"], ref["name"]
                raise ConfigError(f"couldn't find key {key} in Secret {namespace}/{name}")
        elif field in ("metadata.name", "metadata.namespace"):
            env[var["name"]] = pod["metadata"][field.split(".")[1]]
        else:  # a value, or a valueFrom the stand-in does not know: empty
            env[var["name"]] = str(var.get("value") or "")
    return env


class Kubelet:
    def __init__(self, store: Store, log_dir: Path) -> None:
        self.store = store
        self.log_dir = log_dir
        self.lock = threading.Lock()
        self.processes: dict[tuple[str, str], PodProcess] = {}
        self.stopped = False  # set by shutdown (with store.cond held): waiting pods give up

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self.lock:
            self.processes[key] = PodProcess(self.log_dir / f"{namespace}_{name}.log")
        threading.Thread(target=self._run, args=key, daemon=True, name=f"pod-{name}").start()

    def _run(self, namespace: str, name: str) -> None:
        pod = self.store.get(namespace, name)
        if pod is None:
            return
        record = self.processes[(namespace, name)]
        container = pod["spec"]["containers"][0]
        outcome = outcome_of(pod)
        selector = pod["spec"].get("nodeSelector") or {}
        if outcome == "pending" or any(NODE_LABELS.get(k) != v for k, v in selector.items()):
            message = (
                "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
            )
            self._set(
                namespace,
                name,
                conditions=[
                    condition("PodScheduled", False, reason="Unschedulable", message=message)
                ],
            )
            return
        waiting = {"waiting": {"reason": "ContainerCreating"}}
        if not self._schedule(namespace, name, container, waiting):
            return
        if not VALID_IMAGE.match(container.get("image") or ""):
            message = f'Failed to apply default image tag "{container.get("image")}"'
            reason = {"reason": "InvalidImageName", "message": message}
            self._set(
                namespace,
                name,
                containerStatuses=[container_status(container, {"waiting": reason})],
            )
            return
        if outcome == "bad-image":
            for reason in ("ErrImagePull", "ImagePullBackOff"):
                state = {"waiting": {"reason": reason, "message": f'pull "{container["image"]}"'}}
                self._set(namespace, name, containerStatuses=[container_status(container, state)])
                time.sleep(0.05)
            return
        env = self._config(namespace, name, container)
        if env is None or not self._start_process(namespace, name, container, record, env=env):
            return
        if outcome == "oom":
            self.oom_kill(namespace, name)
        elif outcome == "evict":
            self.evict(namespace, name)
        elif outcome == "delete":
            self.store.delete(namespace, name)
            self.kill(namespace, name)
        assert record.proc is not None
        code = record.proc.wait()
        self._finish(namespace, name, container, record, 128 - code if code < 0 else code)

    def _set(self, namespace: str, name: str, **status: Any) -> bool:
        return (
            self.store.update(namespace, name, lambda pod: pod["status"].update(status)) is not None
        )

    def _schedule(self, namespace: str, name: str, container: Pod, state: Pod) -> bool:
        def change(pod: Pod) -> None:
            pod["spec"]["nodeName"] = NODE_NAME
            pod["status"].update(
                hostIP="127.0.0.1",
                conditions=[condition("PodScheduled", True)],
                containerStatuses=[container_status(container, state)],
            )

        return self.store.update(namespace, name, change) is not None

    def _config(self, namespace: str, name: str, container: Pod) -> dict[str, str] | None:
        """The container's environment once every secret it needs is there; until then the
        container waits in CreateContainerConfigError. None when the pod is gone, no longer
        Pending (evicted) or the kubelet stopped."""
        shown = None
        while True:
            with self.store.cond:
                if self.stopped:
                    return None
                seen = self.store.secret_changes
            pod = self.store.get(namespace, name)
            if pod is None or pod["status"]["phase"] != "Pending":
                return None
            try:
                return container_env(pod, container, self.store)
            except ConfigError as error:
                message = str(error)
            if message != shown:  # the real kubelet too updates the status only on a change
                state = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
                self._set(namespace, name, containerStatuses=[container_status(container, state)])
                shown = message
            with self.store.cond:
                self.store.cond.wait_for(
                    lambda seen=seen: self.stopped or self.store.secret_changes != seen,
                    timeout=CONFIG_RETRY,
                )

    def _start_process(
        self, namespace: str, name: str, container: Pod, record: PodProcess, *, env: dict[str, str]
    ) -> bool:
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        env = {**os.environ, "PATH": path, **env}
        argv = [
            re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), arg)
            for arg in (container.get("command") or []) + (container.get("args") or [])
        ]
        with self.lock, record.log_path.open("wb") as log:
            current = self.store.get(namespace, name)
            if current is None or current["status"]["phase"] != "Pending":
                return False  # deleted or evicted meanwhile
            try:
                record.proc = subprocess.Popen(
                    argv or ["true"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=container.get("workingDir"),
                    start_new_session=True,
                )
            except OSError as error:
                log.write(f"{error}\n".encode())
                record.start_error = True
                record.proc = subprocess.Popen(["sh", "-c", "exit 128"])
            record.started_at = now_iso()
        running = {"running": {"startedAt": record.started_at}}
        status = container_status(container, running, ready=True, started=True)
        status["containerID"] = f"standin://{record.proc.pid}"
        return self._set(
            namespace,
            name,
            phase="Running",
            startTime=record.started_at,
            podIP="127.0.0.1",
            conditions=[condition("PodScheduled", True), condition("Ready", True)],
            containerStatuses=[status],
        )

    def _finish(
        self, namespace: str, name: str, container: Pod, record: PodProcess, code: int
    ) -> None:
        with self.lock:
            record.ended = True
            kill_reason = record.kill_reason
        reason = "Completed" if code == 0 else "StartError" if record.start_error else "Error"
        if kill_reason == "OOMKilled":
            code, reason = 137, "OOMKilled"
        terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": record.started_at,
            "finishedAt": now_iso(),
        }
        status: dict[str, Any] = {
            "phase": "Succeeded" if code == 0 and kill_reason is None else "Failed",
            "conditions": [condition("PodScheduled", True), condition("Ready", False)],
            "containerStatuses": [container_status(container, {"terminated": terminated})],
        }
        if kill_reason == "Evicted":
            status.update(reason="Evicted", message=EVICTION_MESSAGE)
        self._set(namespace, name, **status)

    # -- knobs -----------------------------------------------------------------------------

    def kill(self, namespace: str, name: str, reason: str | None = None) -> bool:
        """SIGKILL the pod's process (its whole session); False when it is not running."""
        with self.lock:
            record = self.processes.get((namespace, name))
            if record is None or record.proc is None or record.ended:
                return False
            if reason is not None:
                record.kill_reason = reason
            try:
                os.killpg(record.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                return False
            return True

    def oom_kill(self, namespace: str, name: str) -> bool:
        return self.kill(namespace, name, "OOMKilled")

    def evict(self, namespace: str, name: str) -> bool:
        if self.kill(namespace, name, "Evicted"):
            return True
        # Not running (still pending, or never started): the pod fails at once.
        return self._set(
            namespace, name, phase="Failed", reason="Evicted", message=EVICTION_MESSAGE
        )

    def log(self, namespace: str, name: str) -> bytes | None:
        """The pod's log so far; None when its container never started."""
        record = self.processes.get((namespace, name))
        if record is None or record.started_at is None:
            return None
        return record.log_path.read_bytes()

    def running(self, namespace: str, name: str) -> bool:
        record = self.processes.get((namespace, name))
        return record is not None and record.started_at is not None and not record.ended

    def shutdown(self) -> None:
        with self.store.cond:
            self.stopped = True
            self.store.cond.notify_all()
        for namespace, name in list(self.processes):
            self.kill(namespace, name)

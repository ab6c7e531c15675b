"""The pod of a task try: built from a template (or the built-in default) plus overrides.

Pods are plain dicts in the Kubernetes REST shape (what a pod YAML file holds), so a template
file, an ``executor_config`` override and what the API returns are all the same kind of value.

A try's pod is named ``tw-`` + 16 hex digits of a sha1 of its key: the same try always gets the
same name, so creating it a second time is a 409 (already submitted). Its labels (label syntax,
63 characters at most) select it; its annotations carry the exact ids and the workload.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

BASE_CONTAINER = "base"
APP_LABEL = "app"
APP = "tradewind"
PREFIX = "tradewind/"
DAG_ID = PREFIX + "dag-id"
TASK_ID = PREFIX + "task-id"
RUN_ID = PREFIX + "run-id"
TRY_NUMBER = PREFIX + "try-number"
MAP_INDEX = PREFIX + "map-index"
SCHEDULER = PREFIX + "scheduler"
WORKLOAD = PREFIX + "workload"
UNKNOWN_SCHEDULER = "unknown"
SETTINGS_ENV = "TRADEWIND_SETTINGS_JSON"
# Lists of named items that an override merges into, item by item (others it replaces).
_MERGED_BY_NAME = frozenset(
    {"containers", "initContainers", "volumes", "volumeMounts", "env", "ports"}
)
_LABEL_MAX = 63
_NOT_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


class PodSpecError(ValueError):
    """A pod template or an override that is not a pod."""


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def pod_name(key: TaskKey, resumptions: int = 0) -> str:
    """The deterministic pod name of a try (of its ``resumptions``-th resumption after
    deferring: each resumption runs in a pod of its own)."""
    raw = f"{key.dag_id}|{key.run_id}|{key.task_id}|{key.map_index}|{key.try_number}"
    if resumptions:
        raw += f"|{resumptions}"
    return "tw-" + _sha1(raw)[:16]


def label_value(value: str) -> str:
    """``value`` in label syntax: other characters become ``-``, too long ones end in a hash."""
    safe = _NOT_LABEL.sub("-", value).strip("-._")
    if len(safe) > _LABEL_MAX:
        safe = safe[: _LABEL_MAX - 17].rstrip("-._") + "-" + _sha1(value)[:16]
    return safe


def run_label(run_id: str) -> str:
    """Run ids hold ':' and '+': their label is always a hash."""
    return _sha1(run_id)[:16]


def selector(scheduler_id: str) -> str:
    """The label selector of the pods one scheduler follows."""
    return f"{APP_LABEL}={APP},{SCHEDULER}={label_value(scheduler_id)}"


def labels_for(key: TaskKey, scheduler_id: str | None) -> dict[str, str]:
    return {
        APP_LABEL: APP,
        DAG_ID: label_value(key.dag_id),
        TASK_ID: label_value(key.task_id),
        RUN_ID: run_label(key.run_id),
        TRY_NUMBER: str(key.try_number),
        MAP_INDEX: str(key.map_index) if key.map_index >= 0 else "none",
        SCHEDULER: label_value(scheduler_id or UNKNOWN_SCHEDULER),
    }


def annotations_for(workload: Workload) -> dict[str, str]:
    key = workload.key
    return {
        DAG_ID: key.dag_id,
        TASK_ID: key.task_id,
        RUN_ID: key.run_id,
        TRY_NUMBER: str(key.try_number),
        MAP_INDEX: str(key.map_index),
        WORKLOAD: json.dumps(workload.to_remote_json(), default=str, sort_keys=True),
    }


def workload_of(pod: Mapping[str, Any]) -> Workload | None:
    """The workload a pod's annotation carries (None when it carries none)."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(WORKLOAD)
    if not raw:
        return None
    return Workload.from_json(json.loads(raw))


def default_pod() -> dict[str, Any]:
    """The built-in template: one container, never restarted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": BASE_CONTAINER}],
        },
    }


def load_template(path: str | Path) -> dict[str, Any]:
    """A pod template from a YAML (or JSON) file."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PodSpecError(f"cannot read the pod template {path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("spec"), dict):
        raise PodSpecError(f"the pod template {path} is not a pod (no spec)")
    if raw.get("kind", "Pod") != "Pod":
        raise PodSpecError(f"the pod template {path} is a {raw['kind']}, not a Pod")
    check_shape(raw, f"the pod template {path}")
    return raw


def check_shape(pod: Mapping[str, Any], what: str) -> None:
    """Raise PodSpecError unless the parts of ``pod`` the executor fills in are of the right
    kind: metadata, labels, annotations and spec mappings; containers a list of mappings."""
    for part, value in (("metadata", pod.get("metadata")), ("spec", pod.get("spec"))):
        if value is not None and not isinstance(value, Mapping):
            raise PodSpecError(f"{what}: {part} must be a mapping")
    meta = pod.get("metadata") or {}
    for part in ("labels", "annotations"):
        if meta.get(part) is not None and not isinstance(meta[part], Mapping):
            raise PodSpecError(f"{what}: metadata.{part} must be a mapping")
    containers = (pod.get("spec") or {}).get("containers")
    if containers is None:
        return
    if not isinstance(containers, list) or not all(isinstance(c, Mapping) for c in containers):
        raise PodSpecError(f"{what}: spec.containers must be a list of containers (mappings)")
    for container in containers:
        for part in ("env", "envFrom"):
            items = container.get(part)
            if items is not None and (
                not isinstance(items, list) or not all(isinstance(e, Mapping) for e in items)
            ):
                raise PodSpecError(f"{what}: a container's {part} must be a list of mappings")


def template_for(settings: Settings) -> dict[str, Any]:
    path = settings.kubernetes.pod_template_file
    return load_template(path) if path else default_pod()


def merge(base: Any, override: Any) -> Any:
    """``override`` merged into a copy of ``base``: mappings key by key, lists of named items
    (containers, volumes, env, ...) item by item by name, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for k, v in override.items():
            if k in out and k in _MERGED_BY_NAME and isinstance(v, list):
                out[k] = _merge_named(out[k], v)
            elif k in out:
                out[k] = merge(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def _merge_named(base: Any, override: list[Any]) -> list[Any]:
    items = [copy.deepcopy(item) for item in base] if isinstance(base, list) else []
    for item in override:
        name = item.get("name") if isinstance(item, Mapping) else None
        at = next(
            (
                i
                for i, old in enumerate(items)
                if name and isinstance(old, Mapping) and old.get("name") == name
            ),
            None,
        )
        if at is None:
            items.append(copy.deepcopy(item))
        else:
            items[at] = merge(items[at], item)
    return items


def pod_override(executor_config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The override of ``executor_config={"pod_override": ...}`` as a pod: a dict with
    ``metadata``/``spec`` is a pod; any other dict is a pod spec."""
    if not executor_config:
        return None
    raw = executor_config.get("pod_override")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise PodSpecError("executor_config['pod_override'] must be a mapping (a partial pod)")
    pod = dict(raw) if "spec" in raw or "metadata" in raw else {"spec": dict(raw)}
    check_shape(pod, "executor_config['pod_override']")
    return pod


def _override_base_first(override: dict[str, Any]) -> dict[str, Any]:
    """An override container without a name is the base container."""
    containers = (override.get("spec") or {}).get("containers")
    if isinstance(containers, list):
        for item in containers:
            if isinstance(item, dict):
                item.setdefault("name", BASE_CONTAINER)
    return override


def pod_settings(settings: Settings) -> str:
    """The settings a try's pod runs with, as JSON: without the web server's secret key, which
    a try never needs (the pod spec is readable by whoever may read pods), and with
    ``kubernetes.env_from_secret`` without the metastore's URL, the fernet key and the SMTP
    password either: the pod's environment brings them from that Secret (empty settings are
    filled from ``TRADEWIND__SECTION__KEY``)."""
    update: dict[str, Any] = {"webserver": settings.webserver.model_copy(update={"secret_key": ""})}
    if settings.kubernetes.env_from_secret:
        update["database"] = settings.database.model_copy(update={"url": ""})
        update["core"] = settings.core.model_copy(update={"fernet_key": ""})
        update["smtp"] = settings.smtp.model_copy(update={"smtp_password": ""})
    return settings.model_copy(update=update).to_env()[SETTINGS_ENV]


def _env_from_secret(container: dict[str, Any], secret: str) -> None:
    sources = [s for s in container.get("envFrom") or [] if isinstance(s, Mapping)]
    if not any((s.get("secretRef") or {}).get("name") == secret for s in sources):
        sources.append({"secretRef": {"name": secret}})
    container["envFrom"] = sources


def build_pod(
    workload: Workload,
    settings: Settings,
    *,
    scheduler_id: str | None = None,
    template: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The pod that runs ``workload``: the template (or ``settings``' one), the try's identity
    and command, then the try's ``pod_override`` on top (labels and the command stay ours)."""
    pod: dict[str, Any] = copy.deepcopy(dict(template or template_for(settings)))
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Never")
    containers = spec.setdefault("containers", [])
    if not containers:
        containers.append({})
    # The first container (or the one named base) runs the try.
    at = next((i for i, c in enumerate(containers) if c.get("name") == BASE_CONTAINER), 0)
    containers.insert(0, containers.pop(at))
    base = containers[0]
    base["name"] = BASE_CONTAINER
    base.setdefault("image", settings.kubernetes.worker_image)
    override = pod_override(workload.executor_config)
    if override is not None:
        pod = merge(pod, _override_base_first(copy.deepcopy(override)))
        base = pod["spec"]["containers"][0]
    base["command"] = [*workload.command(), "--log-to-stdout"]
    base.pop("args", None)
    env = [e for e in base.get("env") or [] if e.get("name") != SETTINGS_ENV]
    base["env"] = [*env, {"name": SETTINGS_ENV, "value": pod_settings(settings)}]
    if settings.kubernetes.env_from_secret:
        _env_from_secret(base, settings.kubernetes.env_from_secret)
    meta = pod.setdefault("metadata", {})
    meta["name"] = pod_name(workload.key, workload.resumptions)
    meta["namespace"] = settings.kubernetes.namespace
    meta.pop("generateName", None)
    meta["labels"] = {**(meta.get("labels") or {}), **labels_for(workload.key, scheduler_id)}
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations_for(workload)}
    return pod


def pod_yaml(workload: Workload, settings: Settings) -> str:
    """The pod of ``workload`` as YAML (``kubernetes generate-pod-yaml``); a PodSpecError's
    message is one line (a YAML error spans several: the text around it, a caret)."""
    try:
        pod = build_pod(workload, settings)
    except PodSpecError as exc:
        raise PodSpecError(" ".join(str(exc).split())) from None
    text: str = yaml.safe_dump(pod, sort_keys=False)
    return text

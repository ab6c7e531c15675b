"""``tradewind kubernetes generate-pod-yaml`` and ``tradewind kubernetes cleanup-pods``.

- generate-pod-yaml prints the pod of a try of a DAG file's task: its deterministic name, the
  namespace, the labels that identify the try, the ``tradewind tasks run`` command, the worker
  image; a pod template's fields are kept and a task's ``pod_override`` is merged on top; the
  DAG file is the registered one when ``--dag-file`` is not given;
- a bad DAG id, task id, DAG file or pod template is a one-line error, never a traceback;
- cleanup-pods, against the Kubernetes API stand-in (``tests/k8s_standin``): ``--dry-run`` lists
  and deletes nothing; a run deletes tradewind's finished pods (Succeeded, Failed) older than
  ``--min-age`` of the configured namespace, and never a running or pending pod, another
  application's pod or a pod of another namespace. What is left is read through the API;
- an API out of reach, or no kubeconfig, is a one-line error.

Nothing asserts how long anything took. Without the ``kubernetes`` client the module is skipped
(by ``k8s``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from k8s import core_api, k8s_fixture  # noqa: F401
from kubernetes import client
from sqlalchemy.engine import Engine

from k8s_standin import Standin
from tradewind.executors.kubernetes import podspec
from tradewind.metastore import engine as engine_module
from tradewind.metastore import models
from tradewind.settings import Settings
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]

DAG_ID = "k8s_cli"
RUN_ID = "scheduled__2024-05-01T00:00:00+00:00"
NAMESPACE = "team-a"
IMAGE = "registry.example/tradewind:1.2"

DAG_SOURCE = """
from tradewind import DAG
from tradewind.operators import BashOperator

with DAG("k8s_cli", schedule=None):
    BashOperator(task_id="plain", bash_command="echo plain")
    BashOperator(
        task_id="big",
        bash_command="echo big",
        executor_config={
            "pod_override": {
                "metadata": {"labels": {"cost-center": "42"}},
                "spec": {
                    "nodeSelector": {"disktype": "ssd"},
                    "containers": [{"resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}],
                },
            }
        },
    )
"""

TEMPLATE = """
apiVersion: v1
kind: Pod
metadata:
  labels: {team: data}
  annotations: {owner: data-platform}
spec:
  serviceAccountName: tradewind-worker
  containers:
    - name: log-shipper
      image: busybox:1.36
      args: [tail, -f, /dev/null]
    - name: base
      image: registry.example/custom:7
      env: [{name: TZ, value: Europe/Paris}]
      volumeMounts: [{name: dags, mountPath: /opt/dags}]
  volumes:
    - name: dags
      emptyDir: {}
"""


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line_error(result: Result) -> str:
    """The message of a failed command, checked to be a one-line error and not a traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    path = folder / "k8s_cli.py"
    path.write_text(DAG_SOURCE)
    return path


def pod_settings(make_settings: SettingsMaker, tmp_path: Path, **kube: Any) -> Settings:
    return make_settings(
        tmp_path, kubernetes={"namespace": NAMESPACE, "worker_image": IMAGE, **kube}
    )


def generate(cli: Cli, settings: Settings, task_id: str, *args: str) -> dict[str, Any]:
    out = _ok(cli(settings, "kubernetes", "generate-pod-yaml", DAG_ID, task_id, *args))
    pod = yaml.safe_load(out)
    assert isinstance(pod, dict)
    return pod


def base_container(pod: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = pod["spec"]["containers"][0]
    assert base["name"] == "base"
    return base


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env") or []}


def run_command(
    task_id: str, run_id: str, try_number: int, map_index: int, path: Path
) -> list[str]:
    return [
        "tradewind",
        "tasks",
        "run",
        DAG_ID,
        task_id,
        run_id,
        "--try-number",
        str(try_number),
        "--map-index",
        str(map_index),
        "--dag-file",
        str(path),
    ]


# ---- generate-pod-yaml -------------------------------------------------------------------------


def test_generate_pod_yaml_prints_the_pod_of_a_try(
    tradewind_cli: Cli, make_settings: SettingsMaker, tmp_path: Path, dag_file: Path
) -> None:
    settings = pod_settings(make_settings, tmp_path)
    args = ("--run-id", RUN_ID, "--try-number", "3", "--map-index", "2", "--dag-file")
    pod = generate(tradewind_cli, settings, "plain", *args, str(dag_file))

    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    meta = pod["metadata"]
    assert meta["name"] == podspec.pod_name(TaskKey(DAG_ID, RUN_ID, "plain", 2, 3))
    assert meta["namespace"] == NAMESPACE
    assert meta["labels"] == {
        "app": "tradewind",
        "tradewind/dag-id": DAG_ID,
        "tradewind/task-id": "plain",
        "tradewind/run-id": podspec.run_label(RUN_ID),
        "tradewind/try-number": "3",
        "tradewind/map-index": "2",
        "tradewind/scheduler": "unknown",
    }
    # Labels cannot hold a run id (':' and '+'): the annotations carry the exact ids.
    assert meta["annotations"]["tradewind/run-id"] == RUN_ID
    assert pod["spec"]["restartPolicy"] == "Never"
    assert len(pod["spec"]["containers"]) == 1
    base = base_container(pod)
    assert base["image"] == IMAGE
    command = run_command("plain", RUN_ID, 3, 2, dag_file)
    assert base["command"][: len(command)] == command
    # The try in the pod uses these very settings (the same metastore).
    shipped = json.loads(env_of(base)["TRADEWIND_SETTINGS_JSON"])
    assert shipped["database"]["url"] == settings.database.url
    assert shipped["kubernetes"]["namespace"] == NAMESPACE

    default = generate(tradewind_cli, settings, "plain", "--dag-file", str(dag_file))
    key = TaskKey(DAG_ID, "manual__example", "plain", -1, 1)
    assert default["metadata"]["name"] == podspec.pod_name(key)
    assert default["metadata"]["name"] != meta["name"]
    assert default["metadata"]["labels"]["tradewind/try-number"] == "1"
    assert default["metadata"]["labels"]["tradewind/map-index"] == "none"
    command = run_command("plain", "manual__example", 1, -1, dag_file)
    assert base_container(default)["command"][: len(command)] == command


def test_generate_pod_yaml_puts_an_absolute_dag_file_in_the_command(
    tradewind_cli: Cli,
    make_settings: SettingsMaker,
    tmp_path: Path,
    dag_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = pod_settings(make_settings, tmp_path)
    pod = generate(tradewind_cli, settings, "plain", "--dag-file", "dags/k8s_cli.py")
    command = base_container(pod)["command"]
    assert command[command.index("--dag-file") + 1] == str(dag_file)


def test_generate_pod_yaml_keeps_the_pod_template(
    tradewind_cli: Cli, make_settings: SettingsMaker, tmp_path: Path, dag_file: Path
) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text(TEMPLATE)
    settings = pod_settings(make_settings, tmp_path, pod_template_file=str(template))
    pod = generate(tradewind_cli, settings, "plain", "--dag-file", str(dag_file))

    assert pod["metadata"]["namespace"] == NAMESPACE
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["labels"]["app"] == "tradewind"
    assert pod["metadata"]["annotations"]["owner"] == "data-platform"
    assert pod["spec"]["serviceAccountName"] == "tradewind-worker"
    assert pod["spec"]["volumes"] == [{"name": "dags", "emptyDir": {}}]
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names == ["base", "log-shipper"]
    sidecar = pod["spec"]["containers"][1]
    assert sidecar == {
        "name": "log-shipper",
        "image": "busybox:1.36",
        "args": ["tail", "-f", "/dev/null"],
    }
    base = base_container(pod)
    # The template names the image: it wins over worker_image.
    assert base["image"] == "registry.example/custom:7"
    assert base["volumeMounts"] == [{"name": "dags", "mountPath": "/opt/dags"}]
    assert env_of(base)["TZ"] == "Europe/Paris"
    assert "TRADEWIND_SETTINGS_JSON" in env_of(base)
    command = run_command("plain", "manual__example", 1, -1, dag_file)
    assert base["command"][: len(command)] == command


def test_generate_pod_yaml_merges_the_pod_override_of_the_task(
    tradewind_cli: Cli, make_settings: SettingsMaker, tmp_path: Path, dag_file: Path
) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text(TEMPLATE)
    settings = pod_settings(make_settings, tmp_path, pod_template_file=str(template))
    pod = generate(tradewind_cli, settings, "big", "--dag-file", str(dag_file))

    assert pod["spec"]["nodeSelector"] == {"disktype": "ssd"}
    assert pod["metadata"]["labels"]["cost-center"] == "42"
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["labels"]["tradewind/task-id"] == "big"
    base = base_container(pod)
    assert base["resources"] == {"limits": {"cpu": "2", "memory": "1Gi"}}
    # Merged, not replaced: the template's base container keeps what the override leaves out.
    assert base["volumeMounts"] == [{"name": "dags", "mountPath": "/opt/dags"}]
    assert base["image"] == "registry.example/custom:7"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["base", "log-shipper"]
    assert "resources" not in pod["spec"]["containers"][1]
    command = run_command("big", "manual__example", 1, -1, dag_file)
    assert base["command"][: len(command)] == command

    plain = generate(tradewind_cli, settings, "plain", "--dag-file", str(dag_file))
    assert "nodeSelector" not in plain["spec"]
    assert "resources" not in base_container(plain)


def test_generate_pod_yaml_uses_the_registered_dag_file(
    tradewind_cli: Cli,
    make_settings: SettingsMaker,
    tmp_path: Path,
    dag_file: Path,
    sqlite_engine: Engine,
) -> None:
    with engine_module.session_factory(sqlite_engine).begin() as session:
        session.add(models.DagModel(dag_id=DAG_ID, fileloc=str(dag_file), fileloc_hash="h"))
    url = sqlite_engine.url.render_as_string(hide_password=False)
    settings = make_settings(
        tmp_path, db_url=url, kubernetes={"namespace": NAMESPACE, "worker_image": IMAGE}
    )
    pod = generate(tradewind_cli, settings, "big")

    assert pod["spec"]["nodeSelector"] == {"disktype": "ssd"}
    command = run_command("big", "manual__example", 1, -1, dag_file)
    assert base_container(pod)["command"][: len(command)] == command

    result = tradewind_cli(settings, "kubernetes", "generate-pod-yaml", "ghost", "plain")
    assert "no DAG 'ghost' is registered" in _one_line_error(result)


def test_generate_pod_yaml_errors_are_one_line(
    tradewind_cli: Cli, make_settings: SettingsMaker, tmp_path: Path, dag_file: Path
) -> None:
    settings = pod_settings(make_settings, tmp_path)
    for dag_id, task_id, path, expected in (
        ("ghost", "plain", dag_file, f"DAG 'ghost' is not defined in {dag_file}"),
        (DAG_ID, "ghost", dag_file, "DAG 'k8s_cli' has no task 'ghost'"),
        (DAG_ID, "plain", tmp_path / "nowhere.py", "does not exist"),
    ):
        args = ("kubernetes", "generate-pod-yaml", dag_id, task_id, "--dag-file", str(path))
        assert expected in _one_line_error(tradewind_cli(settings, *args))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, "cannot read the pod template", id="missing"),
        pytest.param("spec: [\n", "cannot read the pod template", id="not-yaml"),
        pytest.param("kind: Deployment\nspec: {}\n", "is a Deployment, not a Pod", id="not-a-pod"),
        pytest.param("- a\n- b\n", "is not a pod (no spec)", id="a-list"),
        pytest.param("metadata: {name: x}\n", "is not a pod (no spec)", id="no-spec"),
        pytest.param(
            "spec: {containers: [just-a-name]}\n",
            "pod template",
            id="containers-not-mappings",
        ),
    ],
)
def test_generate_pod_yaml_with_a_bad_pod_template_is_a_one_line_error(
    *,
    tradewind_cli: Cli,
    make_settings: SettingsMaker,
    tmp_path: Path,
    dag_file: Path,
    text: str | None,
    expected: str,
) -> None:
    template = tmp_path / "pod.yaml"
    if text is not None:
        template.write_text(text)
    settings = pod_settings(make_settings, tmp_path, pod_template_file=str(template))
    args = ("kubernetes", "generate-pod-yaml", DAG_ID, "plain", "--dag-file", str(dag_file))
    message = _one_line_error(tradewind_cli(settings, *args))
    assert expected in message
    assert str(template) in message


# ---- cleanup-pods ------------------------------------------------------------------------------

ELSEWHERE = "elsewhere"
TRADEWIND = {"app": "tradewind", "tradewind/dag-id": "some_dag"}
EXIT_0 = "import sys; sys.exit(0)"
EXIT_1 = "import sys; sys.exit(1)"
SLEEP = "import time; time.sleep(600)"
# Every pod but "tw-new-succeeded" is made two hours old once it is in its phase.
POD_SET: tuple[tuple[str, str, dict[str, str], str, str], ...] = (
    # name, script, labels, image ("pending": never scheduled), the phase it stays in
    ("tw-old-succeeded", EXIT_0, TRADEWIND, "tradewind:test", "Succeeded"),
    ("tw-old-failed", EXIT_1, TRADEWIND, "tradewind:test", "Failed"),
    ("tw-new-succeeded", EXIT_0, TRADEWIND, "tradewind:test", "Succeeded"),
    ("tw-old-running", SLEEP, TRADEWIND, "tradewind:test", "Running"),
    ("tw-old-pending", EXIT_0, TRADEWIND, "pending", "Pending"),
    ("web-old-succeeded", EXIT_0, {"app": "web"}, "tradewind:test", "Succeeded"),
    ("bare-old-failed", EXIT_1, {}, "tradewind:test", "Failed"),
)
OLD_FINISHED = {"tw-old-succeeded": "Succeeded", "tw-old-failed": "Failed"}


def make_pod(name: str, script: str, labels: dict[str, str], image: str) -> client.V1Pod:
    container = client.V1Container(name="base", image=image, command=[sys.executable, "-c", script])
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[container], restart_policy="Never"),
    )


def in_phase(k8s: Standin, name: str, namespace: str, phase: str) -> None:
    """Wait until the pod is in ``phase`` (``Standin.wait_for_phase`` knows one namespace)."""

    def reached() -> bool:
        pod = k8s.pod(name, namespace)
        return pod is not None and pod["status"]["phase"] == phase

    with k8s.store.cond:
        assert k8s.store.cond.wait_for(reached, timeout=30.0), k8s.pod(name, namespace)


def backdate(k8s: Standin, name: str, namespace: str) -> None:
    """Make the pod two hours old (no API can; the stand-in's store can)."""
    then = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = k8s.store.update(
        namespace, name, lambda pod: pod["metadata"].update(creationTimestamp=then)
    )
    assert changed is not None


@dataclass
class Cluster:
    """The stand-in holding tradewind's and other pods, and settings of a CLI that uses it."""

    k8s: Standin
    api: client.CoreV1Api
    settings: Settings

    def phases(self, namespace: str | None = None) -> dict[str, str]:
        """Pod name -> phase of every pod of the namespace, read through the API."""
        listed: Any = self.api.list_namespaced_pod(namespace or self.k8s.namespace)
        return {pod.metadata.name: pod.status.phase for pod in listed.items}


@pytest.fixture
def cluster(k8s: Standin, make_settings: SettingsMaker, tmp_path: Path) -> Cluster:
    api = core_api(k8s.kubeconfig)
    for name, script, labels, image, phase in POD_SET:
        api.create_namespaced_pod(k8s.namespace, make_pod(name, script, labels, image))
        in_phase(k8s, name, k8s.namespace, phase)
        if name != "tw-new-succeeded":
            backdate(k8s, name, k8s.namespace)
    # A finished tradewind pod of a namespace the settings do not name.
    api.create_namespaced_pod(
        ELSEWHERE, make_pod("tw-old-elsewhere", EXIT_0, TRADEWIND, "tradewind:test")
    )
    in_phase(k8s, "tw-old-elsewhere", ELSEWHERE, "Succeeded")
    backdate(k8s, "tw-old-elsewhere", ELSEWHERE)
    kube = {"config_file": str(k8s.kubeconfig), "namespace": k8s.namespace}
    return Cluster(k8s, api, make_settings(tmp_path, kubernetes=kube))


def cleanup(cli: Cli, cluster: Cluster, *args: str) -> set[str]:
    """Run cleanup-pods; the lines it printed."""
    return set(_ok(cli(cluster.settings, "kubernetes", "cleanup-pods", *args)).splitlines())


def every_pod() -> dict[str, str]:
    return {name: phase for name, _, _, _, phase in POD_SET}


def test_cleanup_pods_dry_run_lists_and_deletes_nothing(
    tradewind_cli: Cli, cluster: Cluster
) -> None:
    lines = cleanup(tradewind_cli, cluster, "--min-age", "3600", "--dry-run")

    assert lines == {f"would delete {name} ({phase})" for name, phase in OLD_FINISHED.items()}
    assert cluster.phases() == every_pod()
    assert cluster.phases(ELSEWHERE) == {"tw-old-elsewhere": "Succeeded"}


def test_cleanup_pods_deletes_the_finished_tradewind_pods_older_than_min_age(
    tradewind_cli: Cli, cluster: Cluster
) -> None:
    lines = cleanup(tradewind_cli, cluster, "--min-age", "3600")

    assert lines == {f"deleting {name} ({phase})" for name, phase in OLD_FINISHED.items()}
    kept = {name: phase for name, phase in every_pod().items() if name not in OLD_FINISHED}
    assert cluster.phases() == kept
    assert cluster.phases(ELSEWHERE) == {"tw-old-elsewhere": "Succeeded"}

    # Again: nothing is left to delete.
    assert cleanup(tradewind_cli, cluster, "--min-age", "3600") == set()
    assert cluster.phases() == kept


def test_cleanup_pods_min_age_zero_takes_young_pods_too(
    tradewind_cli: Cli, cluster: Cluster
) -> None:
    lines = cleanup(tradewind_cli, cluster, "--min-age", "0")

    deleted = {**OLD_FINISHED, "tw-new-succeeded": "Succeeded"}
    assert lines == {f"deleting {name} ({phase})" for name, phase in deleted.items()}
    assert cluster.phases() == {
        "tw-old-running": "Running",
        "tw-old-pending": "Pending",
        "web-old-succeeded": "Succeeded",
        "bare-old-failed": "Failed",
    }
    assert cluster.phases(ELSEWHERE) == {"tw-old-elsewhere": "Succeeded"}


def test_cleanup_pods_keeps_pods_younger_than_min_age(tradewind_cli: Cli, cluster: Cluster) -> None:
    assert cleanup(tradewind_cli, cluster, "--min-age", str(3 * 3600)) == set()
    assert cluster.phases() == every_pod()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_cleanup_pods_without_a_usable_api_is_a_one_line_error(
    tradewind_cli: Cli, make_settings: SettingsMaker, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": server}}],
                "users": [{"name": "gone", "user": {}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
                "current-context": "gone",
            }
        )
    )
    for kube, expected in (
        ({"config_file": str(kubeconfig)}, "cannot reach the Kubernetes API"),
        ({"config_file": str(tmp_path / "no-kubeconfig")}, "cannot configure the kubernetes"),
        ({"in_cluster": True}, "cannot configure the kubernetes client"),
    ):
        settings = make_settings(tmp_path, kubernetes={"namespace": NAMESPACE, **kube})
        result = tradewind_cli(settings, "kubernetes", "cleanup-pods", "--dry-run")
        assert expected in _one_line_error(result)


def test_cleanup_pods_keeps_a_deleted_pod_s_log_unless_it_is_kept_already(
    tradewind_cli: Cli, cluster: Cluster
) -> None:
    def annotated(name: str, task_id: str) -> client.V1Pod:
        pod = make_pod(name, "print('said before cleanup')", TRADEWIND, "tradewind:test")
        pod.metadata.annotations = {
            "tradewind/dag-id": "some_dag",
            "tradewind/run-id": "manual__1",
            "tradewind/task-id": task_id,
            "tradewind/try-number": "1",
            "tradewind/map-index": "-1",
        }
        return pod

    folder = cluster.settings.logging.base_log_folder
    fresh = log_path(folder, TaskKey("some_dag", "manual__1", "fresh"))
    kept = log_path(folder, TaskKey("some_dag", "manual__1", "kept"))
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text("kept by its scheduler\n")
    for name, task_id in (("tw-fresh", "fresh"), ("tw-kept", "kept")):
        cluster.api.create_namespaced_pod(cluster.k8s.namespace, annotated(name, task_id))
        in_phase(cluster.k8s, name, cluster.k8s.namespace, "Succeeded")

    lines = cleanup(tradewind_cli, cluster, "--min-age", "0")

    assert {"deleting tw-fresh (Succeeded)", "deleting tw-kept (Succeeded)"} <= lines
    assert not {"tw-fresh", "tw-kept"} & set(cluster.phases())
    assert fresh.read_text() == "said before cleanup\n"
    assert kept.read_text() == "kept by its scheduler\n"


@pytest.mark.parametrize(
    ("kube", "expected"),
    [
        ({"pod_template_file": "TEMPLATE"}, "spec.containers must be a list of containers"),
        ({"config_file": "NO_KUBECONFIG"}, "cannot configure the Kubernetes client"),
    ],
)
def test_the_scheduler_on_a_bad_pod_template_or_kubeconfig_stops_with_one_line(
    *,
    make_settings: SettingsMaker,
    tmp_path: Path,
    sqlite_engine: Engine,
    kube: dict[str, str],
    expected: str,
) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text("spec: {containers: [just-a-name]}\n")
    paths = {"TEMPLATE": str(template), "NO_KUBECONFIG": str(tmp_path / "missing-kubeconfig")}
    url = sqlite_engine.url.render_as_string(hide_password=False)
    settings = make_settings(
        tmp_path,
        db_url=url,
        core={"executor": "kubernetes", "load_examples": False},
        scheduler={"run_dag_processor": False},
        kubernetes={k: paths[v] for k, v in kube.items()},
    )
    done = subprocess.run(
        [sys.executable, "-m", "tradewind", "scheduler"],
        env={**os.environ, **settings.to_env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: "), done.stderr
    assert expected in last

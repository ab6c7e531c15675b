"""The pod of a try, field by field: from the built-in default, a template file, overrides."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")

from tradewind.executors.kubernetes import podspec
from tradewind.settings import Settings, load_settings
from tradewind.workloads import TaskKey, Workload

KEY = TaskKey("etl", "scheduled__2026-01-01T00:00:00+00:00", "load", 3, 2)
LABEL = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")

TEMPLATE = """
apiVersion: v1
kind: Pod
metadata:
  labels: {team: data}
  annotations: {owner: ops}
spec:
  serviceAccountName: tradewind-worker
  containers:
    - name: sidecar
      image: busybox
    - name: base
      image: registry.example/tw:1.0
      args: [ignored]
      env: [{name: TZ, value: UTC}]
      volumeMounts: [{name: dags, mountPath: /dags}]
  volumes: [{name: dags, emptyDir: {}}]
"""


def workload(executor_config: dict[str, Any] | None = None) -> Workload:
    return Workload(KEY, "/dags/etl.py", priority_weight=5, executor_config=executor_config)


def base(pod: dict[str, Any]) -> dict[str, Any]:
    container = pod["spec"]["containers"][0]
    assert container["name"] == "base"
    return container


@pytest.fixture
def kset(make_settings: Any, tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        kubernetes={"namespace": "jobs", "worker_image": "tw:test"},
        webserver={"secret_key": "a-key-only-the-web-server-needs"},
    )


def test_pod_names_are_deterministic_and_distinct_per_try() -> None:
    name = podspec.pod_name(KEY)

    assert name == podspec.pod_name(TaskKey(*KEY.__dict__.values()))
    assert re.fullmatch(r"tw-[0-9a-f]{16}", name)
    assert podspec.pod_name(TaskKey("etl", KEY.run_id, "load", 3, 3)) != name


def test_the_default_pod(kset: Settings) -> None:
    pod = podspec.build_pod(workload(), kset, scheduler_id="host-1:42")

    assert pod["apiVersion"] == "v1"
    assert pod["kind"] == "Pod"
    assert pod["metadata"]["name"] == podspec.pod_name(KEY)
    assert pod["metadata"]["namespace"] == "jobs"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert len(pod["spec"]["containers"]) == 1
    container = base(pod)
    assert container["image"] == "tw:test"
    assert container["command"] == [*workload().command(), "--log-to-stdout"]
    assert "args" not in container


def test_labels_select_the_try_in_label_syntax(kset: Settings) -> None:
    labels = podspec.build_pod(workload(), kset, scheduler_id="host-1:42")["metadata"]["labels"]

    assert labels == {
        "app": "tradewind",
        "tradewind/dag-id": "etl",
        "tradewind/task-id": "load",
        "tradewind/run-id": podspec.run_label(KEY.run_id),
        "tradewind/try-number": "2",
        "tradewind/map-index": "3",
        "tradewind/scheduler": "host-1-42",
    }
    assert all(LABEL.match(v) for v in labels.values())
    assert re.fullmatch(r"[0-9a-f]{16}", labels["tradewind/run-id"])


def test_without_a_scheduler_id_the_label_says_unknown(kset: Settings) -> None:
    labels = podspec.build_pod(workload(), kset)["metadata"]["labels"]

    assert labels["tradewind/scheduler"] == "unknown"


def test_an_unmapped_task_has_map_index_none_not_a_clash_with_index_1(kset: Settings) -> None:
    key = TaskKey("etl", "r", "load")
    labels = podspec.build_pod(Workload(key, "/d.py"), kset)["metadata"]["labels"]

    assert labels["tradewind/map-index"] == "none"


def test_long_or_odd_ids_become_valid_distinct_labels() -> None:
    long_a, long_b = "a" * 80 + "x", "a" * 80 + "y"

    assert len(podspec.label_value(long_a)) <= 63
    assert LABEL.match(podspec.label_value(long_a))
    assert podspec.label_value(long_a) != podspec.label_value(long_b)
    assert podspec.label_value("my dag/v2!") == "my-dag-v2"
    assert podspec.label_value("-1") == "1"


def test_annotations_carry_the_exact_ids_and_the_workload(kset: Settings) -> None:
    wl = workload({"pod_override": {"nodeSelector": {"disk": "ssd"}}})
    pod = podspec.build_pod(wl, kset)
    annotations = pod["metadata"]["annotations"]

    assert annotations["tradewind/dag-id"] == "etl"
    assert annotations["tradewind/task-id"] == "load"
    assert annotations["tradewind/run-id"] == KEY.run_id
    assert annotations["tradewind/try-number"] == "2"
    assert annotations["tradewind/map-index"] == "3"
    assert json.loads(annotations["tradewind/workload"]) == wl.to_json()
    assert podspec.workload_of(pod) == wl


def test_a_large_run_stays_out_of_the_annotations(kset: Settings) -> None:
    """The Kubernetes API takes at most 256 KB of annotations; the pod's try reads its run from
    the metastore anyway (its command carries none)."""
    small = replace(workload(), run={"conf": {"n": 1}})
    large = replace(workload(), run={"conf": {"blob": "x" * (20 << 20)}})

    kept = podspec.workload_of(podspec.build_pod(small, kset))
    annotations = podspec.build_pod(large, kset)["metadata"]["annotations"]

    assert kept is not None
    assert kept.run == small.run
    assert sum(len(k) + len(v) for k, v in annotations.items()) < 256 << 10
    assert json.loads(annotations["tradewind/workload"])["run"] is None


def test_env_carries_the_settings_but_not_the_web_server_s_secret_key(kset: Settings) -> None:
    assert kset.webserver.secret_key
    env = base(podspec.build_pod(workload(), kset))["env"]

    assert [e["name"] for e in env] == ["TRADEWIND_SETTINGS_JSON"]
    assert kset.webserver.secret_key not in env[0]["value"]
    carried = Settings.model_validate_json(env[0]["value"])
    assert carried.webserver.secret_key == ""
    blank = kset.webserver.model_copy(update={"secret_key": ""})
    assert carried == kset.model_copy(update={"webserver": blank})


def test_a_template_file(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(TEMPLATE)
    kset = make_settings(tmp_path, kubernetes={"pod_template_file": str(path)})

    pod = podspec.build_pod(workload(), kset, scheduler_id="s1")

    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"]["team"] == "data"
    assert meta["labels"]["app"] == "tradewind"
    assert meta["annotations"]["owner"] == "ops"
    assert "tradewind/workload" in meta["annotations"]
    assert spec["serviceAccountName"] == "tradewind-worker"
    assert spec["restartPolicy"] == "Never"
    assert spec["volumes"] == [{"name": "dags", "emptyDir": {}}]
    assert [c["name"] for c in spec["containers"]] == ["base", "sidecar"]
    container = base(pod)
    assert container["image"] == "registry.example/tw:1.0"  # the template's wins over settings
    assert container["command"] == [*workload().command(), "--log-to-stdout"]
    assert "args" not in container
    assert [e["name"] for e in container["env"]] == ["TZ", "TRADEWIND_SETTINGS_JSON"]
    assert container["volumeMounts"] == [{"name": "dags", "mountPath": "/dags"}]


def test_a_template_without_an_image_takes_the_settings_one(
    make_settings: Any, tmp_path: Path
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text("spec:\n  containers: [{name: worker}]\n")
    kset = make_settings(tmp_path, kubernetes={"pod_template_file": str(path)})

    container = base(podspec.build_pod(workload(), kset))

    assert container["image"] == "tradewind:latest"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kind: Service\nspec: {}\n", "not a Pod"),
        ("[1, 2]\n", "not a pod"),
        ("a: [\n", "cannot"),
        ("spec: {containers: [just-a-name]}\n", "spec.containers must be a list of containers"),
        ("spec: {containers: {name: base}}\n", "spec.containers must be a list of containers"),
        ("metadata: foo\nspec: {}\n", "metadata must be a mapping"),
        ("metadata: {labels: [a]}\nspec: {}\n", "metadata.labels must be a mapping"),
        ("spec: {containers: [{name: base, env: [X=1]}]}\n", "env must be a list of mappings"),
    ],
)
def test_a_bad_template_says_why(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(text)

    with pytest.raises(podspec.PodSpecError, match=match):
        podspec.load_template(path)


def test_override_resources_and_image(kset: Settings) -> None:
    resources = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    config = {
        "pod_override": {
            "spec": {"containers": [{"name": "base", "image": "tw:gpu", "resources": resources}]}
        }
    }

    container = base(podspec.build_pod(workload(config), kset))

    assert container["image"] == "tw:gpu"
    assert container["resources"] == resources
    assert container["command"] == [*workload().command(), "--log-to-stdout"]


def test_override_a_container_without_a_name_is_the_base_one(kset: Settings) -> None:
    config = {"pod_override": {"containers": [{"image": "tw:other"}]}}

    pod = podspec.build_pod(workload(config), kset)

    assert len(pod["spec"]["containers"]) == 1
    assert base(pod)["image"] == "tw:other"


def test_override_node_selector_volumes_and_env(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(TEMPLATE)
    kset = make_settings(tmp_path, kubernetes={"pod_template_file": str(path)})
    config = {
        "pod_override": {
            "metadata": {"labels": {"tier": "heavy", "app": "not-ours"}},
            "spec": {
                "nodeSelector": {"disk": "ssd"},
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}],
                "containers": [
                    {
                        "name": "base",
                        "env": [{"name": "MODE", "value": "fast"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        "command": ["sh", "-c", "not used"],
                    }
                ],
            },
        }
    }

    pod = podspec.build_pod(workload(config), kset)

    spec = pod["spec"]
    assert spec["nodeSelector"] == {"disk": "ssd"}
    assert [v["name"] for v in spec["volumes"]] == ["dags", "data"]
    assert pod["metadata"]["labels"]["tier"] == "heavy"
    assert pod["metadata"]["labels"]["app"] == "tradewind"  # our labels stay ours
    container = base(pod)
    assert container["image"] == "registry.example/tw:1.0"
    assert [e["name"] for e in container["env"]] == ["TZ", "MODE", "TRADEWIND_SETTINGS_JSON"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/dags", "/data"]
    assert container["command"] == [*workload().command(), "--log-to-stdout"]
    assert [c["name"] for c in spec["containers"]] == ["base", "sidecar"]


def test_override_env_of_the_same_name_replaces_it(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(TEMPLATE)
    kset = make_settings(tmp_path, kubernetes={"pod_template_file": str(path)})
    config = {"pod_override": {"containers": [{"env": [{"name": "TZ", "value": "CET"}]}]}}

    env = base(podspec.build_pod(workload(config), kset))["env"]

    assert env[0] == {"name": "TZ", "value": "CET"}
    assert len(env) == 2


def test_the_template_is_not_changed_by_building(kset: Settings) -> None:
    template = podspec.default_pod()
    config = {"pod_override": {"containers": [{"image": "x"}]}}

    podspec.build_pod(workload(config), kset, template=template)

    assert template == podspec.default_pod()


def test_a_pod_override_that_is_not_a_mapping_is_an_error(kset: Settings) -> None:
    with pytest.raises(podspec.PodSpecError, match="must be a mapping"):
        podspec.build_pod(workload({"pod_override": ["x"]}), kset)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"containers": ["base"]}, "spec.containers must be a list of containers"),
        ({"metadata": {"annotations": "x"}}, "metadata.annotations must be a mapping"),
        ({"spec": "x"}, "spec must be a mapping"),
    ],
)
def test_a_pod_override_of_the_wrong_shape_is_an_error(
    kset: Settings, override: dict[str, Any], match: str
) -> None:
    with pytest.raises(podspec.PodSpecError, match=match):
        podspec.build_pod(workload({"pod_override": override}), kset)


def test_with_env_from_secret_the_pod_spec_holds_no_secret(
    make_settings: Any, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://tw:s3cret-pw@db:5432/tw"
    fernet = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
    settings = make_settings(
        tmp_path,
        url,
        core={"fernet_key": fernet},
        kubernetes={"env_from_secret": "tradewind-secrets"},
        webserver={"secret_key": "web-only"},
        smtp={"smtp_password": "mail-pw"},
    )
    container = base(podspec.build_pod(workload(), settings))
    text = json.dumps(container)

    for secret in ("s3cret-pw", fernet, "web-only", "mail-pw"):
        assert secret not in text
    assert container["envFrom"] == [{"secretRef": {"name": "tradewind-secrets"}}]
    # In the pod, the Secret's variables fill what the spec left empty.
    (carried,) = (e["value"] for e in container["env"] if e["name"] == podspec.SETTINGS_ENV)
    environ = {
        podspec.SETTINGS_ENV: carried,
        "TRADEWIND__DATABASE__URL": url,
        "TRADEWIND__CORE__FERNET_KEY": fernet,
        "TRADEWIND__SMTP__SMTP_PASSWORD": "mail-pw",
        "TRADEWIND__CORE__EXECUTOR": "local",  # set in the spec: not changed
    }
    loaded = load_settings(environ=environ)
    assert loaded.database.url == url
    assert loaded.core.fernet_key == fernet
    assert loaded.smtp.smtp_password == "mail-pw"
    assert loaded.core.executor == settings.core.executor
    assert loaded.webserver.secret_key == ""


def test_env_from_secret_keeps_the_template_s_env_sources(
    make_settings: Any, tmp_path: Path
) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text(
        "spec:\n  containers:\n  - name: base\n    envFrom:\n"
        "    - configMapRef: {name: common}\n    - secretRef: {name: tradewind-secrets}\n"
    )
    settings = make_settings(
        tmp_path,
        kubernetes={"env_from_secret": "tradewind-secrets", "pod_template_file": str(template)},
    )

    container = base(podspec.build_pod(workload(), settings))

    assert container["envFrom"] == [
        {"configMapRef": {"name": "common"}},
        {"secretRef": {"name": "tradewind-secrets"}},
    ]

"""The Kubernetes API stand-in, through the official client as the executor uses it."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from k8s import core_api, k8s_fixture  # noqa: F401
from kubernetes import client, watch
from kubernetes.client import ApiException, CoreV1Api
from urllib3.exceptions import ProtocolError

from k8s_standin import NODE_NAME, OUTCOME_ANNOTATION, Standin


@pytest.fixture
def api(k8s: Standin) -> CoreV1Api:
    return core_api(k8s.kubeconfig)


def make_pod(
    name: str,
    script: str = "true",
    *,
    image: str = "tradewind:test",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
) -> client.V1Pod:
    container = client.V1Container(
        name="base",
        image=image,
        command=["sh", "-c"],
        args=[script],
        env=[client.V1EnvVar(name=k, value=v) for k, v in (env or {}).items()],
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=name, labels={"app": "tradewind", **(labels or {})}, annotations=annotations
        ),
        spec=client.V1PodSpec(
            containers=[container], restart_policy="Never", node_selector=node_selector
        ),
    )


class Watcher:
    """Events of one watch stream, collected by a thread."""

    def __init__(self, api: CoreV1Api, namespace: str, **kwargs: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.stream = watch.Watch()
        kwargs.setdefault("timeout_seconds", 30)
        self.thread = threading.Thread(target=self.run, args=(api, namespace, kwargs), daemon=True)
        self.thread.start()

    def run(self, api: CoreV1Api, namespace: str, kwargs: dict[str, Any]) -> None:
        try:
            for event in self.stream.stream(api.list_namespaced_pod, namespace, **kwargs):
                self.events.append(event)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def types(self) -> list[tuple[str, str]]:
        return [(e["type"], e["raw_object"]["metadata"]["name"]) for e in self.events]


@pytest.fixture
def watchers(k8s: Standin) -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    k8s.end_watches()
    for watcher in started:
        watcher.done.wait(5)


def start_watch(watchers: list[Watcher], api: CoreV1Api, k8s: Standin, **kwargs: Any) -> Watcher:
    already = k8s.open_watches()
    watcher = Watcher(api, k8s.namespace, **kwargs)
    watchers.append(watcher)
    k8s.wait_for_watches(already + 1)
    return watcher


def terminated(pod: client.V1Pod) -> client.V1ContainerStateTerminated:
    return pod.status.container_statuses[0].state.terminated


# -- the API -------------------------------------------------------------------------------


def test_create_get_list_delete(k8s: Standin, api: CoreV1Api) -> None:
    created = api.create_namespaced_pod(k8s.namespace, make_pod("a", labels={"tier": "x"}))
    api.create_namespaced_pod(k8s.namespace, make_pod("b", labels={"tier": "y"}))
    assert created.metadata.namespace == k8s.namespace
    assert created.metadata.uid
    assert created.status.phase == "Pending"

    got = api.read_namespaced_pod("a", k8s.namespace)
    assert got.metadata.labels == {"app": "tradewind", "tier": "x"}
    assert int(got.metadata.resource_version) >= int(created.metadata.resource_version)

    listed = api.list_namespaced_pod(k8s.namespace, label_selector="app=tradewind,tier=x")
    assert [pod.metadata.name for pod in listed.items] == ["a"]
    assert int(listed.metadata.resource_version) >= int(got.metadata.resource_version)
    every = api.list_namespaced_pod(k8s.namespace, label_selector="app=tradewind,tier!=x")
    assert [pod.metadata.name for pod in every.items] == ["b"]
    assert api.list_namespaced_pod("elsewhere").items == []

    with pytest.raises(ApiException) as conflict:
        api.create_namespaced_pod(k8s.namespace, make_pod("a"))
    assert conflict.value.status == 409
    assert "AlreadyExists" in str(conflict.value.body)

    # DeleteOptions in the body: the connection stays usable for the next request.
    deleted = api.delete_namespaced_pod("a", k8s.namespace, body=client.V1DeleteOptions())
    assert deleted.metadata.name == "a"
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod("a", k8s.namespace)
    assert missing.value.status == 404
    assert k8s.created() == ["a", "b"]


def test_a_pod_runs_its_command_and_the_log_is_readable(k8s: Standin, api: CoreV1Api) -> None:
    script = 'echo "hello $GREETING"; echo "$(GREETING) expanded"; echo oops >&2; exit 3'
    api.create_namespaced_pod(k8s.namespace, make_pod("p", script, env={"GREETING": "world"}))
    k8s.wait_for_phase("p", "Failed")

    pod = api.read_namespaced_pod("p", k8s.namespace)
    assert pod.spec.node_name == NODE_NAME
    assert terminated(pod).exit_code == 3
    assert terminated(pod).reason == "Error"
    log = api.read_namespaced_pod_log("p", k8s.namespace, container="base")
    assert log == "hello world\nworld expanded\noops\n"
    assert api.read_namespaced_pod_log("p", k8s.namespace, tail_lines=1) == "oops\n"

    api.create_namespaced_pod(k8s.namespace, make_pod("ok", "echo fine"))
    done = k8s.wait_for_phase("ok", "Succeeded")
    assert done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_tradewind_is_on_the_path_and_a_missing_command_fails(k8s: Standin, api: CoreV1Api) -> None:
    for name, command in [("tw", ["tradewind", "--help"]), ("nope", ["no-such-command"])]:
        pod = make_pod(name)
        pod.spec.containers[0].command = command
        pod.spec.containers[0].args = None
        api.create_namespaced_pod(k8s.namespace, pod)
    k8s.wait_for_phase("tw", "Succeeded")
    assert "Usage: tradewind" in api.read_namespaced_pod_log("tw", k8s.namespace)
    k8s.wait_for_phase("nope", "Failed")
    failed = api.read_namespaced_pod("nope", k8s.namespace)
    assert (terminated(failed).exit_code, terminated(failed).reason) == (128, "StartError")
    assert "no-such-command" in api.read_namespaced_pod_log("nope", k8s.namespace)


def test_log_follow_and_a_log_before_start(k8s: Standin, api: CoreV1Api) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("slow", "echo one; sleep 0.3; echo two"))
    k8s.wait_for_phase("slow", "Running")
    assert api.read_namespaced_pod_log("slow", k8s.namespace, follow=True) == "one\ntwo\n"
    tailed = api.read_namespaced_pod_log("slow", k8s.namespace, follow=True, tail_lines=1)
    assert tailed == "two\n"

    api.create_namespaced_pod(k8s.namespace, make_pod("stuck", image="pending"))
    with pytest.raises(ApiException) as waiting:
        api.read_namespaced_pod_log("stuck", k8s.namespace)
    assert waiting.value.status == 400


def test_log_limit_bytes(k8s: Standin, api: CoreV1Api) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("p", "echo first line; echo second line"))
    k8s.wait_for_phase("p", "Succeeded")
    ns = k8s.namespace
    assert api.read_namespaced_pod_log("p", ns, limit_bytes=5) == "first"
    assert api.read_namespaced_pod_log("p", ns, limit_bytes=1000) == "first line\nsecond line\n"
    # tailLines first, then limitBytes of what is left.
    assert api.read_namespaced_pod_log("p", ns, tail_lines=1, limit_bytes=6) == "second"
    assert api.read_namespaced_pod_log("p", ns, tail_lines=5) == "first line\nsecond line\n"
    assert api.read_namespaced_pod_log("p", ns, tail_lines=0) == ""
    with pytest.raises(ApiException) as invalid:
        api.read_namespaced_pod_log("p", ns, limit_bytes=0)
    assert invalid.value.status == 422

    # Following ends once the limit is reached, while the container still runs.
    api.create_namespaced_pod(ns, make_pod("live", "echo one; sleep 0.3; echo two; sleep 30"))
    k8s.wait_for_phase("live", "Running")
    assert api.read_namespaced_pod_log("live", ns, follow=True, limit_bytes=6) == "one\ntw"
    assert k8s.kubelet.running(ns, "live")


def test_watch_sees_added_modified_deleted_in_order(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    listed = api.list_namespaced_pod(k8s.namespace)
    watcher = start_watch(
        watchers,
        api,
        k8s,
        label_selector="app=tradewind",
        resource_version=listed.metadata.resource_version,
    )
    api.create_namespaced_pod(k8s.namespace, make_pod("w", "echo hi"))
    k8s.wait_for_phase("w", "Succeeded")
    api.delete_namespaced_pod("w", k8s.namespace)
    k8s.end_watches()
    assert watcher.done.wait(10)
    assert watcher.error is None

    types = [event["type"] for event in watcher.events]
    assert types[0] == "ADDED"
    assert types[-1] == "DELETED"
    assert set(types[1:-1]) == {"MODIFIED"}
    phases = [event["object"].status.phase for event in watcher.events]
    assert phases[0] == "Pending"
    assert "Running" in phases
    assert phases.index("Running") < phases.index("Succeeded")
    versions = [int(event["object"].metadata.resource_version) for event in watcher.events]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)


def test_watch_from_a_resource_version_replays_later_changes(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("old", image="pending"))
    version = api.list_namespaced_pod(k8s.namespace).metadata.resource_version
    api.create_namespaced_pod(k8s.namespace, make_pod("new", image="pending"))
    k8s.wait_for("new", lambda pod: pod is not None and "conditions" in pod["status"])

    replay = start_watch(watchers, api, k8s, resource_version=version)
    everything = start_watch(watchers, api, k8s)  # no version: every pod as ADDED first
    k8s.end_watches()
    assert replay.done.wait(10)
    assert everything.done.wait(10)
    assert replay.types() == [("ADDED", "new"), ("MODIFIED", "new")]
    assert everything.types() == [("ADDED", "old"), ("ADDED", "new")]


def test_relabelling_moves_a_pod_between_selectors(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("r", image="pending", labels={"s": "a"}))
    first = start_watch(watchers, api, k8s, label_selector="s=a")
    second = start_watch(watchers, api, k8s, label_selector="s=b")
    api.patch_namespaced_pod("r", k8s.namespace, {"metadata": {"labels": {"s": "b"}}})
    assert api.read_namespaced_pod("r", k8s.namespace).metadata.labels["s"] == "b"
    k8s.end_watches()
    assert first.done.wait(10)
    assert second.done.wait(10)
    assert first.types() == [("ADDED", "r"), ("DELETED", "r")]
    assert second.types() == [("ADDED", "r")]


# -- watch failures ------------------------------------------------------------------------


@pytest.mark.parametrize("http", [False, True])
def test_a_watch_from_an_expired_version_gets_410(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher], http: bool
) -> None:
    old = api.list_namespaced_pod(k8s.namespace).metadata.resource_version
    k8s.expire_watches(http=http)
    for kwargs in ({"timeout_seconds": 5}, {}):  # without a timeout the client retries once
        with pytest.raises(ApiException) as gone:
            for _ in watch.Watch().stream(
                api.list_namespaced_pod, k8s.namespace, resource_version=old, **kwargs
            ):
                pass
        assert gone.value.status == 410

    fresh = api.list_namespaced_pod(k8s.namespace).metadata.resource_version
    watcher = start_watch(watchers, api, k8s, resource_version=fresh)
    api.create_namespaced_pod(k8s.namespace, make_pod("after", image="pending"))
    k8s.wait_for("after", lambda pod: pod is not None and "conditions" in pod["status"])
    k8s.end_watches()
    assert watcher.done.wait(10)
    assert watcher.error is None
    assert watcher.types()[0] == ("ADDED", "after")


def test_expiry_ends_an_open_watch_with_410(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    watcher = start_watch(watchers, api, k8s)
    assert k8s.expire_watches() == 1
    assert watcher.done.wait(10)
    assert isinstance(watcher.error, ApiException)
    assert watcher.error.status == 410


def test_bookmarks_carry_the_current_version_to_watches_that_ask_for_them(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    asking = start_watch(watchers, api, k8s, allow_watch_bookmarks=True)
    silent = start_watch(watchers, api, k8s)
    k8s.expire_watches(close_open=False)  # the version moves on; no pod changed

    assert k8s.bookmark() == 1
    version = k8s.store.rv
    k8s.end_watches()
    assert asking.done.wait(10)
    assert silent.done.wait(10)

    def marks(watcher: Watcher) -> list[dict[str, Any]]:
        return [e for e in watcher.events if e["type"] == "BOOKMARK"]

    (mark,) = marks(asking)
    assert int(mark["raw_object"]["metadata"]["resourceVersion"]) == version
    assert marks(silent) == []
    assert asking.error is None


def test_a_dropped_watch_breaks_the_connection(
    k8s: Standin, api: CoreV1Api, watchers: list[Watcher]
) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("d", image="pending"))
    watcher = start_watch(watchers, api, k8s)
    k8s.wait_for("d", lambda pod: pod is not None and "conditions" in pod["status"])
    assert k8s.drop_watches() == 1
    assert watcher.done.wait(10)
    assert isinstance(watcher.error, ProtocolError)
    assert watcher.types()[0] == ("ADDED", "d")
    # The server carries on: a new watch from the last version works.
    version = watcher.events[-1]["object"].metadata.resource_version
    again = start_watch(watchers, api, k8s, resource_version=version)
    api.delete_namespaced_pod("d", k8s.namespace)
    k8s.end_watches()
    assert again.done.wait(10)
    assert again.types() == [("DELETED", "d")]


# -- outcomes ------------------------------------------------------------------------------


def waiting_reason(pod: dict[str, Any]) -> str | None:
    statuses = pod["status"].get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting", {}).get("reason")


@pytest.mark.parametrize(
    ("image", "reason"),
    [("bad-image", "ImagePullBackOff"), ("Not A Valid Image", "InvalidImageName")],
)
def test_image_failures_wait_forever(k8s: Standin, api: CoreV1Api, image: str, reason: str) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("img", image=image))
    k8s.wait_for("img", lambda pod: pod is not None and waiting_reason(pod) == reason)
    pod = api.read_namespaced_pod("img", k8s.namespace)
    assert pod.status.phase == "Pending"
    assert pod.status.container_statuses[0].state.waiting.reason == reason


@pytest.mark.parametrize(
    "pod",
    [
        make_pod("p", image="pending"),
        make_pod("p", annotations={OUTCOME_ANNOTATION: "pending"}),
        make_pod("p", node_selector={"disktype": "ssd"}),
    ],
)
def test_unschedulable_pods_stay_pending(k8s: Standin, api: CoreV1Api, pod: client.V1Pod) -> None:
    api.create_namespaced_pod(k8s.namespace, pod)
    k8s.wait_for("p", lambda pod: pod is not None and "conditions" in pod["status"])
    got = api.read_namespaced_pod("p", k8s.namespace)
    assert got.status.phase == "Pending"
    assert got.spec.node_name is None
    assert got.status.conditions[0].reason == "Unschedulable"
    assert not got.status.container_statuses


def test_oom_outcome_and_knob(k8s: Standin, api: CoreV1Api) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("o", "sleep 30", image="oom"))
    api.create_namespaced_pod(k8s.namespace, make_pod("k", "echo started; sleep 30"))
    k8s.wait_for_phase("k", "Running")
    assert k8s.oom_kill("k")
    for name in ("o", "k"):
        k8s.wait_for_phase(name, "Failed")
        pod = api.read_namespaced_pod(name, k8s.namespace)
        assert terminated(pod).exit_code == 137
        assert terminated(pod).reason == "OOMKilled"
    assert not k8s.oom_kill("k")  # no longer running


def test_evict_outcome_and_knob(k8s: Standin, api: CoreV1Api) -> None:
    api.create_namespaced_pod(k8s.namespace, make_pod("e", "sleep 30", image="evict"))
    api.create_namespaced_pod(k8s.namespace, make_pod("k", "sleep 30"))
    api.create_namespaced_pod(k8s.namespace, make_pod("p", image="pending"))
    k8s.wait_for_phase("k", "Running")
    assert k8s.evict("k")
    k8s.wait_for("p", lambda pod: pod is not None and "conditions" in pod["status"])
    assert k8s.evict("p")
    for name in ("e", "k", "p"):
        k8s.wait_for_phase(name, "Failed")
        pod = api.read_namespaced_pod(name, k8s.namespace)
        assert pod.status.reason == "Evicted"
        assert pod.status.message


def test_deleted_by_someone_else(k8s: Standin, api: CoreV1Api, watchers: list[Watcher]) -> None:
    watcher = start_watch(watchers, api, k8s)
    api.create_namespaced_pod(k8s.namespace, make_pod("gone", "sleep 30", image="delete"))
    api.create_namespaced_pod(k8s.namespace, make_pod("k", "sleep 30"))
    k8s.wait_for_phase("k", "Running")
    assert k8s.delete_pod("k") is not None
    for name in ("gone", "k"):
        k8s.wait_for(name, lambda pod: pod is None)
    k8s.end_watches()
    assert watcher.done.wait(10)
    deleted = [name for type_, name in watcher.types() if type_ == "DELETED"]
    assert sorted(deleted) == ["gone", "k"]
    deadline = time.monotonic() + 10
    while k8s.kubelet.running(k8s.namespace, "k"):  # its process was killed
        assert time.monotonic() < deadline
        time.sleep(0.02)


# -- secrets -------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def make_secret(
    name: str,
    *,
    data: dict[str, str] | None = None,
    string_data: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    type_: str | None = None,
) -> client.V1Secret:
    return client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        data=data,
        string_data=string_data,
        type=type_,
    )


def test_secret_create_read_list_delete(k8s: Standin, api: CoreV1Api) -> None:
    ns = k8s.namespace
    created = api.create_namespaced_secret(
        ns,
        make_secret(
            "creds",
            data={"user": b64("ann"), "host": b64("db")},
            string_data={"user": "bob", "password": "s3cret"},  # wins over data
            labels={"app": "tradewind"},
        ),
    )
    assert created.data == {"user": b64("bob"), "host": b64("db"), "password": b64("s3cret")}
    assert created.string_data is None
    assert created.type == "Opaque"
    assert created.metadata.namespace == ns
    assert created.metadata.uid
    assert created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None

    got = api.read_namespaced_secret("creds", ns)
    assert got.data == created.data
    assert got.metadata.uid == created.metadata.uid
    assert (k8s.secret("creds") or {}).get("data") == created.data

    tls = make_secret("tls", data={"tls.crt": b64("cert")}, type_="kubernetes.io/tls")
    assert api.create_namespaced_secret(ns, tls).type == "kubernetes.io/tls"
    listed = api.list_namespaced_secret(ns)
    assert sorted(secret.metadata.name for secret in listed.items) == ["creds", "tls"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    selected = api.list_namespaced_secret(ns, label_selector="app=tradewind")
    assert [secret.metadata.name for secret in selected.items] == ["creds"]
    assert api.list_namespaced_secret("elsewhere").items == []
    everywhere = api.list_secret_for_all_namespaces()
    assert sorted(secret.metadata.name for secret in everywhere.items) == ["creds", "tls"]

    with pytest.raises(ApiException) as conflict:
        api.create_namespaced_secret(ns, make_secret("creds", string_data={"a": "b"}))
    assert conflict.value.status == 409
    assert "AlreadyExists" in str(conflict.value.body)

    # The client (37.x) returns the Status of a deletion as a plain dict.
    deleted = api.delete_namespaced_secret("creds", ns, body=client.V1DeleteOptions())
    assert deleted["status"] == "Success"
    assert deleted["details"]["name"] == "creds"
    for call in (api.read_namespaced_secret, api.delete_namespaced_secret):
        with pytest.raises(ApiException) as missing:
            call("creds", ns)
        assert missing.value.status == 404
        assert 'secrets \\"creds\\" not found' in str(missing.value.body)
    assert k8s.secret("creds") is None
    assert [secret.metadata.name for secret in api.list_namespaced_secret(ns).items] == ["tls"]


@pytest.mark.parametrize(
    ("secret", "code"),
    [
        (make_secret("s", data={"key": "not base64!"}), 400),
        (make_secret("s", string_data={"bad key": "v"}), 422),
        (make_secret("", string_data={"key": "v"}), 422),
    ],
)
def test_invalid_secrets_are_refused(
    k8s: Standin, api: CoreV1Api, secret: client.V1Secret, code: int
) -> None:
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_secret(k8s.namespace, secret)
    assert refused.value.status == code
    assert api.list_namespaced_secret(k8s.namespace).items == []


def secret_env(name: str, key: str, *, optional: bool | None = None) -> client.V1EnvVarSource:
    ref = client.V1SecretKeySelector(name=name, key=key, optional=optional)
    return client.V1EnvVarSource(secret_key_ref=ref)


def env_from(name: str, prefix: str | None = None, *, optional: bool | None = None) -> Any:
    ref = client.V1SecretEnvSource(name=name, optional=optional)
    return client.V1EnvFromSource(secret_ref=ref, prefix=prefix)


def test_env_from_secrets_and_secret_key_refs(k8s: Standin, api: CoreV1Api) -> None:
    k8s.create_secret("db", {"DB_USER": "ann", "DB_PASSWORD": "pw", "DB_HOST": "db.local"})
    api.create_namespaced_secret(
        k8s.namespace, make_secret("api", string_data={"TOKEN": "t0k", "DB_HOST": "api.local"})
    )
    script = 'echo "$DB_USER $DB_PASSWORD $DB_HOST $API_TOKEN $API_DB_HOST $COPY"'
    pod = make_pod("p", script)
    container = pod.spec.containers[0]
    container.env_from = [env_from("db"), env_from("api", prefix="API_")]
    container.env = [  # after envFrom: these override it
        client.V1EnvVar(name="DB_PASSWORD", value="plain"),
        client.V1EnvVar(name="DB_HOST", value_from=secret_env("api", "DB_HOST")),
        client.V1EnvVar(name="COPY", value_from=secret_env("api", "TOKEN")),
    ]
    api.create_namespaced_pod(k8s.namespace, pod)
    k8s.wait_for_phase("p", "Succeeded")
    log = api.read_namespaced_pod_log("p", k8s.namespace)
    assert log == "ann plain api.local t0k api.local t0k\n"


def test_a_missing_secret_keeps_the_pod_pending_until_it_exists(
    k8s: Standin, api: CoreV1Api
) -> None:
    ns = k8s.namespace

    def config_error(name: str) -> client.V1ContainerStateWaiting:
        k8s.wait_for(
            name,
            lambda pod: pod is not None and waiting_reason(pod) == "CreateContainerConfigError",
        )
        pod = api.read_namespaced_pod(name, ns)
        assert pod.status.phase == "Pending"
        return pod.status.container_statuses[0].state.waiting

    pod = make_pod("p", 'echo "$X $Y"')
    pod.spec.containers[0].env_from = [env_from("later")]
    pod.spec.containers[0].env = [client.V1EnvVar(name="Y", value_from=secret_env("later", "Y"))]
    api.create_namespaced_pod(ns, pod)
    gone = make_pod("gone", "echo started")
    gone.spec.containers[0].env_from = [env_from("later")]
    api.create_namespaced_pod(ns, gone)

    assert config_error("p").message == 'secret "later" not found'
    assert config_error("gone").message == 'secret "later" not found'
    with pytest.raises(ApiException) as waiting:
        api.read_namespaced_pod_log("p", ns)
    assert waiting.value.status == 400
    assert "is waiting to start: CreateContainerConfigError" in str(waiting.value.body)
    time.sleep(0.7)  # retried meanwhile: still waiting, the same message
    assert config_error("p").message == 'secret "later" not found'
    api.delete_namespaced_pod("gone", ns)

    api.create_namespaced_secret(ns, make_secret("later", string_data={"X": "1"}))
    k8s.wait_for(
        "p",
        lambda pod: pod is not None and "couldn't find key" in str(pod["status"]),
    )
    assert config_error("p").message == f"couldn't find key Y in Secret {ns}/later"

    api.delete_namespaced_secret("later", ns)
    api.create_namespaced_secret(ns, make_secret("later", string_data={"X": "1", "Y": "2"}))
    k8s.wait_for_phase("p", "Succeeded")
    assert api.read_namespaced_pod_log("p", ns) == "1 2\n"
    assert k8s.kubelet.log(ns, "gone") is None  # deleted while waiting: never started


def test_optional_missing_secrets_do_not_block(k8s: Standin, api: CoreV1Api) -> None:
    k8s.create_secret("some", {"A": "a"})
    pod = make_pod("p", 'echo "$A ${B-unset} ${C-unset} ${D-unset}"')
    container = pod.spec.containers[0]
    container.env_from = [env_from("absent", optional=True), env_from("some")]
    container.env = [
        client.V1EnvVar(name="B", value_from=secret_env("absent", "B", optional=True)),
        client.V1EnvVar(name="C", value_from=secret_env("some", "C", optional=True)),
        client.V1EnvVar(name="D", value_from=secret_env("absent", "D", optional=False)),
    ]
    api.create_namespaced_pod(k8s.namespace, pod)
    # D is not optional: the pod waits for it; without D it runs.
    k8s.wait_for(
        "p", lambda pod: pod is not None and waiting_reason(pod) == "CreateContainerConfigError"
    )
    api.delete_namespaced_pod("p", k8s.namespace)
    k8s.wait_for("p", lambda pod: pod is None)
    container.env = container.env[:2]
    api.create_namespaced_pod(k8s.namespace, pod)
    k8s.wait_for_phase("p", "Succeeded")
    assert api.read_namespaced_pod_log("p", k8s.namespace) == "a unset unset unset\n"

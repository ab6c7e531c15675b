"""Pods that take the metastore URL and the fernet key from a Kubernetes Secret
(``kubernetes.env_from_secret``), against the Kubernetes API stand-in.

- The pod spec holds neither; the try reads the metastore and decrypts a connection's password
  and a variable with what the Secret gave it, and the run succeeds.
- A missing Secret holds the pod back (CreateContainerConfigError); the try fails after the
  pending timeout, saying what held it back, in its event and on the last line of its log.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from k8s import core_api, k8s_fixture  # noqa: F401
from scheduling import System
from test_kubernetes_executor import HANG_GUARD, POSTGRES, kube_system_fixture, spy_on  # noqa: F401

from k8s_standin import Standin
from tradewind.executors.kubernetes import podspec
from tradewind.metastore import crypto
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import variables as variable_store
from tradewind.states import TaskState
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

FERNET = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
SECRET = "tradewind-secrets"

READS = """
with DAG("k8s_secrets", schedule=None, default_args={"retries": 0}):
    BashOperator(
        task_id="reads",
        bash_command=(
            "test '{{ conn.db.password }}' = pg-s3cr3t-pw"
            " && test '{{ var.value.api_token }}' = tok-9f8e7d"
        ),
    )
"""


def _seed(system: System) -> None:
    cipher = crypto.Cipher(system.settings.core.fernet_key)
    with system.sessions.begin() as session:
        variable_store.set_variable(session, "api_token", "tok-9f8e7d", cipher)
        connection_store.add_connection(
            session,
            connection_store.Connection("db", "postgres", host="db", password="pg-s3cr3t-pw"),
            cipher,
        )


@POSTGRES
def test_pods_take_the_metastore_url_and_the_fernet_key_from_the_secret(
    kube_system: Callable[..., System], k8s: Standin
) -> None:
    # Pods kept, to read the spec the try's pod was created with.
    system = kube_system(
        core={"fernet_key": FERNET}, env_from_secret=SECRET, delete_worker_pods=False
    )
    k8s.create_secret(
        SECRET,
        {
            "TRADEWIND__DATABASE__URL": system.settings.database.url,
            "TRADEWIND__CORE__FERNET_KEY": FERNET,
        },
    )
    _seed(system)
    system.add_dag("k8s_secrets", READS)
    run_id = system.trigger("k8s_secrets")

    assert system.wait("k8s_secrets", run_id, timeout=HANG_GUARD) == "success"

    api = core_api(k8s.kubeconfig)
    name = podspec.pod_name(TaskKey("k8s_secrets", run_id, "reads"))
    pod = api.api_client.sanitize_for_serialization(api.read_namespaced_pod(name, k8s.namespace))
    assert system.settings.database.url not in json.dumps(pod)
    assert FERNET not in json.dumps(pod)
    (base,) = pod["spec"]["containers"]
    assert base["envFrom"] == [{"secretRef": {"name": SECRET}}]


@POSTGRES
def test_a_missing_secret_holds_the_pod_back_and_the_try_fails_saying_so(
    kube_system: Callable[..., System], k8s: Standin
) -> None:
    system = kube_system(
        core={"fernet_key": FERNET}, env_from_secret="not-there", pending_timeout=2.0
    )
    spy = spy_on(system)
    system.add_dag("k8s_secrets", READS)
    run_id = system.trigger("k8s_secrets")

    assert system.wait("k8s_secrets", run_id, timeout=HANG_GUARD) == "failed"

    (event,) = [e for e in spy.events if e.key.task_id == "reads"]
    assert event.state == TaskState.FAILED
    held = 'CreateContainerConfigError: secret "not-there" not found'
    assert event.info == f"pending for 2 s ({held})"
    key = TaskKey("k8s_secrets", run_id, "reads")
    last = log_path(system.settings.logging.base_log_folder, key).read_text().splitlines()[-1]
    assert last.endswith(f"{podspec.pod_name(key)}: pending for 2 s ({held})")
    assert core_api(k8s.kubeconfig).list_namespaced_pod(k8s.namespace).items == []

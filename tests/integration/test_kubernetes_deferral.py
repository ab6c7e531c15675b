"""A deferred task resumes on the kubernetes executor (against the Kubernetes API stand-in):
its first run and its resumption each run in a pod of their own, in the same try."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from k8s import k8s_fixture  # noqa: F401
from scheduling import System, running_system, system_sections
from test_kubernetes_executor import HANG_GUARD, kube_sections
from triggering import triggerer_process

from k8s_standin import Standin
from tradewind.settings import Settings
from tradewind.states import TaskState

pytestmark = pytest.mark.parametrize(
    "db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]
)


@pytest.fixture(name="kube_deferring")
def kube_deferring_fixture(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings], k8s: Standin
) -> Iterator[System]:
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(
        core={"executor": "kubernetes", "dags_folder": str(dags)}, kubernetes=kube_sections(k8s)
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    with ExitStack() as stack:
        system = stack.enter_context(running_system(settings, dags))
        stack.enter_context(triggerer_process(settings, tmp_path / "triggerer.log"))
        yield system


def test_a_deferred_task_resumes_in_a_pod_of_its_own(
    kube_deferring: System, k8s: Standin, tmp_path: Path
) -> None:
    system: Any = kube_deferring
    gate = tmp_path / "gate"
    system.add_dag(
        "k8s_defer",
        f"""
        from tradewind.sensors import FileSensor

        with DAG("k8s_defer", schedule=None):
            FileSensor(task_id="wait", filepath={str(gate)!r}, deferrable=True,
                       poke_interval=0.1, timeout=120)
        """,
    )
    run_id = system.trigger("k8s_defer")
    assert system.run_until(
        lambda: system.state("k8s_defer", run_id, "wait") is TaskState.DEFERRED, HANG_GUARD
    )
    gate.touch()
    assert system.wait("k8s_defer", run_id, timeout=HANG_GUARD) == "success"
    assert system.instance("k8s_defer", run_id, "wait").try_number == 1
    # The first run and the resumption: two pods, two names.
    assert len(set(k8s.created())) == 2

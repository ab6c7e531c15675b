"""Two schedulers on one PostgreSQL metastore, racing for the same consumers: every asset
event triggers exactly one run of each consumer (none twice, none lost), an AND condition's
runs each hold events of both assets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (
    FINISHED_RUN,
    poll,
    running_system,
    scheduler_process,
    system_sections,
)
from sqlalchemy import select

from tradewind.metastore.models import (
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    DagRun,
    DagRunAssetEvent,
)
from tradewind.settings import Settings

pytestmark = [
    pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)])
]

DAGS = """
from tradewind import Asset

A, B = Asset("s3://race/a"), Asset("s3://race/b")
UNPAUSED = {"is_paused_upon_creation": False}

with DAG("produce", schedule=None, max_active_runs=8):
    @task(outlets=[A])
    def part(n):
        return n

    part.expand(n=list(range(12))) >> EmptyOperator(task_id="b", outlets=[B])

with DAG("on_a", schedule=[A], max_active_runs=64, **UNPAUSED):
    EmptyOperator(task_id="go")

with DAG("on_a_and_b", schedule=A & B, max_active_runs=64, **UNPAUSED):
    EmptyOperator(task_id="go")
"""


def test_each_event_triggers_one_run_of_each_consumer_under_two_schedulers(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    settings = make_settings(
        tmp_path, migrated_db_url, **system_sections(core={"dags_folder": str(dags)})
    )
    log = tmp_path / "schedulers.log"
    with running_system(settings, dags, start=False) as system:
        system.add_dag("race", DAGS)
        produced = [system.trigger("produce") for _ in range(4)]
        with scheduler_process(settings, log), scheduler_process(settings, log):

            def settled() -> bool:
                if any(system.run_state("produce", r) not in FINISHED_RUN for r in produced):
                    return False
                with system.sessions() as session:
                    open_runs = session.scalars(
                        select(DagRun.id).where(DagRun.state.not_in(list(FINISHED_RUN)))
                    ).all()
                    queued_a = session.scalars(
                        select(AssetDagRunQueue.id).where(AssetDagRunQueue.target_dag_id == "on_a")
                    ).all()
                return not open_runs and not queued_a

            assert poll(settled, 120), log.read_text()[-3000:]
        with system.sessions() as session:
            uri_of = dict(session.execute(select(AssetModel.id, AssetModel.uri)).all())
            events = {e.id: uri_of[e.asset_id] for e in session.scalars(select(AssetEvent)).all()}
            taken = session.execute(
                select(DagRun.dag_id, DagRun.id, DagRunAssetEvent.event_id).join(
                    DagRunAssetEvent, DagRunAssetEvent.dag_run_id == DagRun.id
                )
            ).all()
            left = session.execute(
                select(AssetDagRunQueue.target_dag_id, AssetDagRunQueue.event_id)
            ).all()
    assert all(system.run_state("produce", r) == "success" for r in produced)
    assert sorted(events.values()).count("s3://race/a") == 48
    assert sorted(events.values()).count("s3://race/b") == 4
    for consumer, wanted in (("on_a", {"s3://race/a"}), ("on_a_and_b", set(events.values()))):
        mine = [(run, event) for dag_id, run, event in taken if dag_id == consumer]
        in_runs = [event for _, event in mine]
        queued = [event for dag_id, event in left if dag_id == consumer]
        # No event in two runs (or in a run and still queued); none lost.
        assert len(in_runs) + len(queued) == len(set(in_runs) | set(queued))
        assert set(in_runs) | set(queued) == {e for e, uri in events.items() if uri in wanted}
        by_run: dict[int, set[str]] = {}
        for run, event in mine:
            by_run.setdefault(run, set()).add(events[event])
        assert by_run, f"{consumer} never ran"
        assert all(uris == wanted for uris in by_run.values())

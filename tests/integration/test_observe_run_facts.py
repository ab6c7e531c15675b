"""A try's start recorded for lineage names its run's logical date and DAG version: read
for many runs at once on every dialect, then kept, so that later starts of the same runs
cost no read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagModel
from tradewind.metastore.store import observed
from tradewind.metastore.store import runs as run_store
from tradewind.scheduler.observe import RunsSeen
from tradewind.states import DagRunType

START = datetime(2026, 5, 1, tzinfo=UTC)


def _run(session: Session, dag_id: str, day: int) -> observed.RunKey:
    if session.get(DagModel, dag_id) is None:
        session.add(DagModel(dag_id=dag_id, fileloc=f"/dags/{dag_id}.py", fileloc_hash="h"))
        session.flush()
    moment = START + timedelta(days=day)
    run = run_store.create_dag_run(
        session,
        dag_id=dag_id,
        run_id=f"manual__{moment.date()}",
        logical_date=moment,
        data_interval=(moment, moment),
        run_type=DagRunType.MANUAL,
        conf=None,
        now=moment,
    )
    session.flush()
    return run.dag_id, run.run_id


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_run_facts_are_read_once_for_all_runs_then_kept(session: Session) -> None:
    a0, a1, b0 = _run(session, "a", 0), _run(session, "a", 1), _run(session, "b", 0)
    gone = ("a", "no-such-run")
    seen = RunsSeen()
    statements = _statements(session)

    found = seen.get(session, {a0, b0, gone})

    assert sorted(found) == sorted([a0, b0])
    assert found[a0].logical_date == START
    assert found[b0].logical_date == START
    assert len(statements) == 1
    # Known runs are not read again; only the new one is.
    again = seen.get(session, {a0, b0, a1})
    assert again[a1].logical_date == START + timedelta(days=1)
    assert len(statements) == 2
    assert seen.get(session, {a0, a1}).keys() == {a0, a1}
    assert len(statements) == 2


def test_the_oldest_runs_make_room_for_new_ones(session: Session) -> None:
    first, second = _run(session, "c", 0), _run(session, "c", 1)
    seen = RunsSeen()
    seen.LIMIT = 1
    seen.get(session, {first})
    seen.get(session, {second})
    statements = _statements(session)

    assert seen.get(session, {first}).keys() == {first}  # let go, so read again
    assert len(statements) == 1


def test_an_ended_run_is_read_anew(session: Session) -> None:
    """A run deleted and triggered again under the same id must not show its old date."""
    key = _run(session, "d", 0)
    seen = RunsSeen()
    seen.get(session, {key})
    seen.forget(key)
    statements = _statements(session)

    assert seen.get(session, {key})[key].logical_date == START
    assert len(statements) == 1

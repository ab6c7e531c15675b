"""Claims of task tries: the first delivery of a try's message claims it, later ones do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagModel, DagRun, TaskInstance, TaskReschedule
from tradewind.metastore.store import claims
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store.claims import Claim
from tradewind.workloads import TaskKey

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = TaskKey("d", "r1", "t", -1, 1)


def _claim(session: Session, key: TaskKey, worker: str = "h:1") -> bool:
    _queued(session, key)
    found = claims.claim(session, key, worker=worker, task_id="celery-id", now=NOW)
    return found is Claim.CLAIMED


def _queued(session: Session, key: TaskKey, state: str | None = "queued") -> None:
    """The task instance of ``key`` exists and waits for that try (as the scheduler left it)."""
    if session.get(DagRun, _run_pk(session, key.run_id)) is None:
        _run(session, key.run_id)
    found = session.scalars(
        select(TaskInstance).filter_by(
            dag_id=key.dag_id, run_id=key.run_id, task_id=key.task_id, map_index=key.map_index
        )
    ).first()
    if found is None:
        found = TaskInstance(
            dag_id=key.dag_id,
            run_id=key.run_id,
            task_id=key.task_id,
            map_index=key.map_index,
            pool="default_pool",
            queue="default",
        )
        session.add(found)
    found.state, found.try_number = state, key.try_number
    session.commit()


def test_a_claim_tried_again_after_its_commit_went_through_is_ours(session: Session) -> None:
    assert _claim(session, KEY, "h:1")  # the worker did not hear that this went through

    again = claims.claim(session, KEY, worker="h:1", task_id="celery-id", now=NOW, retried=True)
    other = claims.claim(session, KEY, worker="h:2", task_id="celery-id", now=NOW, retried=True)

    assert (again, other) == (Claim.CLAIMED, Claim.TAKEN)


def _run_pk(session: Session, run_id: str) -> int:
    return session.scalar(select(DagRun.id).filter_by(dag_id="d", run_id=run_id)) or -1


def test_a_try_is_claimed_once(session: Session) -> None:
    assert _claim(session, KEY, "h:1")
    assert not _claim(session, KEY, "h:2")
    _queued(session, KEY, "running")  # a redelivery while the try runs
    assert claims.claim(session, KEY, worker="h:3", task_id="x", now=NOW) is Claim.TAKEN
    found = claims.claim_of(session, KEY)
    assert found is not None
    assert (found.worker, found.celery_task_id, found.claimed_at) == ("h:1", "celery-id", NOW)


def test_other_tries_and_map_indexes_are_claims_of_their_own(session: Session) -> None:
    assert _claim(session, KEY)
    assert _claim(session, TaskKey("d", "r1", "t", -1, 2))
    assert _claim(session, TaskKey("d", "r1", "t", 0, 1))
    assert _claim(session, TaskKey("d", "r2", "t", -1, 1))


def _run(session: Session, run_id: str) -> DagRun:
    found = session.scalars(select(DagRun).filter_by(dag_id="d", run_id=run_id)).first()
    if found is not None:
        return found
    if session.get(DagModel, "d") is None:
        session.add(DagModel(dag_id="d", fileloc="/d.py", fileloc_hash="h"))
    run = DagRun(
        dag_id="d", run_id=run_id, logical_date=NOW + timedelta(days=len(run_id)), run_type="manual"
    )
    session.add(run)
    session.commit()
    return run


def test_a_stale_message_claims_nothing(session: Session) -> None:
    """A try whose task instance no longer waits for it (cleared, failed, another try) is not
    run by a late delivery."""
    for state, try_number in (("running", 1), ("failed", 1), (None, 1), ("queued", 2)):
        _queued(session, KEY, state)
        if try_number != KEY.try_number:
            _queued(session, TaskKey("d", "r1", "t", -1, try_number))
        found = claims.claim(session, KEY, worker="h:1", task_id="x", now=NOW)
        assert found is Claim.NOT_WAITING, state
    assert claims.claim_of(session, KEY) is None


def test_a_message_for_a_task_instance_this_metastore_does_not_have_claims_nothing(
    session: Session,
) -> None:
    """A leftover message of another installation sharing the broker, or of a deleted run."""
    _run(session, "r1")
    for unknown in (
        TaskKey("d", "r9", "t"),
        TaskKey("d", "r1", "nothing"),
        TaskKey("x", "r1", "t"),
    ):
        found = claims.claim(session, unknown, worker="h", task_id="x", now=NOW)
        assert found is Claim.UNKNOWN, unknown
        assert claims.claim_of(session, unknown) is None


def test_each_poke_of_a_rescheduled_try_claims_it_once(session: Session) -> None:
    _run(session, "r1")
    assert _claim(session, KEY)
    session.add(
        TaskReschedule(
            dag_id="d",
            run_id="r1",
            task_id="t",
            map_index=-1,
            try_number=1,
            start_date=NOW,
            end_date=NOW,
            reschedule_date=NOW + timedelta(seconds=5),
        )
    )
    session.commit()
    assert _claim(session, KEY, "h:2")
    assert not _claim(session, KEY, "h:3")
    found = claims.claim_of(session, KEY)
    assert found is not None
    assert (found.worker, found.reschedule_count) == ("h:2", 1)


def test_deleting_a_run_deletes_its_claims(session: Session) -> None:
    run = _run(session, "r1")
    assert _claim(session, KEY)
    assert _claim(session, TaskKey("d", "r2", "t", -1, 1))
    run_store.delete_run(session, run)
    session.commit()
    assert claims.claim_of(session, KEY) is None
    assert claims.claim_of(session, TaskKey("d", "r2", "t", -1, 1)) is not None

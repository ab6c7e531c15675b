"""The runs a pass's workloads carry, read for many runs at once, are the runs and previous
successful runs that reading them one at a time gives, on every dialect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tradewind.metastore.models import DagModel
from tradewind.metastore.store import rundata
from tradewind.metastore.store import runs as run_store
from tradewind.states import DagRunState, DagRunType

START = datetime(2026, 3, 1, tzinfo=UTC)


def _runs(session: Session, dag_id: str, states: list[DagRunState]) -> list[str]:
    """Daily runs of a new DAG in these states; their run ids."""
    session.add(DagModel(dag_id=dag_id, fileloc=f"/dags/{dag_id}.py", fileloc_hash="h"))
    session.flush()
    made = []
    for day, state in enumerate(states):
        moment = START + timedelta(days=day)
        run = run_store.create_dag_run(
            session,
            dag_id=dag_id,
            run_id=f"scheduled__{moment.date()}",
            logical_date=moment,
            data_interval=(moment - timedelta(days=1), moment),
            run_type=DagRunType.SCHEDULED,
            conf=None,
            now=moment,
        )
        run.state = state.value
        made.append(run.run_id)
    session.flush()
    return made


def test_runs_and_their_previous_successes_read_together_match_one_by_one(
    session: Session,
) -> None:
    ok, bad, running = DagRunState.SUCCESS, DagRunState.FAILED, DagRunState.RUNNING
    # One DAG whose previous success is two runs back (a failure in between), one with
    # no success before its run, one asked about for two of its runs at once.
    skipping = _runs(session, "skipping", [ok, ok, bad, running])
    first = _runs(session, "first", [running, ok])
    twice = _runs(session, "twice", [ok, running, ok, running])
    wanted = [
        ("skipping", skipping[3]),
        ("first", first[0]),
        ("twice", twice[1]),
        ("twice", twice[3]),
        ("gone", "no-such-run"),
    ]

    runs = rundata.runs_by_key(session, wanted)
    assert sorted(runs) == sorted(wanted[:4])
    previous = rundata.previous_successes(session, list(runs.values()))

    for key, run in runs.items():
        alone = run_store.previous_success(session, run.dag_id, run.logical_date)
        assert previous[key] is alone, key
    assert previous[("skipping", skipping[3])].run_id == skipping[1]
    assert previous[("first", first[0])] is None
    assert previous[("twice", twice[1])].run_id == twice[0]
    assert previous[("twice", twice[3])].run_id == twice[2]

"""A try's reports: one wire format (field names older workers send too) and the pure
decision of what a try's end means (scheduler.outcomes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradewind import DAG, reports
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import SerializedDag, deserialize_dag, serialize_dag
from tradewind.reports import Cause, Finished, Running, XCom
from tradewind.scheduler import outcomes
from tradewind.states import TaskState

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_reports_round_trip_through_their_wire_format() -> None:
    running = Running(AT, pid=7, hostname="h")
    finished = Finished(
        AT,
        TaskState.SUCCESS,
        xcoms=(XCom("return_value", 42), XCom("secret", "s3cret", "***")),
        skip=("t2",),
        rendered_fields={"bash_command": "echo 1"},
    )
    assert reports.decode(reports.encode(running)) == running
    assert reports.decode(reports.encode(finished)) == finished
    assert reports.encode(finished)["xcoms"] == [["return_value", 42], ["secret", "s3cret", "***"]]
    assert "lost" not in reports.encode(finished)


def test_a_report_an_older_worker_sent_is_understood() -> None:
    old = {"type": "finished", "state": "failed", "at": AT.isoformat(), "error": "gone"}
    lost = reports.decode({**old, "retryable": True, "lost": True, "timed_out": False})
    assert lost == Finished(AT, TaskState.FAILED, "gone", retryable=True, cause=Cause.LOST)
    timed_out = reports.decode({**old, "retryable": True, "lost": False, "timed_out": True})
    assert isinstance(timed_out, Finished)
    assert timed_out.cause is Cause.TIMED_OUT
    cancelled = reports.decode({**old, "retryable": False, "cancelled": True})
    assert isinstance(cancelled, Finished)
    assert cancelled.cause is Cause.CANCELLED
    assert reports.encode(reports.lost("gone"))["lost"] is True
    assert reports.encode(reports.cancelled())["cancelled"] is True


def test_a_try_lost_for_want_of_heartbeat_says_so_and_reads_as_lost_to_older_readers() -> None:
    silent = reports.lost("no heartbeat", no_heartbeat=True)
    message = reports.encode(silent)
    assert (message["lost"], message["timed_out"], message["no_heartbeat"]) == (True, False, True)
    decoded = reports.decode(message)
    assert isinstance(decoded, Finished)
    assert (decoded.cause, decoded.retryable) == (Cause.NO_HEARTBEAT, True)


def _dag() -> SerializedDag:
    with DAG("d", schedule=None) as dag:
        a = EmptyOperator(task_id="a", retries=1, retry_delay=timedelta(seconds=5))
        c = EmptyOperator(task_id="c")
        a >> [EmptyOperator(task_id="b"), c]
        c >> EmptyOperator(task_id="d")
    return deserialize_dag(serialize_dag(dag))


def test_a_failed_try_is_retried_while_tries_remain_then_fails_for_good() -> None:
    dag = _dag()
    failed = Finished(AT, TaskState.FAILED, "boom")
    now = AT + timedelta(seconds=1)
    retry = outcomes.end_of_try(failed, 1, dag, dag.tasks["a"], max_tries=1, gone=False, now=now)
    assert (retry.state, retry.next_try_at, retry.settled) == (
        TaskState.UP_FOR_RETRY,
        now + timedelta(seconds=5),
        False,
    )
    assert retry.reason == "boom"
    end = outcomes.end_of_try(failed, 2, dag, dag.tasks["a"], max_tries=1, gone=False, now=now)
    assert (end.state, end.settled, end.candidates) == (
        TaskState.FAILED,
        True,
        frozenset({"b", "c"}),
    )
    gone = outcomes.end_of_try(failed, 1, dag, None, max_tries=None, gone=True, now=now)
    assert gone.state is TaskState.REMOVED


def test_a_success_settles_its_downstream_tasks_and_those_it_skips() -> None:
    dag = _dag()
    done = Finished(AT, TaskState.SUCCESS, skip=("c", "nope"))
    end = outcomes.end_of_try(done, 1, dag, dag.tasks["a"], max_tries=None, gone=False, now=AT)
    assert (end.skip, end.candidates, end.reason) == (("c",), frozenset({"b", "c", "d"}), None)


def test_a_rescheduled_sensor_waits_until_its_date() -> None:
    later = AT + timedelta(minutes=5)
    report = Finished(AT, TaskState.UP_FOR_RESCHEDULE, reschedule_date=later)
    end = outcomes.end_of_try(report, 1, None, None, max_tries=None, gone=False, now=AT)
    assert (end.state, end.next_try_at, end.rescheduled) == (
        TaskState.UP_FOR_RESCHEDULE,
        later,
        True,
    )

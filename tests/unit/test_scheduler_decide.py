"""The scheduler's pure decisions: trigger rules, cascades, run outcomes, retry delays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from decisions import decide_plain, plain

from tradewind import DAG
from tradewind.authoring.rules import TriggerRule
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import SerializedDag, deserialize_dag, serialize_dag
from tradewind.scheduler import decide
from tradewind.scheduler.decide import Readiness, UpstreamCounts
from tradewind.states import DagRunState, TaskState

S, F, K, U = TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED
N = TaskState.NONE
R = Readiness


def counts(*states: TaskState, total: int | None = None) -> UpstreamCounts:
    c = UpstreamCounts.of(states)
    return (
        c
        if total is None
        else UpstreamCounts(total, c.success, c.skipped, c.failed, c.upstream_failed)
    )


# (rule, upstream states, upstream total, expected)
CASES = [
    (TriggerRule.ALL_SUCCESS, [S, S], 2, R.READY),
    (TriggerRule.ALL_SUCCESS, [S], 2, R.WAIT),
    (TriggerRule.ALL_SUCCESS, [S, F], 3, R.UPSTREAM_FAILED),
    (TriggerRule.ALL_SUCCESS, [S, K], 2, R.SKIP),
    (TriggerRule.ALL_SUCCESS, [U], 2, R.UPSTREAM_FAILED),
    (TriggerRule.ALL_FAILED, [F, U], 2, R.READY),
    (TriggerRule.ALL_FAILED, [F, S], 2, R.SKIP),
    (TriggerRule.ALL_FAILED, [F], 2, R.WAIT),
    (TriggerRule.ALL_DONE, [F, S], 2, R.READY),
    (TriggerRule.ALL_DONE, [F], 2, R.WAIT),
    (TriggerRule.ALL_DONE_MIN_ONE_SUCCESS, [F, S], 2, R.READY),
    (TriggerRule.ALL_DONE_MIN_ONE_SUCCESS, [F, K], 2, R.SKIP),
    (TriggerRule.ALL_SKIPPED, [K, K], 2, R.READY),
    (TriggerRule.ALL_SKIPPED, [K, S], 2, R.SKIP),
    (TriggerRule.ONE_SUCCESS, [S], 3, R.READY),
    (TriggerRule.ONE_SUCCESS, [F, F], 2, R.UPSTREAM_FAILED),
    (TriggerRule.ONE_SUCCESS, [K, K], 2, R.SKIP),
    (TriggerRule.ONE_SUCCESS, [F], 2, R.WAIT),
    (TriggerRule.ONE_FAILED, [F], 3, R.READY),
    (TriggerRule.ONE_FAILED, [S, S], 2, R.SKIP),
    (TriggerRule.ONE_DONE, [F], 3, R.READY),
    (TriggerRule.ONE_DONE, [K, K], 2, R.SKIP),
    (TriggerRule.NONE_FAILED, [S, K], 2, R.READY),
    (TriggerRule.NONE_FAILED, [S, U], 3, R.UPSTREAM_FAILED),
    (TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, [S, K], 2, R.READY),
    (TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, [K, K], 2, R.SKIP),
    (TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, [F], 2, R.UPSTREAM_FAILED),
    (TriggerRule.NONE_SKIPPED, [S, F], 2, R.READY),
    (TriggerRule.NONE_SKIPPED, [K], 2, R.SKIP),
    (TriggerRule.ALWAYS, [], 2, R.READY),
]


@pytest.mark.parametrize(("rule", "states", "total", "expected"), CASES)
def test_trigger_rules(
    rule: TriggerRule, states: list[TaskState], total: int, expected: Readiness
) -> None:
    assert decide.evaluate_trigger_rule(rule, counts(*states, total=total)) is expected


def test_every_trigger_rule_is_decided() -> None:
    for rule in TriggerRule:
        assert decide.evaluate_trigger_rule(rule, counts(S, S)) in set(Readiness)


def _dag(build: object) -> SerializedDag:
    with DAG("d", schedule=None) as dag:
        build()  # type: ignore[operator]
    return deserialize_dag(serialize_dag(dag))


def test_failure_cascades_down_a_chain_in_one_decision() -> None:
    def build() -> None:
        a, b, c, d = (EmptyOperator(task_id=t) for t in "abcd")
        a >> b >> c >> d

    dag = _dag(build)
    changes = decide_plain(dag, {"a": F, "b": N, "c": N, "d": N}, ["b"])
    assert changes == {"b": U, "c": U, "d": U}


def test_skip_cascades_but_join_with_none_failed_min_one_success_runs() -> None:
    def build() -> None:
        start = EmptyOperator(task_id="start")
        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        start >> [left, right] >> join

    dag = _dag(build)
    states = {"start": S, "left": S, "right": K, "join": N}
    assert decide_plain(dag, states, ["join"]) == {"join": TaskState.SCHEDULED}


def test_depends_on_past_holds_a_ready_task() -> None:
    def build() -> None:
        EmptyOperator(task_id="a", depends_on_past=True)

    dag = _dag(build)
    assert decide_plain(dag, {"a": N}, ["a"], past_ok={"a": False}) == {}
    assert decide_plain(dag, {"a": N}, ["a"], past_ok={"a": True}) == {"a": TaskState.SCHEDULED}


def test_wait_for_past_depends_before_skipping_holds_a_skip_too() -> None:
    def build() -> None:
        up = EmptyOperator(task_id="up")
        up >> EmptyOperator(
            task_id="waits", depends_on_past=True, wait_for_past_depends_before_skipping=True
        )
        up >> EmptyOperator(task_id="skips", depends_on_past=True)

    dag = _dag(build)
    states = {"up": K, "waits": N, "skips": N}
    held = {"waits": False, "skips": False}
    assert decide_plain(dag, states, ["waits", "skips"], past_ok=held) == {
        "skips": TaskState.SKIPPED
    }
    allowed = {"waits": True, "skips": False}
    assert decide_plain(dag, states, ["waits"], past_ok=allowed) == {"waits": TaskState.SKIPPED}


def test_run_outcome_follows_the_leaves() -> None:
    def build() -> None:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b", trigger_rule="all_done")
        a >> b

    dag = _dag(build)
    assert decide.run_outcome(dag, plain({"a": S, "b": TaskState.RUNNING})) is None
    assert decide.run_outcome(dag, plain({"a": F, "b": S})) is DagRunState.SUCCESS
    assert decide.run_outcome(dag, plain({"a": S, "b": F})) is DagRunState.FAILED
    assert decide.run_outcome(dag, plain({"a": K, "b": K})) is DagRunState.SUCCESS


RESTARTING = TaskState.RESTARTING


@pytest.mark.parametrize("rule", list(TriggerRule))
def test_a_restarting_upstream_task_is_not_done_for_any_trigger_rule(rule: TriggerRule) -> None:
    # Its try is being stopped to run again: whatever it did does not count yet.
    assert decide.evaluate_trigger_rule(rule, counts(S, RESTARTING)) == (
        decide.evaluate_trigger_rule(rule, counts(S, total=2))
    )
    assert not UpstreamCounts.of([S, RESTARTING]).all_done


def test_a_restarting_task_holds_its_downstream_tasks_and_its_run() -> None:
    def build() -> None:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        done = EmptyOperator(task_id="done", trigger_rule="all_done")
        a >> b >> done

    dag = _dag(build)
    states = {"a": RESTARTING, "b": N, "done": N}
    assert decide_plain(dag, states, ["a", "b", "done"]) == {}
    assert decide.run_outcome(dag, plain({"a": RESTARTING, "b": S, "done": S})) is None
    # Once back to none (its try has ended), it is scheduled again.
    assert decide_plain(dag, {**states, "a": N}, ["a"]) == {"a": TaskState.SCHEDULED}


def test_retry_delay_with_exponential_backoff_and_cap() -> None:
    def build() -> None:
        EmptyOperator(
            task_id="a",
            retries=5,
            retry_delay=timedelta(seconds=10),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(seconds=35),
        )

    task = _dag(build).tasks["a"]
    assert [decide.retry_delay(task, n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 35, 35]


def test_after_failure_retries_until_max_tries() -> None:
    def build() -> None:
        EmptyOperator(task_id="a", retries=1, retry_delay=timedelta(seconds=5))

    task = _dag(build).tasks["a"]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert decide.after_failure(task, 1, 1, retryable=True, now=now) == (
        TaskState.UP_FOR_RETRY,
        now + timedelta(seconds=5),
    )
    assert decide.after_failure(task, 2, 1, retryable=True, now=now) == (TaskState.FAILED, None)
    assert decide.after_failure(task, 1, 1, retryable=False, now=now) == (TaskState.FAILED, None)

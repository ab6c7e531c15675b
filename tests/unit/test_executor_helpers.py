"""The pieces under the process executors: queue order, exit descriptions, runners."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewind.executors.base import Channel, ExecutorError
from tradewind.executors.processes.runners import (
    DEFAULT_RUNNER,
    describe_exit,
    load_runner,
    run_try,
)
from tradewind.executors.sequential import SequentialExecutor
from tradewind.executors.workqueue import WorkQueue
from tradewind.runtime.context import DagRunView
from tradewind.settings import Settings
from tradewind.testing import SCRIPTED_RUNNER, make_workload, scripted_runner
from tradewind.workloads import Workload


def test_the_queue_gives_higher_priority_first_and_equal_ones_in_order() -> None:
    queue = WorkQueue()
    for task_id, weight in [("a", 1), ("b", 3), ("c", 1), ("d", 3), ("e", 2)]:
        queue.push(make_workload(task_id, priority_weight=weight))

    order = [queue.pop().key.task_id for _ in range(len(queue))]

    assert order == ["b", "d", "e", "a", "c"]


def test_a_workload_removed_from_the_queue_is_not_given_out() -> None:
    queue = WorkQueue()
    workloads = [make_workload(t) for t in "abc"]
    for workload in workloads:
        queue.push(workload)

    removed = queue.remove(workloads[1].key)

    assert removed == workloads[1]
    assert workloads[1].key not in queue
    assert queue.remove(workloads[1].key) is None
    assert [queue.pop().key.task_id for _ in range(len(queue))] == ["a", "c"]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "process exited with code 0"),
        (3, "process exited with code 3"),
        (-signal.SIGSEGV, "killed by SIGSEGV"),
        (-signal.SIGKILL, "killed by SIGKILL (out of memory?)"),
        (-signal.SIGTERM, "killed by SIGTERM"),
    ],
)
def test_exit_descriptions(code: int, text: str) -> None:
    assert describe_exit(code) == text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tradewind.testing", "must look like 'package.module:function'"),
        ("no_such_package_here:run", "cannot import the runner module 'no_such_package_here'"),
        ("tradewind.testing:no_such_function", "has no function 'no_such_function'"),
    ],
)
def test_a_bad_runner_path_is_a_clear_error(path: str, message: str) -> None:
    with pytest.raises(ExecutorError, match=message):
        load_runner(path)


def test_a_runner_loads_by_its_dotted_path() -> None:
    assert load_runner(SCRIPTED_RUNNER) is scripted_runner


class _Sink:
    def __init__(self) -> None:
        self.messages: list[object] = []

    def send(self, message: object) -> None:
        self.messages.append(message)


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (lambda: None, 0),
        (sys.exit, 0),
        (lambda: sys.exit(7), 7),
        (lambda: sys.exit("bye"), 1),
        (lambda: 1 / 0, 1),
    ],
)
def test_run_try_gives_the_exit_code_the_process_should_end_with(
    outcome: Callable[[], object], code: int, settings: Settings
) -> None:
    def runner(workload: Workload, channel: Channel, settings: Settings) -> None:
        outcome()

    assert run_try(runner, make_workload("x"), _Sink(), settings) == code


def test_the_sequential_child_runs_the_tasks_run_command_with_the_default_runner(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    executor = SequentialExecutor(make_settings(tmp_path), runner=DEFAULT_RUNNER)
    workload = make_workload("t1", dag_id="d1", run_id="r1", try_number=2, dag_file="/dags/d1.py")

    command = executor.command(workload, 9)

    assert command == [
        sys.executable,
        "-m",
        "tradewind",
        "tasks",
        "run",
        "d1",
        "t1",
        "r1",
        "--try-number",
        "2",
        "--map-index",
        "-1",
        "--dag-file",
        "/dags/d1.py",
        "--report-fd",
        "9",
    ]


def test_the_sequential_child_names_any_other_runner(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    executor = SequentialExecutor(make_settings(tmp_path), runner=SCRIPTED_RUNNER)

    command = executor.command(make_workload("t1"), 9, 10)

    # The workload is read from descriptor 10 (a memory file): a command line has a size limit.
    assert command == [
        sys.executable,
        "-m",
        "tradewind.executors.processes.runchild",
        SCRIPTED_RUNNER,
        "9",
        "10",
    ]


def test_a_workload_carries_its_run_so_the_try_needs_no_metastore_read() -> None:
    run = {
        "dag_id": "d",
        "run_id": "manual__2026-01-02T03:04:05+00:00",
        "logical_date": "2026-01-02T03:04:05+00:00",
        "data_interval_start": "2026-01-01T03:04:05+00:00",
        "data_interval_end": "2026-01-02T03:04:05+00:00",
        "run_type": "manual",
        "conf": {"x": [1, 2]},
        "start_date": None,
        "external_trigger": True,
        "id": 7,
    }
    workload = Workload(key=make_workload("t1").key, dag_file="/dags/d.py", run=run)
    back = Workload.from_json(json.loads(json.dumps(workload.to_json())))
    assert back.run == run
    view = DagRunView.from_json(back.run or {})
    assert view.logical_date == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert view.data_interval_start == datetime(2026, 1, 1, 3, 4, 5, tzinfo=UTC)
    assert (view.conf, view.start_date, view.external_trigger, view.id) == (
        {"x": [1, 2]},
        None,
        True,
        7,
    )


def test_a_workload_carries_the_values_a_mapped_try_expands_over_unless_too_big() -> None:
    small = [["items", "return_value", [1, 2, 3]]]
    workload = Workload(key=make_workload("each").key, dag_file="/dags/d.py", xcoms=small)
    back = Workload.from_json(json.loads(json.dumps(workload.to_json())))
    assert back.xcoms == small
    assert Workload.from_json(workload.to_remote_json()).xcoms == small
    # Too big for a broker message or a pod's annotations: the try reads it itself.
    big = [["items", "return_value", ["x" * 1000] * 100]]
    remote = Workload(key=workload.key, dag_file="/dags/d.py", xcoms=big).to_remote_json()
    assert Workload.from_json(remote).xcoms is None

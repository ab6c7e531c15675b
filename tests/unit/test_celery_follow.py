"""How the celery executor reads a try's states in the result backend (no broker needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("celery")

from tradewind.executors.celery.executor import CeleryExecutor, InFlight
from tradewind.executors.celery.results import Seen
from tradewind.reports import Cause, Kind
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

KEY = TaskKey("d", "r", "t", -1, 1)


@pytest.fixture
def executor(make_settings: Callable[..., Settings], tmp_path: Path) -> CeleryExecutor:
    settings = make_settings(tmp_path, celery={"heartbeat_timeout": 10.0, "queued_timeout": 100.0})
    found = CeleryExecutor(settings)
    found._broadcast_cancel = lambda task_id: None  # type: ignore[method-assign]
    return found


def follow(executor: CeleryExecutor, flight: InFlight, seen: Seen | None, tick: float) -> bool:
    return executor._follow(flight, seen, tick, [])


def test_a_claimed_try_whose_worker_goes_silent_is_lost_not_left_waiting(
    executor: CeleryExecutor,
) -> None:
    flight = InFlight(KEY, "id", "default", None, first_sent=0.0, last_sent=0.0)
    claimed = Seen("CLAIMED", {"heartbeat": "t1"})
    assert not follow(executor, flight, claimed, 1.0)
    assert not executor._ready  # claimed is not running yet: no event
    assert not follow(executor, flight, claimed, 10.5)  # the same heartbeat, not too old yet
    assert follow(executor, flight, claimed, 11.5)  # silent for more than 10 s
    [lost] = executor._ready
    assert (lost.kind, lost.state) == (Kind.FINISHED, TaskState.FAILED)
    assert lost.report.cause is Cause.NO_HEARTBEAT  # lost, found by its silence


def test_a_claimed_try_that_heartbeats_is_kept_past_the_queued_timeout(
    executor: CeleryExecutor,
) -> None:
    flight = InFlight(KEY, "id", "default", None, first_sent=0.0, last_sent=0.0)
    for tick in range(1, 300, 5):
        assert not follow(executor, flight, Seen("CLAIMED", {"heartbeat": str(tick)}), tick)
    running = Seen("RUNNING", {"message": {"pid": 7, "hostname": "h"}, "heartbeat": "x"})
    assert not follow(executor, flight, running, 301.0)
    [event] = executor._ready
    assert (event.kind, event.pid, event.hostname) == (Kind.RUNNING, 7, "h")

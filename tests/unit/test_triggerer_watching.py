"""The triggerer's side of asset watchers, without a metastore: the runner hands over every
event of a watcher and then its end (a deferred task's trigger still ends at its first event),
and a watcher that fails starts again only after a delay that doubles while it keeps failing."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tradewind.triggerer.runner import Outcome, TriggerRunner
from tradewind.triggerer.watching import RETRY_DELAY, Watchers
from tradewind.triggers.base import BaseEventTrigger, TriggerEvent


class Burst(BaseEventTrigger):
    """Yields ``count`` events, then returns (or raises, with ``fail``)."""

    def __init__(self, count: int, fail: bool = False) -> None:
        super().__init__()
        self.count, self.fail = count, fail

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.Burst", {"count": self.count, "fail": self.fail})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        for n in range(self.count):
            yield TriggerEvent({"n": n})
        if self.fail:
            raise RuntimeError("the queue went away")


@pytest.fixture(name="runner")
def runner_fixture(tmp_path: Path) -> Iterator[tuple[TriggerRunner, threading.Event]]:
    woken = threading.Event()
    runner = TriggerRunner(base_log_folder=tmp_path, on_outcome=woken.set, blocked_threshold=5.0)
    runner.start()
    yield runner, woken
    runner.stop()


def _outcomes(runner: TriggerRunner, woken: threading.Event, until: int) -> list[Outcome]:
    """The outcomes taken until one of trigger ``until`` is final."""
    taken: list[Outcome] = []
    while not any(o.trigger_id == until and o.final for o in taken):
        assert woken.wait(10), f"no outcome of trigger {until}"
        woken.clear()
        taken.extend(runner.outcomes())
    return taken


def test_a_watcher_hands_over_every_event_then_its_end(runner: Any) -> None:
    trigger_runner, woken = runner
    trigger_runner.add(1, Burst(3), [], every_event=True)
    taken = _outcomes(trigger_runner, woken, until=1)
    assert [(o.event.payload if o.event else None, o.error, o.final) for o in taken] == [
        ({"n": 0}, None, False),
        ({"n": 1}, None, False),
        ({"n": 2}, None, False),
        (None, None, True),
    ]
    assert 1 not in trigger_runner.running


def test_a_task_trigger_still_ends_at_its_first_event(runner: Any) -> None:
    trigger_runner, woken = runner
    trigger_runner.add(2, Burst(3), [])
    taken = _outcomes(trigger_runner, woken, until=2)
    assert [(o.event.payload if o.event else None, o.final) for o in taken] == [({"n": 0}, True)]


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        (Burst(1, fail=True), "RuntimeError: the queue went away"),
        (Burst(0), "ended without yielding an event"),
    ],
)
def test_a_watcher_that_fails_ends_with_the_error(runner: Any, trigger: Burst, says: str) -> None:
    trigger_runner, woken = runner
    trigger_runner.add(3, trigger, [], every_event=True)
    final = _outcomes(trigger_runner, woken, until=3)[-1]
    assert final.final
    assert final.event is None
    assert says in (final.error or "")


def test_watchers_keep_their_events_and_restart_a_failed_one_after_a_delay() -> None:
    now = [100.0]
    watchers = Watchers(clock=lambda: now[0])
    watchers.started(7)
    assert not watchers.take(Outcome(8, event=TriggerEvent(1)))  # a deferred task's trigger
    assert watchers.take(Outcome(7, event=TriggerEvent(1), final=False))
    assert watchers.pending
    assert watchers.take(Outcome(7, error="boom"))
    assert 7 not in watchers.running
    first, _cap = RETRY_DELAY
    assert watchers.startable({7, 9}) == {9}
    now[0] += first
    assert watchers.startable({7, 9}) == {7, 9}
    # Failing again doubles the delay.
    watchers.started(7)
    watchers.take(Outcome(7, error="boom again"))
    now[0] += first
    assert watchers.startable({7}) == set()
    now[0] += first
    assert watchers.startable({7}) == {7}
    # A watcher that ended after its events starts again at once.
    watchers.started(7)
    watchers.take(Outcome(7, event=TriggerEvent(2), final=False))
    watchers.take(Outcome(7))
    assert watchers.startable({7}) == {7}
    watchers.written()
    assert not watchers.pending

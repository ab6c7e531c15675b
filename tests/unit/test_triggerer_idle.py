"""A triggerer with no trigger to run sleeps: its loop's ticker and its watchdog wait for the
first trigger instead of waking ten times a second, and a trigger that blocks the loop after
such a rest is still named (and the rest itself is not mistaken for a block)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from threadwakes import voluntary_switches

from tradewind.triggerer.runner import TriggerRunner
from tradewind.triggers.base import BaseTrigger, TriggerEvent


class Blocking(BaseTrigger):
    """Blocks the event loop for ``seconds`` (what a trigger must not do), then fires."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.Blocking", {"seconds": self.seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        time.sleep(self.seconds)
        yield TriggerEvent("done")


def test_an_idle_runner_sleeps_and_still_names_a_trigger_that_blocks_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    woken = threading.Event()
    runner = TriggerRunner(base_log_folder=tmp_path, on_outcome=woken.set, blocked_threshold=0.2)
    caplog.set_level(logging.WARNING, logger="tradewind.triggerer.runner")
    runner.start()
    try:
        time.sleep(1.0)  # idle, longer than the threshold: no block may be reported for it
        assert not [r for r in caplog.records if "blocked" in r.getMessage()]
        runner.add(1, Blocking(0.8), [])
        assert woken.wait(10)
        assert [o.event.payload for o in runner.outcomes() if o.event] == ["done"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _said(caplog, "was blocked for"):
            time.sleep(0.05)
        assert _said(caplog, "has blocked the triggerer's event loop")
        assert _said(caplog, "was blocked for")
        assert "Blocking" in caplog.text
    finally:
        runner.stop()


def _said(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def test_an_idle_runner_wakes_for_nothing(tmp_path: Path) -> None:
    """Neither the loop's thread nor the watchdog runs while no trigger does: over a second of
    rest they wake a couple of times at most, not ten times each."""
    runner = TriggerRunner(base_log_folder=tmp_path, on_outcome=lambda: None, blocked_threshold=0.2)
    runner.start()
    try:
        time.sleep(0.3)  # both threads have gone to sleep
        wakes = voluntary_switches(runner._thread, runner._watchdog)
        time.sleep(1.0)
        assert voluntary_switches(runner._thread, runner._watchdog) - wakes <= 2
    finally:
        runner.stop()

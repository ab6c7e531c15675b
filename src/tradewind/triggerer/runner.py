"""Triggers running in one asyncio loop, in a thread of its own.

The triggerer's main loop (a plain thread: :mod:`.job`) hands built triggers to
:meth:`TriggerRunner.add` and withdraws them with :meth:`TriggerRunner.cancel`; each runs as an
asyncio task until its first event. What a trigger ends with (:class:`Outcome`: its event, or
the error it raised, or that it ended without an event) waits in :meth:`TriggerRunner.outcomes`
for the main loop, which is woken at once (``on_outcome``). A watcher of an asset
(``every_event``) runs until its ``run()`` ends instead: each event is an outcome that is not
final, and the end is the final one. Nothing a trigger does ends the loop: its exceptions
become outcomes, its ``cleanup()`` errors are logged.

A trigger that blocks the loop (``time.sleep``, blocking I/O) delays every other trigger. A
ticker task notes the time every :attr:`TriggerRunner.tick` seconds; the watchdog thread
notices when it falls behind by more than ``blocked_threshold`` and logs which trigger's task
holds the loop (``asyncio.current_task`` of the loop), in the triggerer's log and its task's.
While no trigger runs, both sleep until one is added: an idle triggerer wakes for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewind.triggerer import logs
from tradewind.triggers.base import BaseTrigger, TriggerEvent
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)

# How long stop() waits for the cancelled triggers' cleanup() before it leaves them.
STOP_GRACE = 5.0


@dataclass(frozen=True)
class Outcome:
    """How a trigger ended: with ``event``, or with ``error`` (text for the task's failure).
    For a watcher, an event that is not ``final`` (it keeps running), or its end (final; with
    neither event nor error when its ``run()`` returned after yielding events)."""

    trigger_id: int
    event: TriggerEvent | None = None
    error: str | None = None
    final: bool = True


@dataclass
class _Running:
    trigger_id: int
    trigger: BaseTrigger
    name: str  # its repr, made once (repr calls the trigger's serialize())
    sink: logs.Sink
    every_event: bool = False


def describe(trigger: BaseTrigger) -> str:
    """The trigger's repr, or its class if that fails (a repr is user code)."""
    try:
        return repr(trigger)
    except Exception:
        return f"<{type(trigger).__module__}.{type(trigger).__qualname__}>"


def classpath_of(trigger: BaseTrigger) -> str:
    return f"{type(trigger).__module__}.{type(trigger).__qualname__}"


class TriggerRunner:
    """The asyncio loop thread and its watchdog (see the module docstring)."""

    def __init__(
        self,
        *,
        base_log_folder: Path,
        on_outcome: Callable[[], None],
        blocked_threshold: float,
        job_id: int | None = None,
    ) -> None:
        self.base_log_folder = Path(base_log_folder)
        self.on_outcome = on_outcome
        self.blocked_threshold = blocked_threshold
        self.tick = min(0.1, blocked_threshold / 2)
        self.job_id = job_id
        self.host = socket.gethostname()
        self.handler = logs.install()
        # Main thread's view: the triggers it handed over that have not ended nor been withdrawn.
        self.running: set[int] = set()
        self._outcomes: deque[Outcome] = deque()
        self._loop = asyncio.new_event_loop()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._by_task: dict[asyncio.Task[Any], _Running] = {}
        self._ticked = time.monotonic()
        self._ticking: asyncio.Task[None] | None = None
        # Set when a trigger is added (the watchdog's) or started (the ticker's): they wait on
        # these while no trigger runs.
        self._added = threading.Event()
        self._started = asyncio.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="triggers", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="trigger-watchdog", daemon=True)

    # ---- main thread -------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._watchdog.start()

    def add(
        self,
        trigger_id: int,
        trigger: BaseTrigger,
        waiting: Sequence[TaskKey],
        *,
        every_event: bool = False,
    ) -> None:
        """Run ``trigger`` until its first event (``every_event``: until its ``run()`` ends);
        its log lines go to the logs of ``waiting``."""
        trigger.trigger_id = trigger_id
        sink = logs.Sink(self.base_log_folder, waiting)
        entry = _Running(trigger_id, trigger, describe(trigger), sink, every_event)
        self.running.add(trigger_id)
        self._added.set()
        self._loop.call_soon_threadsafe(self._start, entry)

    def cancel(self, trigger_id: int) -> None:
        """Stop running this trigger (its cleanup() is called); any outcome of it is dropped."""
        self.running.discard(trigger_id)
        self._loop.call_soon_threadsafe(self._cancel, trigger_id)

    def outcomes(self) -> list[Outcome]:
        """The outcomes since the last call, of triggers not withdrawn meanwhile."""
        taken: list[Outcome] = []
        while self._outcomes:
            outcome = self._outcomes.popleft()
            if outcome.trigger_id in self.running:
                if outcome.final:
                    self.running.discard(outcome.trigger_id)
                taken.append(outcome)
        return taken

    def stop(self) -> None:
        """Cancel every trigger (each one's cleanup() runs), then end the loop thread."""
        self.running.clear()
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._cancel_all(), self._loop)
        try:
            future.result(timeout=STOP_GRACE)
        except Exception:
            log.warning("triggers did not finish their cleanup within %g s", STOP_GRACE)
        self._stopping.set()
        self._added.set()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_GRACE)

    # ---- loop thread ----------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._ticking = self._loop.create_task(self._ticker())
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _ticker(self) -> None:
        while True:
            self._ticked = time.monotonic()
            if self._tasks:
                await asyncio.sleep(self.tick)
            else:
                self._started.clear()
                await self._started.wait()

    def _start(self, entry: _Running) -> None:
        if entry.trigger_id in self._tasks:
            return
        task = self._loop.create_task(self._run(entry), name=f"trigger {entry.trigger_id}")
        self._tasks[entry.trigger_id] = task
        self._by_task[task] = entry
        self._started.set()

    def _cancel(self, trigger_id: int) -> None:
        task = self._tasks.get(trigger_id)
        if task is not None:
            task.cancel()

    async def _cancel_all(self) -> None:
        # The ticker too: a task left pending when the loop closes is logged as an error.
        tasks = [*self._tasks.values(), *([self._ticking] if self._ticking else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, entry: _Running) -> None:
        logs.current.set(entry.sink)  # this task's context only
        where = f"triggerer {self.host}" + (f" (job {self.job_id})" if self.job_id else "")
        log.info("trigger %s started on %s", entry.name, where)
        try:
            outcome = await self._events(entry)
            if outcome.error is not None:
                log.error("trigger %s failed: %s", entry.name, outcome.error)
            elif outcome.event is None:
                log.info("trigger %s ended; it runs again", entry.name)
            self._post(entry, outcome)
        except asyncio.CancelledError:
            log.info("trigger %s cancelled: nothing needs it here any more", entry.name)
        finally:
            await self._cleanup(entry)
            task = self._tasks.pop(entry.trigger_id, None)
            if task is not None:
                self._by_task.pop(task, None)

    def _post(self, entry: _Running, outcome: Outcome) -> None:
        if outcome.event is not None:
            log.info("trigger %s fired: %r", entry.name, outcome.event)
        self._outcomes.append(outcome)
        self.on_outcome()

    async def _events(self, entry: _Running) -> Outcome:
        """The first event (``every_event``: each event is posted as it comes, and the end of
        ``run()`` is the outcome), or the error."""
        what = classpath_of(entry.trigger)
        fired = False
        events: Any = None  # user code: may yield anything, or not be a generator
        try:
            events = entry.trigger.run()
            async for event in events:
                if not isinstance(event, TriggerEvent):
                    return Outcome(
                        entry.trigger_id,
                        error=f"{what}: run() yielded {type(event).__name__} {event!r}, "
                        "not a TriggerEvent",
                    )
                if not entry.every_event:
                    return Outcome(entry.trigger_id, event=event)
                fired = True
                self._post(entry, Outcome(entry.trigger_id, event=event, final=False))
            if fired:
                return Outcome(entry.trigger_id)
            return Outcome(
                entry.trigger_id, error=f"{what}: its run() ended without yielding an event"
            )
        except (Exception, SystemExit) as error:
            log.exception("trigger %s raised", entry.name)
            return Outcome(entry.trigger_id, error=f"{what}: {type(error).__name__}: {error}")
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                try:
                    await close()
                except (Exception, SystemExit):
                    log.exception("trigger %s failed to close its run()", entry.name)

    async def _cleanup(self, entry: _Running) -> None:
        try:
            await entry.trigger.cleanup()
        except asyncio.CancelledError:
            pass
        except (Exception, SystemExit):
            log.exception("cleanup() of trigger %s raised", entry.name)

    # ---- watchdog thread --------------------------------------------------------------

    def _watch(self) -> None:
        blocked_by: _Running | None = None
        blocked = False
        since = 0.0
        while not self._stopping.wait(self.tick):
            if not blocked and self._idle():
                self._added.clear()
                if self._idle():
                    self._added.wait()
                # The ticker slept too: time is counted from now, not from its last tick.
                self._ticked = time.monotonic()
                continue
            lag = time.monotonic() - self._ticked - self.tick
            if lag > self.blocked_threshold and not blocked:
                blocked, since = True, self._ticked + self.tick
                blocked_by = self._holder()
                self._say_blocked(blocked_by, lag)
            elif lag <= self.blocked_threshold and blocked:
                blocked = False
                took = self._ticked - since
                name = blocked_by.name if blocked_by else "code outside any trigger's run()"
                log.warning("the triggerer's event loop was blocked for %.2f s by %s", took, name)

    def _idle(self) -> bool:
        """No trigger handed over and none running in the loop."""
        return not self.running and not self._tasks

    def _holder(self) -> _Running | None:
        try:
            task = asyncio.current_task(self._loop)
        except RuntimeError:
            return None
        return self._by_task.get(task) if task is not None else None

    def _say_blocked(self, entry: _Running | None, lag: float) -> None:
        if entry is None:
            log.warning(
                "the triggerer's event loop has been blocked for %.2f s, outside any trigger's "
                "run(); every trigger waits meanwhile",
                lag,
            )
            return
        message = (
            f"trigger {entry.name} (trigger id {entry.trigger_id}) has blocked the triggerer's "
            f"event loop for {lag:.2f} s: a trigger must await (asyncio.sleep, async I/O), "
            "never block (time.sleep, blocking I/O); every other trigger waits meanwhile"
        )
        log.warning("%s", message)
        self.handler.write_to(entry.sink, logging.WARNING, message)

"""Airflow's metric names, one method per thing that happened (docs/metrics.md lists them).

Each method takes plain values and returns at once when no backend is on, so an emission point
costs one attribute test when metrics are off.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from tradewind.telemetry.stats import Stats


class Metrics:
    """What the scheduler, the DAG processor and the triggerer report, on ``stats``."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.on = stats.on

    def batch(self) -> AbstractContextManager[object]:
        """Send what is emitted within it together (see :meth:`Stats.batch`)."""
        return self.stats.batch()

    def start(self) -> None:
        self.stats.start()

    def close(self) -> None:
        self.stats.close()

    # ---- scheduler ---------------------------------------------------------------------------

    def scheduler_heartbeat(self) -> None:
        if self.on:
            self.stats.incr("scheduler.heartbeat", legacy="scheduler_heartbeat")

    def scheduler_loop(self, seconds: float, *, executable: int, starving: int) -> None:
        """One pass of the scheduler: how long it took, how many tries it queued, how many
        could not be queued for want of pool slots."""
        if self.on:
            self.stats.timing("scheduler.scheduler_loop_duration", seconds)
            self.stats.gauge("scheduler.tasks.executable", executable)
            self.stats.gauge("scheduler.tasks.starving", starving)

    def executor_slots(self, executor: str, *, open_slots: int, queued: int, running: int) -> None:
        if self.on:
            tags = {"executor": executor}
            self.stats.gauge("executor.open_slots", open_slots, tags=tags)
            self.stats.gauge("executor.queued_tasks", queued, tags=tags)
            self.stats.gauge("executor.running_tasks", running, tags=tags)

    def pool_slots(self, pool: str, **slots: int) -> None:
        """``slots``: open, queued, running, deferred (each a count of slots)."""
        if self.on:
            tags = {"pool_name": pool}
            for use, count in slots.items():
                name = f"pool.{use}_slots"
                self.stats.gauge(name, count, tags=tags, legacy=f"{name}.{pool}")

    def ti_started(self, dag_id: str, task_id: str) -> None:
        if self.on:
            tags = {"dag_id": dag_id, "task_id": task_id}
            self.stats.incr("ti.start", tags=tags, legacy=f"ti.start.{dag_id}.{task_id}")

    def ti_finished(
        self,
        dag_id: str,
        task_id: str,
        state: str,
        seconds: float | None,
        operator: str | None = None,
    ) -> None:
        """A try of an ``operator`` (its class name, None: unknown) ended in ``state`` after
        ``seconds`` of running (None: it never ran)."""
        if not self.on:
            return
        tags = {"dag_id": dag_id, "task_id": task_id}
        legacy = f"ti.finish.{dag_id}.{task_id}.{state}"
        self.stats.incr("ti.finish", tags={**tags, "state": state}, legacy=legacy)
        if state in ("success", "failed"):
            kind = "successes" if state == "success" else "failures"
            self.stats.incr(f"ti_{kind}", tags=tags)
            if operator:
                name = f"operator_{kind}"
                legacy = f"{name}_{operator}"
                self.stats.incr(name, tags={**tags, "operator": operator}, legacy=legacy)
        if seconds is not None:
            legacy = f"dag.{dag_id}.{task_id}.duration"
            self.stats.timing("task.duration", seconds, tags=tags, legacy=legacy)

    def ti_killed_externally(self, dag_id: str, task_id: str, *, no_heartbeat: bool) -> None:
        """A try ended without a word of its own (its executor said how: its process died, it
        was stopped at its timeout, ...); ``no_heartbeat``: its worker went silent."""
        if self.on:
            tags = {"dag_id": dag_id, "task_id": task_id}
            self.stats.incr("scheduler.tasks.killed_externally", tags=tags)
            if no_heartbeat:
                name = "task_instances_without_heartbeats_killed"
                self.stats.incr(name, tags=tags, legacy="zombies_killed")

    def orphaned_tasks(self, *, cleared: int, adopted: int) -> None:
        """The tries of schedulers that are gone: cleared (back to scheduled), adopted."""
        if self.on:
            if cleared:
                self.stats.incr("scheduler.orphaned_tasks.cleared", cleared)
            if adopted:
                self.stats.incr("scheduler.orphaned_tasks.adopted", adopted)

    def dagrun_finished(self, dag_id: str, state: str, seconds: float) -> None:
        if self.on:
            name = f"dagrun.duration.{state}"
            self.stats.timing(name, seconds, tags={"dag_id": dag_id}, legacy=f"{name}.{dag_id}")

    def dagrun_started(self, dag_id: str, delay: float) -> None:
        """A scheduled run started ``delay`` seconds after the end of its data interval."""
        if self.on:
            name = "dagrun.schedule_delay"
            self.stats.timing(name, delay, tags={"dag_id": dag_id}, legacy=f"{name}.{dag_id}")

    # ---- DAG processor -----------------------------------------------------------------------

    def file_parsed(self, file_name: str, seconds: float, *, timed_out: bool) -> None:
        if self.on:
            name = "dag_processing.last_duration"
            tags = {"file_name": file_name}
            self.stats.timing(name, seconds, tags=tags, legacy=f"{name}.{file_name}")
            if timed_out:
                self.stats.incr("dag_file_processor_timeouts")

    def dags_parsed(self, seconds: float, *, dags: int, import_errors: int) -> None:
        """One pass over the DAG files: its time, the DAGs and import errors there are now."""
        if self.on:
            self.stats.gauge("dag_processing.total_parse_time", seconds)
            self.stats.gauge("dagbag_size", dags)
            self.stats.gauge("dag_processing.import_errors", import_errors)

    # ---- triggerer ---------------------------------------------------------------------------

    def triggerer_heartbeat(self, hostname: str, *, running: int, capacity: int) -> None:
        if self.on:
            tags = {"hostname": hostname}
            self.stats.incr("triggerer.heartbeat", legacy="triggerer_heartbeat")
            self.stats.gauge(
                "triggers.running", running, tags=tags, legacy=f"triggers.running.{hostname}"
            )
            left = capacity - running
            legacy = f"triggerer.capacity_left.{hostname}"
            self.stats.gauge("triggerer.capacity_left", left, tags=tags, legacy=legacy)

    def trigger_ended(self, *, failed: bool) -> None:
        if self.on:
            self.stats.incr("triggers.failed" if failed else "triggers.succeeded")

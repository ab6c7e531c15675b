"""A run that meets a metastore outage, for the fault tests of the scheduler and the workers.

:data:`OUTAGE_DAG`: three tries end while the database is down, one runs across the whole
outage, three more start only after it is back. :class:`Outage` drives a run of it through a
restart of a throwaway server, and tells whether each try ran once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduling import FINISHED_RUN, System, poll, read_journal, system_sections
from throwaway import Throwaway

from tradewind.settings import Settings
from tradewind.states import TaskState

OUTAGE_DAG = """
JOURNAL = {journal!r}


def ends_in_outage(ti=None):
    work(JOURNAL, gate={during!r}, ti=ti)


def spans_outage(ti=None):
    work(JOURNAL, gate={after!r}, ti=ti)


def plain(ti=None):
    work(JOURNAL, ti=ti)


with DAG("outage", schedule=None, max_active_tasks=16):
    ends = [
        PythonOperator(task_id=f"ends_{{i}}", python_callable=ends_in_outage) for i in range(3)
    ]
    spans = PythonOperator(task_id="spans", python_callable=spans_outage)
    join = EmptyOperator(task_id="join")
    ends >> join
    spans >> join
    join >> [PythonOperator(task_id=f"after_{{i}}", python_callable=plain) for i in range(3)]
"""
ENDS = ("ends_0", "ends_1", "ends_2")
FIRST = (*ENDS, "spans")
AFTER = ("after_0", "after_1", "after_2")
TASKS = (*FIRST, "join", *AFTER)
# Longer than the scheduler's job_timeout in outage_settings: its heartbeat goes stale.
DOWN_FOR = 3.0


def outage_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str, **sections: dict[str, Any]
) -> Settings:
    """Settings of a system on ``url`` (``sections`` merged over the base ones)."""
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    merged = system_sections(
        core={"dags_folder": str(dags), "parallelism": 8},
        scheduler={"job_timeout": 2.0, "heartbeat_interval": 0.5},
    )
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return make_settings(tmp_path, url, **merged)


def lines_with(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if text in line]


def tries_of(journal: Path, task_id: str) -> list[tuple[int, bool]]:
    """(try number, ended) of each try of ``task_id`` that started."""
    entries = read_journal(journal)
    return [(e.try_number, e.end is not None) for e in entries if e.task_id == task_id]


@dataclass
class OutageRun:
    """A run of :data:`OUTAGE_DAG` on ``system``, its journal and its gates in ``folder``."""

    system: System
    folder: Path
    run_id: str = ""

    @property
    def journal(self) -> Path:
        return self.folder / "journal"

    def add_dag(self, *, gated: bool = True) -> None:
        during, after = (self.folder / "during", self.folder / "after") if gated else ("", "")
        body = OUTAGE_DAG.format(journal=str(self.journal), during=str(during), after=str(after))
        self.system.add_dag("outage", body)

    def trigger(self) -> str:
        self.run_id = self.system.trigger("outage")
        return self.run_id

    def first_tries_run(self) -> bool:
        states = {self.system.state("outage", self.run_id, t) for t in FIRST}
        return states == {TaskState.RUNNING} and all(tries_of(self.journal, t) for t in FIRST)

    def end_during(self) -> None:
        """Let three of the first tries end; wait until they did."""
        (self.folder / "during").touch()
        assert poll(lambda: all(tries_of(self.journal, t) == [(1, True)] for t in ENDS))

    def finished(self) -> bool:
        return self.system.run_state("outage", self.run_id) in FINISHED_RUN

    def restart(
        self,
        db: Throwaway,
        log: Path,
        lost: str,
        *,
        crash: bool,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> None:
        """With the first tries running: stop the database, let three tries end, wait until
        ``lost`` is logged, do ``meanwhile``, wait some more, start the database again, let the
        last first try end."""
        self.through(lambda: db.stop(crash=crash), db.start, log, lost, meanwhile=meanwhile)

    def through(
        self,
        begin: Callable[[], None],
        end: Callable[[], None],
        log: Path,
        lost: str,
        *,
        lasting: float = DOWN_FOR,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> None:
        """With the first tries running: ``begin`` an outage, let three tries end, wait until
        ``lost`` is logged, do ``meanwhile``; ``end`` the outage once it lasted ``lasting``
        seconds (and ``DOWN_FOR`` after ``lost`` at least; at once if anything failed), let
        the last first try end."""
        assert poll(self.first_tries_run), log.read_text()
        began = time.monotonic()
        begin()
        try:
            self.end_during()
            assert poll(lambda: bool(lines_with(log, lost))), log.read_text()
            meanwhile()
            time.sleep(max(DOWN_FOR, lasting - (time.monotonic() - began)))  # the outage itself
        finally:
            end()
        (self.folder / "after").touch()

    def assert_each_try_once(self) -> None:
        """The run succeeded; every task ran once, as try 1; nothing is queued or running."""
        system, run_id = self.system, self.run_id
        assert system.run_state("outage", run_id) == "success"
        assert system.states("outage", run_id) == dict.fromkeys(TASKS, TaskState.SUCCESS)
        for task_id in TASKS:
            assert system.instance("outage", run_id, task_id).try_number == 1
            history = system.history("outage", run_id, task_id)
            assert [(h.try_number, h.state) for h in history] == [(1, "success")], task_id
        for task_id in (*FIRST, *AFTER):
            assert tries_of(self.journal, task_id) == [(1, True)], task_id

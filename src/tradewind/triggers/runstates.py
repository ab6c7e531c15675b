"""Where triggers read the states of other DAGs' runs and tasks from.

Triggers sit below the metastore (they never import it), yet :class:`WorkflowTrigger` and
:class:`DagStateTrigger` (:mod:`tradewind.triggers.external_task`) must know how other runs
are doing. The triggerer process, which has the metastore, installs a :class:`RunStates` at
start-up with :func:`install`; the triggers ask :func:`current` for it and call it in a worker
thread (each call is a short blocking read).

Anywhere else (a task's own process, ``tasks test``) nothing is installed unless the caller
does it, and the default answers every question with :class:`RunStatesUnavailable`, which
says so. ``tasks test`` installs one when the metastore is usable.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from tradewind.exceptions import TradewindError


class RunStatesUnavailable(TradewindError):
    """A trigger asked for run states in a process that has no metastore lookup."""


class RunStates(Protocol):
    """What the external-task triggers ask (``tradewind.runtime.crossdag.CrossDag`` is one)."""

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        """The DAG's task ids, each with its task group's id (None: no such DAG)."""

    def run_states(self, dag_id: str, logical_dates: Collection[datetime]) -> list[str]:
        """The states of the DAG's runs at these logical dates (missing runs left out)."""

    def task_states(
        self, dag_id: str, logical_dates: Collection[datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        """The states of these tasks in the DAG's runs at these logical dates."""

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """The state of one run (None: no such run)."""


class _Unavailable:
    """The default: every question fails, saying where the answer would come from."""

    def _fail(self) -> RunStatesUnavailable:
        return RunStatesUnavailable(
            "this trigger reads other DAG runs' states, which only the triggerer process "
            "(`tradewind triggerer`) can look up: no lookup is installed in this process "
            "(see tradewind.triggers.runstates.install)"
        )

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        raise self._fail()

    def run_states(self, dag_id: str, logical_dates: Collection[datetime]) -> list[str]:
        raise self._fail()

    def task_states(
        self, dag_id: str, logical_dates: Collection[datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        raise self._fail()

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        raise self._fail()


_UNAVAILABLE = _Unavailable()
_installed: list[RunStates] = []


def install(lookup: RunStates | None) -> None:
    """Make ``lookup`` answer the triggers of this process (None: back to the default)."""
    _installed.clear()
    if lookup is not None:
        _installed.append(lookup)


def current() -> RunStates:
    """The installed lookup, or the default that raises RunStatesUnavailable."""
    return _installed[0] if _installed else _UNAVAILABLE


@contextmanager
def installed(lookup: RunStates) -> Iterator[None]:
    """Install ``lookup`` for the block, then put back what was there."""
    before = list(_installed)
    install(lookup)
    try:
        yield
    finally:
        _installed[:] = before

"""LatestOnlyOperator: run the downstream tasks only in the latest scheduled run."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from tradewind.operators.branch import BaseBranchOperator
from tradewind.states import DagRunType
from tradewind.timetables import DataInterval, TimeRestriction

log = logging.getLogger(__name__)


class LatestOnlyOperator(BaseBranchOperator):
    """Skips its direct downstream tasks unless this run is the latest scheduled one.

    A run is the latest when the current time lies after the end of its data interval and at
    or before the end of the next interval the DAG's schedule would give (so a catch-up or
    backfill run of an older interval skips, and the run of the interval that just ended does
    not). Manually triggered runs never skip, and neither do runs of schedules without a next
    interval (``@once``, ``None``). Tasks further downstream skip by their trigger rules.
    """

    ui_color = "#e9ffdb"

    def choose_branch(self, context: Mapping[str, Any]) -> list[str]:
        everything = sorted(self.downstream_task_ids)
        run = context["dag_run"]
        if run.run_type == DagRunType.MANUAL or getattr(run, "external_trigger", False):
            log.info("Manually triggered run: the downstream tasks run")
            return everything
        window = self._window(run)
        if window is None:
            log.info("The schedule has no run after this one: the downstream tasks run")
            return everything
        now = dt.datetime.now(dt.UTC)
        left, right = window
        log.info("Latest-only window: (%s, %s]; now %s", left, right, now)
        if left < now <= right:
            log.info("This is the latest run: the downstream tasks run")
            return everything
        log.info("Not the latest run: skipping the downstream tasks")
        return []

    def _window(self, run: Any) -> tuple[dt.datetime, dt.datetime] | None:
        """From the end of this run's data interval to the end of the next one, or None."""
        start = run.data_interval_start or run.logical_date
        end = run.data_interval_end or run.logical_date
        current = DataInterval(start, end)
        following = self._require_dag().timetable.next_dagrun_info(
            last_automated_data_interval=current,
            restriction=TimeRestriction(earliest=current.end, latest=None, catchup=True),
            now=dt.datetime.now(dt.UTC),
        )
        if following is None:
            return None
        return current.end, following.data_interval.end
